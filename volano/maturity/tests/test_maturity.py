"""The digital-maturity self-assessment as the owner meets it: the questionnaire, the levels and
their reasoning, the next steps that follow what the workspace already uses, the history, and
answers the API refuses in words."""

from __future__ import annotations

import re

import pytest

from volano.maturity import questionnaire
from volano.maturity.models import Assessment
from volano.segments.models import Segment, SegmentKind

# a level-2 company (seed 000): blog now and then, regular social posts without a plan, occasional
# ads, the same email to everybody; management knows the basics, someone does it part time
LEVEL_2 = {
    "website": "blog_sometimes",
    "social": "regular",
    "advertising": "occasional",
    "email": "broadcast",
    "customers": "on_request",
    "data": "list",
    "competence": "basic",
    "people": "part_time",
    "budget": "small",
}


def test_the_levels_are_the_arithmetic_the_page_explains():
    placing = questionnaire.place(questionnaire.answers_clean(LEVEL_2))
    assert (placing.practice_level, placing.factors_level, placing.overall) == (2, 2, 2)

    # what it does is level 3 (four practices at 3, two at 2: the lower median is 3) but two of
    # the three factors are at 2: the overall level is held at 2 by competence, people, budget
    ahead = {**LEVEL_2, "website": "blog_plan", "social": "planned", "email": "content_flow"}
    ahead["advertising"] = "campaigns"
    placing = questionnaire.place(questionnaire.answers_clean(ahead))
    assert (placing.practice_level, placing.factors_level, placing.overall) == (3, 2, 2)
    why = " ".join(questionnaire.reasoning(placing))
    assert "4 of your 6 practices" in why and "until the weakest factors catch up" in why
    assert "customers you already have" in why  # named as what holds it back

    # one strong factor is not enough: the middle of (4, 1, 3) is 3
    strong = {**ahead, "competence": "strategic", "people": "nobody", "budget": "several_channels"}
    placing = questionnaire.place(questionnaire.answers_clean(strong))
    assert placing.factor_levels == {"competence": 4, "people": 1, "budget": 3}
    assert (placing.factors_level, placing.overall) == (3, 3)


def test_every_question_left_out_or_answered_wrongly_is_named():
    answers = {**LEVEL_2, "budget": "a lot", "mood": "happy"}
    del answers["people"]
    with pytest.raises(questionnaire.AnswersInvalid) as refused:
        questionnaire.answers_clean(answers)
    assert set(refused.value.by_question) == {"budget", "people", "mood"}
    assert "“a lot” is not one of the answers" in refused.value.by_question["budget"]


def test_taking_it_on_the_page_places_the_company_and_links_the_next_steps(
    client, giulia, officina
):
    client.force_login(giulia)
    assert client.get("/maturity/").url == "/maturity/take/"  # nothing taken yet: the form
    form = client.get("/maturity/take/").content.decode()
    assert form.count('type="radio"') == sum(len(q.options) for q in questionnaire.QUESTIONS)

    # one question left out: the form comes back with the others kept and that one named
    partial = {k: v for k, v in LEVEL_2.items() if k != "data"}
    response = client.post("/maturity/take/", partial)
    text = response.content.decode()
    assert response.status_code == 200 and 'id="data-error"' in text
    assert re.search(r'value="broadcast"[^>]*checked', text)  # the answers given are kept
    assert not Assessment.objects.for_workspace(officina).exists()

    response = client.post("/maturity/take/", LEVEL_2)
    assert response.status_code == 302
    kept = Assessment.objects.for_workspace(officina).get()
    assert (kept.overall, kept.taken_by) == (2, giulia)

    page = client.get("/maturity/").content.decode()
    assert 'data-level="2"' in page and "Actions without a strategic plan" in page
    now = page.split('data-testid="maturity-next"')[1].split("After that")[0]
    # level 2 → the level-3 steps, in order, each a link to its page
    order = [now.index(f'data-step="{key}"') for key in ("lead_form", "segments", "nurturing")]
    assert order == sorted(order)
    assert 'href="/tracking/forms/"' in now and 'href="/segments/"' in now

    # once the workspace segments, that step moves to "already in use"
    Segment.objects.create(workspace=officina, name="Clienti lombardi", kind=SegmentKind.SEGMENT)
    page = client.get("/maturity/").content.decode()
    now = page.split('data-testid="maturity-next"')[1].split("After that")[0]
    assert 'data-step="segments"' not in now
    assert 'data-step="segments"' in page.split("already in use")[1]


def test_retaking_it_shows_the_progress(client, giulia, officina):
    client.force_login(giulia)
    client.post("/maturity/take/", LEVEL_2)
    better = {**LEVEL_2, "website": "blog_plan", "social": "planned", "email": "content_flow"}
    better.update(advertising="campaigns", people="trained", budget="several_channels")
    client.post("/maturity/take/", better)
    page = client.get("/maturity/").content.decode()
    assert 'data-level="3"' in page
    history = page.split('data-testid="maturity-history"')[1].split("</table>")[0]
    assert history.count("<tr>") == 3  # the head and two takings
    assert 'id="maturity-progress"' in page
    # the form starts from the latest answers
    form = client.get("/maturity/take/").content.decode()
    assert re.search(r'value="blog_plan"[^>]*checked', form)
    assert not re.search(r'value="blog_sometimes"[^>]*checked', form)


def test_the_api_takes_it_and_refuses_bad_answers_in_words(api, officina):
    questions = api.get("/maturity/questions").json()
    assert [q["key"] for q in questions][:2] == ["website", "social"]
    assert {q["kind"] for q in questions} == {"practice", "factor"}

    response = api.post("/maturity/assessments", {"answers": {**LEVEL_2, "budget": "huge"}})
    assert response.status_code == 422
    body = response.json()
    assert {
        "field": "answers.budget",
        "message": "“huge” is not one of the answers to this question.",
    } in body["error"]["errors"]

    response = api.post("/maturity/assessments", {"answers": LEVEL_2})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["overall"] == 2 and body["factor_levels"]["budget"] == 2
    assert [s["key"] for s in body["next_steps"]["now"]][:3] == [
        "import_contacts",
        "tracking",
        "first_email",
    ]
    assert api.get("/maturity/assessments/latest").json()["id"] == body["id"]
    assert len(api.get("/maturity/assessments").json()) == 1


def test_another_workspace_sees_none_of_it(api, client, bruno_token, officina):
    api.post("/maturity/assessments", {"answers": LEVEL_2})
    from volano.conftest import ApiClient

    other = ApiClient(client, bruno_token)
    assert other.get("/maturity/assessments").json() == []
    assert other.get("/maturity/assessments/latest").status_code == 404


@pytest.mark.browser
def test_the_owner_answers_in_chromium_and_sees_the_charts(page, live_server, officina, giulia):
    from volano.maturity.services import assessment_take

    assessment_take(workspace=officina, answers=LEVEL_2, actor=giulia)  # a year of history
    page.goto(f"{live_server.url}/maturity/take/")
    page.get_by_label("A blog updated regularly with valuable content").check()
    page.get_by_label("A planned flow of posts, consistent on every channel").check()
    page.get_by_label("Campaigns on several channels, including lead acquisition").check()
    page.get_by_label("Emails that follow our content plan, by group of contacts").check()
    page.get_by_label("A trained person with regular time for it").check()
    page.get_by_label("Enough for several channels and a specialised agency").check()
    page.get_by_role("button", name="See where we are").click()
    page.wait_for_selector("[data-testid=maturity-level][data-level='3']")
    page.wait_for_selector("#maturity-profile[data-drawn='true']")
    page.wait_for_selector("#maturity-progress[data-drawn='true']")
    page.get_by_role("link", name="Score leads and hand the best to sales").click()
    page.wait_for_url("**/scoring/**")


def test_the_factors_that_hold_the_company_back_are_recommended_with_their_pages(officina):
    """Seed 000: the three factors decide how far the marketing can go. For each factor at or
    below the company's level, what to do about it and the page that helps, weakest first; the
    result page lists them first once every capability up to the next level is in use (the
    demo, which uses them all)."""
    from volano.maturity.selectors import next_steps

    placing = questionnaire.place(questionnaire.answers_clean(LEVEL_2))
    steps = next_steps(officina, placing.overall, placing.factor_levels)
    assert [s["key"] for s in steps["factors"]] == [
        "factor_competence", "factor_people", "factor_budget",
    ]  # fmt: skip
    assert [s["url"] for s in steps["factors"]] == ["/goals/", "/team/", "/budgets/plans/"]
    strong = {
        **LEVEL_2,
        "competence": "strategic",
        "people": "nobody",
        "budget": "several_channels",
    }
    placing = questionnaire.place(questionnaire.answers_clean(strong))
    assert placing.overall == 2  # practices at 2
    steps = next_steps(officina, placing.overall, placing.factor_levels)
    assert [s["key"] for s in steps["factors"]] == ["factor_people"]  # the only one at 2 or below

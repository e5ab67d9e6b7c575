"""The contacts list as a marketer works it, through HTTP: stage, score, owner and last activity
columns, sorting and filters by query parameters, phone search however it is typed, and bulk
actions on the ticked rows or on every contact the filters match (each one set-based)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from volano.contacts import services
from volano.contacts.models import Contact
from volano.core import services as core_services
from volano.core.models import Role
from volano.events.services import event_append
from volano.lifecycle.models import StageChange
from volano.lifecycle.services import stage_rename, stage_set
from volano.scoring.services import score_model_save, scores_compute
from volano.segments.models import ListMembership
from volano.segments.services import list_create, segment_save

pytestmark = pytest.mark.django_db

INTEREST = {
    "slug": "interesse",
    "name": "Interesse",
    "rules": [
        {
            "kind": "fit",
            "when": {"field": "job_title", "op": "contains", "value": "acquisti"},
            "points": 40,
        },
        {"kind": "fit", "when": {"field": "province", "op": "eq", "value": "MI"}, "points": 20},
    ],
}


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def people(officina, giulia, marco):
    """Four contacts: stages, scores, owners and phones all different."""

    def add(first, last, **data):
        return services.contact_create(
            workspace=officina,
            actor=giulia,
            data={
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}@example.it",
                **data,
            },
        )

    anna = add(
        "Anna",
        "Bianchi",
        job_title="Ufficio acquisti",
        province="MI",
        phone="338 307 6475",
        owner_id=marco.pk,
    )
    bruno = add(
        "Bruno", "Conti", job_title="Responsabile acquisti", province="BG", owner_id=giulia.pk
    )
    carla = add("Carla", "Amato", province="MI", phone="02 1234 5678")
    dario = add("Dario", "Esposito", province="NA", owner_id=marco.pk)
    model = score_model_save(workspace=officina, actor=giulia, data=INTEREST)
    scores_compute(workspace=officina, model=model)  # anna 60, bruno 40, carla 20, dario 0
    stage_set(workspace=officina, actor=giulia, contact=bruno, stage="mql", reason="fiera")
    stage_set(workspace=officina, actor=giulia, contact=carla, stage="customer", reason="ordine")
    return {"anna": anna, "bruno": bruno, "carla": carla, "dario": dario}


def names(response) -> list[str]:
    """The contacts' names in the order the table shows them."""
    return names_in(response.content.decode())


def names_in(html: str) -> list[str]:
    return re.findall(r'<td class="contact-name"><a href="/contacts/\d+/">([^<]+)</a>', html)


def listed(signed_in, **params):
    return signed_in.get(
        reverse("contacts:list"), params, headers={"HX-Request": "true", "HX-Target": "results"}
    )


def test_columns_show_stage_name_score_owner_and_last_activity(signed_in, officina, giulia, people):
    stage_rename(workspace=officina, actor=giulia, stage="mql", name="Caldo")
    event_append(
        workspace=officina,
        type="page_view",
        contact_id=people["anna"].pk,
        properties={"url": "/prezzi"},
    )
    html = signed_in.get(reverse("contacts:list")).content.decode()
    row = re.search(r'<tr>\s*<td class="pick">.*?Bruno Conti.*?</tr>', html, re.S).group(0)
    assert "Caldo" in row  # the workspace's own name for MQL
    assert ">40<" in row  # the score
    assert "Giulia Verdi" in row  # the owner by name, not by email
    anna_row = re.search(r"<tr>\s*<td class=\"pick\">.*?Anna Bianchi.*?</tr>", html, re.S).group(0)
    assert "Marco Neri" in anna_row
    assert "<time datetime=" in anna_row  # her page view is her last activity
    assert "+39 338 307 6475" in anna_row  # the phone as people read it


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Carla Amato", "Anna Bianchi", "Bruno Conti", "Dario Esposito"]),
        ("-name", ["Dario Esposito", "Bruno Conti", "Anna Bianchi", "Carla Amato"]),
        ("-score", ["Anna Bianchi", "Bruno Conti", "Carla Amato", "Dario Esposito"]),
        ("score", ["Dario Esposito", "Carla Amato", "Bruno Conti", "Anna Bianchi"]),
        # the funnel's order: lead, MQL, …, customer (ties newest first by id)
        ("stage", ["Anna Bianchi", "Dario Esposito", "Bruno Conti", "Carla Amato"]),
        ("-stage", ["Carla Amato", "Bruno Conti", "Dario Esposito", "Anna Bianchi"]),
        # by the owner's name; nobody's contacts last
        ("owner", ["Bruno Conti", "Anna Bianchi", "Dario Esposito", "Carla Amato"]),
        ("-added", ["Dario Esposito", "Carla Amato", "Bruno Conti", "Anna Bianchi"]),
    ],
)
def test_sort_by_a_column_header(signed_in, people, sort, expected):
    assert names(listed(signed_in, sort=sort)) == expected


def test_a_header_link_sorts_and_the_next_click_reverses(signed_in, people):
    html = signed_in.get(reverse("contacts:list"), {"stage": "lead"}).content.decode()
    assert 'href="?stage=lead&amp;sort=-score"' in html  # highest score first, filters kept
    html = signed_in.get(reverse("contacts:list"), {"sort": "-score"}).content.decode()
    assert 'aria-sort="descending"' in html
    assert 'href="?sort=score"' in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "mql"}, {"Bruno Conti"}),
        ({"score_min": "30"}, {"Anna Bianchi", "Bruno Conti"}),
        ({"score_min": "10", "score_max": "45"}, {"Bruno Conti", "Carla Amato"}),
        ({"score_max": "0"}, {"Dario Esposito"}),  # no score row is 0 points
        ({"owner": "none"}, {"Carla Amato"}),
        ({"stage": "lead", "score_min": "50"}, {"Anna Bianchi"}),
        (
            {"stage": "not-a-stage"},
            {"Anna Bianchi", "Bruno Conti", "Carla Amato", "Dario Esposito"},
        ),
    ],
)
def test_filters(signed_in, people, params, expected):
    assert set(names(listed(signed_in, **params))) == expected


def test_filter_by_owner_and_by_segment(signed_in, officina, giulia, marco, people):
    assert set(names(listed(signed_in, owner=str(marco.pk)))) == {"Anna Bianchi", "Dario Esposito"}
    segment = segment_save(  # its membership is refreshed as it is saved
        workspace=officina,
        actor=giulia,
        slug="milano",
        name="Milano",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )
    assert set(names(listed(signed_in, segment=str(segment.pk)))) == {"Anna Bianchi", "Carla Amato"}


EVERYONE = {"Anna Bianchi", "Bruno Conti", "Carla Amato", "Dario Esposito"}


def test_a_sales_rep_starts_on_their_own_contacts_and_may_look_at_everyones(client, marco, people):
    client.force_login(marco)
    html = client.get(reverse("contacts:list")).content.decode()
    assert set(names_in(html)) == {"Anna Bianchi", "Dario Esposito"}
    assert '<option value="mine" selected>' in html  # the select says what the list applies
    assert set(names(listed(client, owner="everyone"))) == EVERYONE
    assert set(names(listed(client, owner="mine", province="MI"))) == {"Anna Bianchi"}
    # sorting keeps the rep's choice in the links (the query string remembers it)
    html = client.get(reverse("contacts:list"), {"owner": "everyone"}).content.decode()
    assert 'href="?owner=everyone&amp;sort=-score"' in html


def test_a_rep_with_no_contact_of_their_own_is_pointed_to_everyones(client, marco, people):
    client.force_login(marco)
    html = listed(client, q="Bruno").content.decode()
    assert "None of your own contacts matches." in html
    assert 'href="?q=Bruno&amp;owner=everyone"' in html
    assert names(listed(client, q="Bruno", owner="everyone")) == ["Bruno Conti"]


def test_a_marketer_starts_on_everyones_contacts_and_may_pick_their_own(signed_in, giulia, people):
    html = signed_in.get(reverse("contacts:list")).content.decode()
    assert set(names_in(html)) == EVERYONE
    assert '<option value="everyone" selected>' in html
    assert names(listed(signed_in, owner="mine")) == ["Bruno Conti"]


def test_a_reps_bulk_action_on_every_match_acts_on_what_their_list_showed(
    client, officina, marco, people
):
    client.force_login(marco)
    html = client.get(reverse("contacts:list"), {"province": "MI"}).content.decode()
    filters = re.search(r'name="filters" value="([^"]*)"', html).group(1).replace("&amp;", "&")
    assert "owner=mine" in filters
    bulk(client, action="stage", new_stage="sql", reason="fiera", scope="all", filters=filters)
    stages = dict(
        Contact.objects.for_workspace(officina).values_list("first_name", "lifecycle_stage")
    )
    assert stages["Anna"] == "sql"  # Marco's, in Milan
    assert stages["Carla"] == "customer"  # in Milan too, but nobody's: not on his list


@pytest.mark.parametrize(
    "typed",
    [
        "338 307 6475",
        "3383076475",
        "+39 338 307 6475",
        "+393383076475",
        "0039 338 3076475",
        "338-307-6475",
    ],
)
def test_a_phone_is_found_however_it_is_typed(signed_in, people, typed):
    assert names(listed(signed_in, q=typed)) == ["Anna Bianchi"]


def test_a_landline_with_spaces_is_found_and_shown_formatted(signed_in, people):
    response = listed(signed_in, q="02 1234 5678")
    assert names(response) == ["Carla Amato"]
    assert "+39 02 1234 5678" in response.content.decode()


def test_the_list_reads_a_page_in_a_fixed_number_of_queries(signed_in, officina, giulia, people):
    """Columns for 4 contacts or 50 cost the same: no query per row."""
    listed(signed_in, sort="-score")  # the session and the per-workspace caches warm up
    with CaptureQueriesContext(connection) as few:
        listed(signed_in, sort="-score")
    for i in range(30):
        contact = services.contact_create(
            workspace=officina,
            actor=giulia,
            data={"first_name": f"N{i}", "email": f"n{i}@example.it"},
        )
        event_append(workspace=officina, type="page_view", contact_id=contact.pk)
    with CaptureQueriesContext(connection) as many:
        listed(signed_in, sort="-score")
    assert len(many) == len(few)


# ---- bulk actions ---------------------------------------------------------------------------


def bulk(signed_in, **data):
    return signed_in.post(reverse("contacts:bulk"), data)


def test_add_ticked_contacts_to_a_list(signed_in, officina, giulia, people):
    fiera = list_create(workspace=officina, actor=giulia, slug="fiera", name="Fiera EIMA")
    response = bulk(
        signed_in,
        action="list",
        target_list=fiera.pk,
        scope="ids",
        ids=[people["anna"].pk, people["dario"].pk],
    )
    assert response.status_code == 302
    members = set(
        ListMembership.objects.for_workspace(officina)
        .filter(list=fiera)
        .values_list("contact_id", flat=True)
    )
    assert members == {people["anna"].pk, people["dario"].pk}
    page = signed_in.get(response["Location"]).content.decode()
    assert "2 contacts added to “Fiera EIMA”." in page


def test_change_owner_of_every_contact_matching_the_filters(signed_in, officina, marco, people):
    with CaptureQueriesContext(connection) as queries:
        response = bulk(
            signed_in, action="owner", new_owner=marco.pk, scope="all", filters="province=MI"
        )
    assert response.status_code == 302
    assert response["Location"] == "/contacts/?province=MI"
    owners = dict(Contact.objects.for_workspace(officina).values_list("first_name", "owner_id"))
    assert owners["Anna"] == marco.pk and owners["Carla"] == marco.pk
    assert owners["Bruno"] != marco.pk  # not in Milan
    updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "contacts_contact"')
    ]
    assert len(updates) == 1  # one statement, not one per contact


def test_an_owner_from_another_workspace_is_refused(signed_in, officina, people, bruno):
    response = bulk(signed_in, action="owner", new_owner=bruno.pk, scope="all", filters="")
    page = signed_in.get(response["Location"]).content.decode()
    assert "Select a valid choice" in page
    assert not Contact.objects.for_workspace(officina).filter(owner=bruno).exists()


def test_change_stage_of_all_matching_with_a_reason(signed_in, officina, people):
    response = bulk(
        signed_in,
        action="stage",
        new_stage="sql",
        reason="chiamati in fiera",
        scope="all",
        filters="stage=lead",
    )
    assert response.status_code == 302
    moved = StageChange.objects.for_workspace(officina).filter(to_stage="sql")
    assert set(moved.values_list("contact__first_name", flat=True)) == {"Anna", "Dario"}
    assert set(moved.values_list("reason", flat=True)) == {"chiamati in fiera"}


def test_change_stage_needs_a_reason(signed_in, officina, people):
    response = bulk(
        signed_in, action="stage", new_stage="sql", reason="", scope="ids", ids=[people["anna"].pk]
    )
    page = signed_in.get(response["Location"]).content.decode()
    assert "Say why the stage changes" in page
    assert (
        Contact.objects.for_workspace(officina).get(pk=people["anna"].pk).lifecycle_stage == "lead"
    )


def test_nothing_ticked_says_so(signed_in, people):
    response = bulk(signed_in, action="export_csv", scope="ids")
    page = signed_in.get(response["Location"]).content.decode()
    assert "Tick at least one contact" in page


def test_export_csv_of_the_filtered_contacts(signed_in, officina, people):
    response = bulk(signed_in, action="export_csv", scope="all", filters="score_min=30")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Email", "First name", "Last name"]
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"Anna", "Bruno"}
    assert by_name["Bruno"][9] == "Marketing qualified lead"
    assert by_name["Anna"][10] == "Marco Neri"
    assert by_name["Anna"][-1] == "60"
    assert by_name["Anna"][3] == "'+393383076475"  # core/exports: never a live formula


def test_export_xlsx_of_ticked_contacts(signed_in, people):
    from openpyxl import load_workbook

    response = bulk(signed_in, action="export_xlsx", scope="ids", ids=[people["carla"].pk])
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.active.values)
    assert [row[1] for row in rows[1:]] == ["Carla"]


def test_a_viewer_cannot_run_bulk_actions(client, officina, people):
    viewer = core_services.user_create(email="vera@officinarossi.it", password="x-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    response = client.post(
        reverse("contacts:bulk"), {"action": "owner", "new_owner": "none", "scope": "all"}
    )
    assert response.status_code == 403
    assert Contact.objects.for_workspace(officina).filter(owner__isnull=False).count() == 3
    assert 'name="ids"' not in client.get(reverse("contacts:list")).content.decode()


def test_change_stage_of_all_matching_a_score_range(signed_in, officina, people):
    """The score filter joins the score table; the stage move still locks only the contacts."""
    response = bulk(
        signed_in,
        action="stage",
        new_stage="sql",
        reason="punteggio alto",
        scope="all",
        filters="score_min=50&sort=-score",
    )
    assert response.status_code == 302
    moved = StageChange.objects.for_workspace(officina).filter(to_stage="sql")
    assert list(moved.values_list("contact__first_name", flat=True)) == ["Anna"]

"""Bruno, of Ferramenta Bianchi, never sees or touches a row of Officina Rossi through the UI.

Every page of the contacts namespace and of the shell that takes an id is visited with Officina's
ids, so a page added later is covered without touching this test.
"""

import pytest
from django.urls import URLPattern, reverse

from volano.contacts import services
from volano.contacts.selectors import contact_consents, contact_get
from volano.core import services as core_services
from volano.core import urls as core_urls
from volano.core.invitations import invitation_create
from volano.events.models import EventType
from volano.events.services import event_append
from volano.ui.contacts import urls as contact_urls

pytestmark = pytest.mark.django_db


@pytest.fixture
def officina_rows(officina, giulia):
    services.custom_field_create(
        workspace=officina, key="segreto_interno", label="Campo Segretissimo", type="text"
    )
    company = services.company_create(
        workspace=officina, actor=giulia, data={"name": "Segretissima Meccanica"}
    )
    contact = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "first_name": "Riservato",
            "last_name": "Officina",
            "email": "riservato@officinarossi.it",
            "phone": "333 999 8888",
            "company_id": company.pk,
            "tags": ["segreto"],
        },
    )
    event_append(
        workspace=officina,
        contact_id=contact.pk,
        type=EventType.PAGE_VIEW,
        properties={"title": "Pagina riservata"},
    )
    token, _raw = core_services.token_create(workspace=officina, user=giulia, name="Segreto")
    invitation = invitation_create(
        workspace=officina, actor=giulia, email="invitato@esterno.it", role="admin"
    )
    return {
        "invitation_id": invitation.pk,
        "contact_id": contact.pk,
        "company_id": company.pk,
        "user_id": giulia.pk,
        "token_id": token.pk,
    }


@pytest.fixture
def bruno_contact(bruno, ferramenta):
    return services.contact_create(
        workspace=ferramenta, actor=bruno, data={"first_name": "Cliente", "last_name": "Bianchi"}
    )


@pytest.fixture
def bruno_client(client, bruno, bruno_contact):
    client.force_login(bruno)
    return client


# Pages with an id that belongs to no workspace: the password reset link (a user id and a
# one-time token, answered with "this link no longer works" when wrong; core/tests/test_auth.py).
# The invitation link is the same kind of page (core/tests/test_invitations.py).
NOT_WORKSPACE_PAGES = {"password_reset_confirm", "invitation_accept"}


def detail_urls(ids: dict) -> list[str]:
    patterns = [(f"contacts:{p.name}", p) for p in contact_urls.urlpatterns]
    patterns += [
        (p.name, p)
        for p in core_urls.urlpatterns
        if isinstance(p, URLPattern) and p.name not in NOT_WORKSPACE_PAGES
    ]
    urls = []
    for name, pattern in patterns:
        converters = pattern.pattern.converters
        if converters:
            kwargs = {key: ids[key] for key in converters}
            urls.append(reverse(name, kwargs=kwargs))
    return urls


def test_every_page_of_another_workspace_is_404(bruno_client, officina_rows):
    urls = detail_urls(officina_rows)
    assert len(urls) >= 8
    for url in urls:
        assert bruno_client.get(url).status_code == 404, url
        assert bruno_client.get(url, headers={"HX-Request": "true"}).status_code == 404, url
        response = bruno_client.post(url, {"first_name": "Preso", "email": "x@example.it"})
        assert response.status_code in (404, 405), url


def test_team_member_of_another_workspace_is_404(bruno_client, officina_rows):
    url = reverse("team_member_edit", kwargs={"user_id": officina_rows["user_id"]})
    assert bruno_client.get(url).status_code == 404
    assert bruno_client.post(url, {"role": "viewer"}).status_code == 404


def test_merging_in_a_contact_of_another_workspace_is_404(
    bruno_client, officina, bruno_contact, officina_rows
):
    url = reverse("contacts:merge", kwargs={"contact_id": bruno_contact.pk})
    other = officina_rows["contact_id"]
    assert bruno_client.get(url, {"duplicate": other}).status_code == 404
    assert bruno_client.post(url, {"duplicate_id": other}).status_code == 404
    assert contact_get(workspace=officina, contact_id=other).first_name == "Riservato"


def test_consent_on_another_workspace_changes_nothing(bruno_client, officina, officina_rows):
    url = reverse("contacts:consent", kwargs={"contact_id": officina_rows["contact_id"]})
    response = bruno_client.post(
        url,
        {
            "purpose": "email_marketing",
            "email_marketing-status": "granted",
            "email_marketing-note": "preso",
        },
    )
    assert response.status_code == 404
    contact = contact_get(workspace=officina, contact_id=officina_rows["contact_id"])
    assert contact_consents(workspace=officina, contact=contact) == {}


def test_posting_changes_to_another_workspace_changes_nothing(
    bruno_client, officina, officina_rows
):
    url = reverse("contacts:update", kwargs={"contact_id": officina_rows["contact_id"]})
    bruno_client.post(url, {"first_name": "Preso", "last_name": "", "email": ""})
    contact = contact_get(workspace=officina, contact_id=officina_rows["contact_id"])
    assert contact.first_name == "Riservato"


SECRETS = (
    "Riservato",
    "riservato@officinarossi.it",
    "Segretissima",
    "+393339998888",
    "segreto_interno",
    "giulia@officinarossi.it",
    "Giulia Verdi",
)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "riservato"},
        {"q": "officinarossi"},
        {"q": "segretissima"},
        {"q": "3339998888"},
        {"tag": "segreto"},
        {"consent": "none"},
    ],
)
def test_lists_and_search_never_show_another_workspace(
    bruno_client, bruno_contact, officina_rows, query
):
    merge_url = reverse("contacts:merge", kwargs={"contact_id": bruno_contact.pk})
    pages = [
        bruno_client.get(merge_url, query),
        bruno_client.get(
            merge_url, query, headers={"HX-Request": "true", "HX-Target": "merge-results"}
        ),
        bruno_client.get(reverse("contacts:custom_fields")),
        bruno_client.get(reverse("team")),
        bruno_client.get(reverse("contacts:create")),
        bruno_client.get(reverse("contacts:company_create")),
        bruno_client.get(reverse("contacts:list"), query),
        bruno_client.get(
            reverse("contacts:list"), query, headers={"HX-Request": "true", "HX-Target": "results"}
        ),
        bruno_client.get(reverse("contacts:company_list"), query),
        bruno_client.get(reverse("contacts:company_options"), {"company": "segretissima"}),
        bruno_client.get(reverse("home")),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        for secret in SECRETS:
            assert secret not in html


def test_switching_into_another_workspace_is_refused(bruno_client, officina, officina_rows):
    response = bruno_client.post(reverse("workspace_switch"), {"workspace": officina.pk})
    assert response.status_code == 403
    html = bruno_client.get(reverse("contacts:list")).content.decode()
    assert "Riservato" not in html

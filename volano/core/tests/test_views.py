"""The shell through HTTP: signing in, switching workspace and language, the overview, the outbox."""

import pytest
from django.core import mail
from django.urls import reverse

from volano.contacts import services as contact_services
from volano.core import services as core_services
from volano.core.mail import WORKSPACE_HEADER, workspace_headers
from volano.core.middleware import SESSION_KEY
from volano.core.models import Role

pytestmark = pytest.mark.django_db


def test_pages_need_a_signed_in_user(client):
    for name in ("home", "outbox", "password_change", "contacts:list"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_login_with_email_and_password_lands_on_the_overview(client, giulia, officina):
    page = client.get(reverse("login"))
    assert 'type="email"' in page.content.decode()
    response = client.post(
        reverse("login"),
        {"username": " Giulia@OfficinaRossi.it ", "password": "giulia-pass-2026"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Officina Rossi S.r.l." in response.content.decode()


def test_a_wrong_password_says_so(client, giulia):
    response = client.post(
        reverse("login"), {"username": "giulia@officinarossi.it", "password": "nope"}
    )
    assert response.status_code == 200
    assert "correct email and password" in response.content.decode()


def test_logout_is_a_post(client, giulia):
    client.force_login(giulia)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_password_change(client, giulia):
    client.force_login(giulia)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "giulia-pass-2026",
            "new_password1": "a-much-longer-one-2027",
            "new_password2": "a-much-longer-one-2027",
        },
    )
    assert response.url == reverse("password_change_done")
    giulia.refresh_from_db()
    assert giulia.check_password("a-much-longer-one-2027")
    assert "Password changed" in client.get(reverse("password_change_done")).content.decode()


def test_password_change_errors_show_next_to_the_field(client, giulia):
    client.force_login(giulia)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    html = response.content.decode()
    assert 'id="id_old_password_error"' in html


def test_empty_workspace_shows_help_to_get_started(client, giulia):
    client.force_login(giulia)
    html = client.get(reverse("home")).content.decode()
    assert "Your workspace is empty" in html
    assert reverse("contacts:create") in html


def test_overview_counts_and_latest_contacts(client, giulia, officina):
    contact = contact_services.contact_create(
        workspace=officina, actor=giulia, data={"first_name": "Lucia", "email": "lucia@example.it"}
    )
    contact_services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose="email_marketing",
        status="granted",
        source="form",
    )
    client.force_login(giulia)
    response = client.get(reverse("home"))
    counts = response.context["counts"]
    assert counts["contacts"] == 1
    assert counts["emailable"] == 1
    assert counts["events_30d"] == 1  # the consent change is on the timeline
    assert "Lucia" in response.content.decode()


def test_a_sales_reps_overview_counts_their_own_contacts(client, giulia, marco, officina):
    def add(first, owner, company=None):
        contact = contact_services.contact_create(
            workspace=officina,
            actor=giulia,
            data={
                "first_name": first,
                "email": f"{first.lower()}@example.it",
                "owner_id": owner.pk,
                "company_id": company.pk if company else None,
            },
        )
        contact_services.consent_set(
            workspace=officina,
            actor=None,
            contact=contact,
            purpose="email_marketing",
            status="granted",
            source="form",
        )
        return contact

    def firm(name):
        return contact_services.company_create(
            workspace=officina, actor=giulia, data={"name": name}
        )

    add("Lucia", marco, firm("Rossi Srl"))
    add("Paolo", giulia, firm("Bianchi Spa"))
    add("Sara", giulia)
    client.force_login(marco)
    response = client.get(reverse("home"))
    assert response.context["counts"] == {
        "contacts": 1,
        "companies": 1,
        "events_30d": 1,  # Lucia's consent, not the others'
        "emailable": 1,
    }
    html = response.content.decode()
    assert "Lucia" in html and "Paolo" not in html and "Sara" not in html
    assert "the contacts you own" in html
    client.force_login(giulia)  # a marketer counts the whole workspace
    counts = client.get(reverse("home")).context["counts"]
    assert counts["contacts"] == 3 and counts["emailable"] == 3 and counts["events_30d"] == 3


def test_user_without_a_workspace_gets_a_friendly_page(client, db):
    lonely = core_services.user_create(email="solo@example.it", password="solo-pass-2026")
    client.force_login(lonely)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "No workspace yet" in response.content.decode()


def test_workspace_switcher_moves_between_own_workspaces_only(
    client, giulia, officina, ferramenta, bruno
):
    core_services.membership_set(workspace=ferramenta, user=giulia, role=Role.VIEWER)
    client.force_login(giulia)
    html = client.get(reverse("home")).content.decode()
    assert 'id="workspace-select"' in html
    response = client.post(reverse("workspace_switch"), {"workspace": ferramenta.pk})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == ferramenta.pk
    assert "Ferramenta Bianchi" in client.get(reverse("home")).content.decode()

    other = core_services.workspace_create(slug="altro-cliente", name="Altro Cliente")
    response = client.post(reverse("workspace_switch"), {"workspace": other.pk})
    assert response.status_code == 403
    assert client.session[SESSION_KEY] == ferramenta.pk
    assert client.post(reverse("workspace_switch"), {"workspace": "x"}).status_code == 403
    assert client.get(reverse("workspace_switch")).status_code == 405


def test_language_switch_sets_the_page_language(client, giulia):
    client.force_login(giulia)
    assert '<html lang="en">' in client.get(reverse("home")).content.decode()
    response = client.post("/i18n/setlang/", {"language": "it", "next": "/"})
    assert response.status_code == 302
    assert '<html lang="it">' in client.get(reverse("home")).content.decode()


def test_nav_marks_the_current_page(client, giulia):
    client.force_login(giulia)
    html = client.get(reverse("contacts:list")).content.decode()
    assert f'href="{reverse("contacts:list")}" aria-current="page"' in html
    assert "Coming soon" not in html  # every capability the menu names exists


def test_outbox_lists_every_mail_written_for_the_workspace(client, giulia, officina):
    mail.EmailMessage(
        "Conferma iscrizione",
        "Clicca per confermare.",
        None,
        ["luca@example.it"],
        headers=workspace_headers(officina),
    ).send()
    client.force_login(giulia)
    html = client.get(reverse("outbox")).content.decode()
    assert "Conferma iscrizione" in html
    assert "luca@example.it" in html
    assert "Clicca per confermare." in html


def test_outbox_never_shows_mail_of_another_workspace_or_of_none(
    client, giulia, officina, ferramenta, settings
):
    mail.EmailMessage(
        "Preventivo Ferramenta",
        "Per Bruno",
        None,
        ["c@x.it"],
        headers=workspace_headers(ferramenta),
    ).send()
    mail.send_mail("Senza workspace", "Di nessuno", None, ["d@x.it"])
    mail.EmailMessage(
        "Header falso", "Cartella altrui", None, ["e@x.it"], headers={WORKSPACE_HEADER: "../1"}
    ).send()
    client.force_login(giulia)
    html = client.get(reverse("outbox")).content.decode()
    for subject in ("Preventivo Ferramenta", "Senza workspace", "Header falso"):
        assert subject not in html
    outbox = settings.DATA_DIR / "outbox"
    assert len(list((outbox / str(ferramenta.pk)).glob("*.eml"))) == 1
    assert len(list(outbox.glob("*.eml"))) == 2  # no workspace: kept at the top, shown to none


def test_outbox_is_for_admins_and_marketers(client, marco):
    client.force_login(marco)
    assert client.get(reverse("outbox")).status_code == 403

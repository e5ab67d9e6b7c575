"""Anna, the administrator of Officina Rossi, invites people by email; they choose a password
through the link and land signed in, in the workspace, with the role she chose.

The email goes through a real SMTP server (aiosmtpd) configured as the workspace's mailer."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import time
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from volano.conftest import ApiClient
from volano.core import services
from volano.core.errors import ApplicationError
from volano.core.invitations import invitation_create, invitation_open
from volano.core.mail import PERSONAL_HEADER, WORKSPACE_HEADER, outbox_messages
from volano.core.middleware import SESSION_KEY
from volano.core.models import ApiToken, Invitation, Membership, Role
from volano.core.tests.test_mail import Collector, free_port
from volano.settings import mailers_from_env

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/invite/(\S+)/")


@pytest.fixture
def anna(officina):
    user = services.user_create(
        email="anna@officinarossi.it", password="anna-pass-2026", full_name="Anna Rossi"
    )
    services.membership_set(workspace=officina, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def smtp(settings, monkeypatch):
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("VOLANO_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    settings.MAILERS = mailers_from_env()
    yield handler
    controller.stop()


def received(handler, count: int = 1) -> list:
    for _ in range(200):  # delivery is asynchronous on the server's side
        if len(handler.messages) >= count:
            break
        time.sleep(0.05)
    return handler.messages


def link_in(message) -> str:
    body = message.get_payload(decode=True).decode()
    found = LINK.search(body)
    assert found, body
    return urlsplit(found.group(0)).path


def invite(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("team"), {"role": "sales", **data})


def test_invite_email_link_password_and_signed_in_with_the_role(
    client, anna, officina, smtp, django_capture_on_commit_callbacks
):
    client.force_login(anna)
    response = invite(
        client,
        django_capture_on_commit_callbacks,
        email="Luca.Bassi@OfficinaRossi.it",
        regions=["Lombardia"],
        provinces="BG, Brescia",
        product_lines="ricambi",
    )
    assert response.status_code == 302
    page = client.get(reverse("team")).content.decode()
    assert "luca.bassi@officinarossi.it" in page  # listed among the open invitations

    [message] = received(smtp)
    assert message["To"] == "luca.bassi@officinarossi.it"
    assert message[WORKSPACE_HEADER] == str(officina.pk)
    assert message[PERSONAL_HEADER]  # the link signs its holder in: no outbox page lists it
    assert "Officina Rossi" in message["Subject"]
    url = link_in(message)
    assert outbox_messages(workspace=officina) == []

    client.logout()
    form = client.get(url)
    assert form.status_code == 200
    assert "luca.bassi@officinarossi.it" in form.content.decode()
    assert form["Cache-Control"] == "no-store"

    weak = client.post(url, {"full_name": "Luca Bassi", "password": "123", "password_again": "123"})
    assert weak.status_code == 422  # Django's password validators speak
    assert "too short" in weak.content.decode() or "troppo corta" in weak.content.decode()

    done = client.post(
        url,
        {
            "full_name": "Luca Bassi",
            "password": "ricambi-Bergamo-2026",
            "password_again": "ricambi-Bergamo-2026",
        },
    )
    assert done.status_code == 302 and done["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert client.session[SESSION_KEY] == officina.pk
    luca = Membership.objects.get(workspace=officina, user__email="luca.bassi@officinarossi.it")
    assert luca.role == Role.SALES
    assert luca.user.full_name == "Luca Bassi"
    assert luca.regions == ["Lombardia"] and luca.provinces == ["BG", "BS"]
    assert luca.product_lines == ["ricambi"]
    assert luca.user.check_password("ricambi-Bergamo-2026")

    # the link worked once
    client.logout()
    again = client.get(url)
    assert again.status_code == 410
    assert "already used" in again.content.decode() or "già usato" in again.content.decode()
    reuse = client.post(
        url,
        {"full_name": "Altro", "password": "x-Altro-2026-x", "password_again": "x-Altro-2026-x"},
    )
    assert reuse.status_code == 410
    assert Membership.objects.filter(workspace=officina).count() == 2


def test_an_expired_link_is_refused(
    client, anna, officina, smtp, django_capture_on_commit_callbacks
):
    client.force_login(anna)
    invite(client, django_capture_on_commit_callbacks, email="tardi@officinarossi.it")
    url = link_in(received(smtp)[0])
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    client.logout()
    response = client.get(url)
    assert response.status_code == 410
    assert "expired" in response.content.decode() or "scaduto" in response.content.decode()
    post = client.post(
        url,
        {"full_name": "Tardi", "password": "tardi-Pass-2026", "password_again": "tardi-Pass-2026"},
    )
    assert post.status_code == 410
    assert not Membership.objects.filter(user__email="tardi@officinarossi.it").exists()


def test_the_default_expiry_is_seven_days(officina, anna):
    invitation = invitation_create(workspace=officina, actor=anna, email="a@b.it", role="viewer")
    days = (invitation.expires_at - invitation.created_at) / dt.timedelta(days=1)
    assert round(days, 3) == 7


def test_a_tampered_or_resent_link_is_refused(
    client, anna, officina, smtp, django_capture_on_commit_callbacks
):
    client.force_login(anna)
    invite(client, django_capture_on_commit_callbacks, email="nuovo@officinarossi.it")
    first = link_in(received(smtp)[0])
    invitation = Invitation.objects.get()
    token = first.rstrip("/").rsplit("/", 1)[1]
    other_id = token.replace(f"{invitation.pk}.", f"{invitation.pk + 1}.", 1)
    assert client.get(reverse("invitation_accept", args=[other_id])).status_code == 410
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("invitation_resend", args=[invitation.pk]))
    second = link_in(received(smtp, 2)[1])
    assert second != first
    client.logout()
    assert client.get(first).status_code == 410  # the old link died with the resend
    assert client.get(second).status_code == 200


def test_a_cancelled_invitation_is_refused(
    client, anna, officina, smtp, django_capture_on_commit_callbacks
):
    client.force_login(anna)
    invite(client, django_capture_on_commit_callbacks, email="ritirato@officinarossi.it")
    url = link_in(received(smtp)[0])
    invitation = Invitation.objects.get()
    assert client.post(reverse("invitation_cancel", args=[invitation.pk])).status_code == 302
    client.logout()
    response = client.get(url)
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode() or "ritirato" in response.content.decode()


def test_an_existing_account_joins_after_signing_in(
    client, anna, officina, ferramenta, bruno, smtp, django_capture_on_commit_callbacks
):
    client.force_login(anna)
    invite(
        client,
        django_capture_on_commit_callbacks,
        email="bruno@ferramentabianchi.it",
        role="viewer",
    )
    url = link_in(received(smtp)[0])
    client.logout()
    page = client.get(url).content.decode()
    assert reverse("login") in page  # sign in first
    refused = client.post(url, {"full_name": "Intruso", "password": "x", "password_again": "x"})
    assert refused.status_code == 422
    assert not Membership.objects.filter(workspace=officina, user=bruno).exists()
    client.force_login(bruno)
    joined = client.post(url)
    assert joined.status_code == 302
    assert Membership.objects.get(workspace=officina, user=bruno).role == Role.VIEWER
    assert Membership.objects.get(workspace=ferramenta, user=bruno).role == Role.ADMIN
    assert client.session[SESSION_KEY] == officina.pk
    assert bruno.check_password("bruno-pass-2026")  # the account is unchanged


def test_only_an_admin_invites(client, giulia, marco, officina):
    for user in (giulia, marco):
        client.force_login(user)
        response = client.post(reverse("team"), {"email": "x@y.it", "role": "admin"})
        assert response.status_code == 403
        assert "Invite someone" not in client.get(reverse("team")).content.decode()
    assert not Invitation.objects.exists()


def test_an_address_already_in_the_workspace_is_not_invited(client, anna, giulia, officina):
    client.force_login(anna)
    response = client.post(reverse("team"), {"email": giulia.email, "role": "viewer"})
    assert response.status_code == 422
    assert "already a member" in response.content.decode() or "già" in response.content.decode()


def test_the_last_admin_cannot_be_removed_nor_demoted(client, anna, giulia, officina):
    client.force_login(anna)
    response = client.post(reverse("team_member_remove", args=[anna.pk]), follow=True)
    text = response.content.decode()
    assert "at least one administrator" in text or "almeno un amministratore" in text
    assert Membership.objects.filter(workspace=officina, user=anna, role=Role.ADMIN).exists()
    demote = client.post(reverse("team_member_edit", args=[anna.pk]), {"role": "viewer"})
    assert demote.status_code == 422
    assert Membership.objects.get(workspace=officina, user=anna).role == Role.ADMIN


def test_removing_a_member_revokes_their_tokens(client, anna, marco, officina):
    token, raw = services.token_create(workspace=officina, user=marco)
    client.force_login(anna)
    assert client.post(reverse("team_member_remove", args=[marco.pk])).status_code == 302
    assert not Membership.objects.filter(workspace=officina, user=marco).exists()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert (
        client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {raw}"}).status_code
        == 401
    )


def test_members_and_invitations_through_the_api(
    client, anna, marco, giulia, officina, smtp, django_capture_on_commit_callbacks
):
    _token, raw = services.token_create(workspace=officina, user=anna)
    api = ApiClient(client, raw)
    emails = {m["email"] for m in api.get("/members").json()}
    assert emails == {anna.email, marco.email, giulia.email}

    changed = api.patch(f"/members/{marco.pk}", {"provinces": ["MI"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["role"] == "sales" and changed.json()["provinces"] == ["MI"]
    assert changed.json()["regions"] == ["Lombardia"]  # what was not sent stays

    last = api.patch(f"/members/{anna.pk}", {"role": "marketer"})
    assert last.status_code == 400
    assert last.json()["error"]["field"] == "role"
    assert api.delete(f"/members/{anna.pk}").status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/invitations", {"email": "nuova@officinarossi.it", "role": "marketer"})
    assert created.status_code == 201, created.content
    assert "token" not in created.json()  # the link goes to the invited address only
    [message] = received(smtp)
    assert message["To"] == "nuova@officinarossi.it"
    assert [i["email"] for i in api.get("/invitations").json()] == ["nuova@officinarossi.it"]
    bad = api.post("/invitations", {"email": "non-una-email", "role": "marketer"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "email"

    assert api.delete(f"/invitations/{created.json()['id']}").status_code == 204
    assert api.get("/invitations").json() == []
    assert api.delete(f"/members/{marco.pk}").status_code == 204
    assert api.delete(f"/members/{marco.pk}").status_code == 404


def test_the_members_api_is_for_admins_only(client, giulia, marco, officina):
    for user in (giulia, marco):
        _token, raw = services.token_create(workspace=officina, user=user)
        api = ApiClient(client, raw)
        assert api.get("/members").status_code == 200  # everyone sees who is on the team
        assert api.post("/invitations", {"email": "x@y.it", "role": "admin"}).status_code == 403
        assert api.patch(f"/members/{marco.pk}", {"role": "admin"}).status_code == 403
        assert api.delete(f"/members/{marco.pk}").status_code == 403
    assert Membership.objects.get(workspace=officina, user=marco).role == Role.SALES


def test_invitation_open_refuses_garbage():
    for token in ("", "abc", "1.secret", "1.secret:forged-signature"):
        with pytest.raises(ApplicationError) as error:
            invitation_open(token=token)
        assert "not valid" in str(error.value) or "non è valido" in str(error.value)


def test_signed_in_as_someone_else_the_link_says_to_sign_out(
    client, anna, giulia, officina, bruno, smtp, django_capture_on_commit_callbacks
):
    client.force_login(anna)
    invite(client, django_capture_on_commit_callbacks, email=bruno.email, role="viewer")
    url = link_in(received(smtp)[0])
    page = client.get(url).content.decode()  # Anna is still signed in
    assert "Sign out" in page or "Esci" in page
    refused = client.post(url)
    assert refused.status_code == 422
    assert not Membership.objects.filter(workspace=officina, user=bruno).exists()


def test_with_the_outbox_mailer_the_invitation_is_filed_but_never_listed(
    client, anna, giulia, officina, settings, django_capture_on_commit_callbacks
):
    """The outbox page is read by marketers too: an invitation link there would let one of them
    accept an administrator's invitation in someone else's name."""
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            workspace=officina, actor=anna, email="nuovo.admin@officinarossi.it", role="admin"
        )
    [filed] = (settings.DATA_DIR / "outbox" / str(officina.pk)).glob("*.eml")
    parsed = email.message_from_bytes(filed.read_bytes(), policy=email.policy.default)
    assert "/invite/" in parsed.get_body().get_content()
    assert outbox_messages(workspace=officina) == []
    client.force_login(giulia)
    assert "/invite/" not in client.get(reverse("outbox")).content.decode()

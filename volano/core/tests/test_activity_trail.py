"""The audit trail: every change of business data says who made it (a user, a user through an
API token, or the system), in the same transaction, readable per contact and per workspace."""

from __future__ import annotations

import pytest
from django.urls import reverse

from volano.contacts import services as contact_services
from volano.core import services as core_services
from volano.core.actors import current_token
from volano.core.errors import ApplicationError
from volano.core.models import Activity, ActorKind, ApiToken, Role
from volano.imports.services import import_file


@pytest.fixture
def luca(officina, giulia):
    return contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "luca@example.it", "first_name": "Luca"}
    )


def _rows(workspace, **filters):
    return list(Activity.objects.for_workspace(workspace).filter(**filters).order_by("pk"))


def test_an_api_patch_records_the_token_and_its_user(api, officina, giulia, luca):
    response = api.patch(f"/contacts/{luca.pk}", {"job_title": "Buyer"})
    assert response.status_code == 200
    (row,) = _rows(officina, verb="contact.update")
    assert row.actor_kind == ActorKind.TOKEN
    assert row.actor_user == giulia
    assert row.actor_token == ApiToken.objects.get(user=giulia)
    assert row.contact_id == luca.pk
    assert row.changes == {"job_title": ["", "Buyer"]}
    assert current_token.get() is None  # the token does not outlive its request


def test_a_ui_consent_change_records_the_user_and_the_contact_page_shows_it(
    client, officina, giulia, luca
):
    client.force_login(giulia)
    response = client.post(
        reverse("contacts:consent", args=[luca.pk]),
        {
            "purpose": "email_marketing",
            "email_marketing-status": "revoked",
            "email_marketing-note": "al telefono",
        },
    )
    assert response.status_code == 302
    (row,) = _rows(officina, verb="consent.set")
    assert (row.actor_kind, row.actor_user, row.actor_token) == (ActorKind.USER, giulia, None)
    assert row.contact_id == luca.pk
    assert row.changes["status"] == [None, "revoked"]

    page = client.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    changes = page[page.index('id="changes-title"') :]
    assert "Who changed this contact and its consent, and when." in changes
    assert "giulia@officinarossi.it" in changes
    assert "recorded a consent decision" in changes
    assert "None → revoked" not in changes and "— → revoked" in changes


def test_a_public_form_consent_is_the_systems(officina, luca):
    contact_services.consent_request(
        workspace=officina,
        contact=luca,
        purpose="email_marketing",
        source="form:newsletter",
        ip=None,
        form="newsletter",
        proof="",
    )
    (row,) = _rows(officina, verb="consent.set")
    assert (row.actor_kind, row.actor_user, row.changes["source"]) == (
        ActorKind.SYSTEM,
        None,
        "form:newsletter",
    )


def test_a_failed_change_records_nothing(officina, giulia, luca):
    before = Activity.objects.for_workspace(officina).count()
    with pytest.raises(ApplicationError):
        contact_services.contact_update(
            workspace=officina, actor=giulia, contact=luca, data={"email": "not an email"}
        )
    assert Activity.objects.for_workspace(officina).count() == before


def test_an_import_writes_one_row_with_its_counts(officina, giulia, tmp_path):
    path = tmp_path / "contatti.csv"
    path.write_text(
        "email;nome\n" + "".join(f"persona{n}@example.it;P{n}\n" for n in range(30)),
        encoding="utf-8",
    )
    report = import_file(workspace=officina, actor=giulia, kind="contacts", path=path)
    assert report.created == 30
    rows = _rows(officina)
    assert [r.verb for r in rows] == ["import.contacts"]
    assert rows[0].actor_user == giulia
    assert rows[0].changes["created"] == 30


def test_a_bulk_owner_change_writes_one_row(officina, giulia, marco):
    for n in range(5):
        contact_services.contact_create(
            workspace=officina, actor=None, data={"email": f"c{n}@example.it"}
        )
    from volano.contacts.models import Contact

    Activity.objects.for_workspace(officina).delete()
    changed = contact_services.contacts_owner_set(
        workspace=officina,
        actor=giulia,
        contacts=Contact.objects.for_workspace(officina),
        owner_id=marco.pk,
    )
    assert changed == 5
    (row,) = _rows(officina)
    assert (row.verb, row.changes["contacts"]) == ("contacts.owner_set", 5)


def test_erasing_a_contact_erases_its_history(officina, giulia, luca):
    contact_services.contact_update(
        workspace=officina, actor=giulia, contact=luca, data={"first_name": "Lucas"}
    )
    luca_id = luca.pk
    contact_services.contact_delete(workspace=officina, actor=giulia, contact=luca)
    assert not _rows(officina, contact_id=luca_id)
    (row,) = _rows(officina)
    assert (row.verb, row.object_id, row.changes) == ("contact.delete", luca_id, {})


def test_the_activity_api_is_for_administrators_and_filters(
    client, api, officina, ferramenta, giulia, bruno, luca
):
    assert api.get("/activity").status_code == 403  # Giulia is a marketer
    core_services.membership_set(workspace=officina, user=giulia, role=Role.ADMIN)
    contact_services.consent_set(
        workspace=officina,
        actor=giulia,
        contact=luca,
        purpose="email_marketing",
        status="granted",
        source="manual",
    )
    other = contact_services.contact_create(
        workspace=ferramenta, actor=bruno, data={"email": "x@ferramentabianchi.it"}
    )
    assert other.pk
    body = api.get("/activity", contact_id=luca.pk).json()
    assert [item["verb"] for item in body["items"]] == ["consent.set", "contact.create"]
    assert all(item["contact_id"] == luca.pk for item in body["items"])
    body = api.get("/activity", verb="consent.set").json()
    assert body["count"] == 1
    assert body["items"][0]["actor_user_id"] == giulia.pk
    every = api.get("/activity").json()["items"]
    assert "x@ferramentabianchi.it" not in str(every)  # another workspace's rows never show


def test_the_settings_page_lists_the_workspaces_activity_with_filters(
    client, officina, giulia, marco, luca
):
    client.force_login(giulia)
    assert client.get(reverse("activity")).status_code == 403  # administrators only
    core_services.membership_set(workspace=officina, user=giulia, role=Role.ADMIN)
    contact_services.consent_set(
        workspace=officina,
        actor=marco,
        contact=luca,
        purpose="email_marketing",
        status="granted",
        source="manual",
    )

    def table(params=None):
        html = client.get(reverse("activity"), params or {}).content.decode()
        return html[html.index("<tbody>") : html.index("</tbody>")]

    rows = table()
    assert "recorded a consent decision" in rows and "created the contact" in rows
    assert "marco@officinarossi.it" in rows
    rows = table({"verb": "consent.set"})
    assert "recorded a consent decision" in rows and "created the contact" not in rows
    rows = table({"actor": giulia.pk})
    assert "created the contact" in rows and "recorded a consent decision" not in rows


def test_a_stage_change_and_a_rule_save_record_who(officina, giulia, luca):
    from volano.lifecycle.services import stage_set, threshold_rule_save

    stage_set(workspace=officina, actor=giulia, contact=luca, stage="mql")
    (row,) = _rows(officina, verb="stage.set")
    assert (row.actor_user, row.contact_id) == (giulia, luca.pk)
    assert row.changes["lifecycle_stage"] == ["lead", "mql"]
    threshold_rule_save(
        workspace=officina,
        actor=None,
        data={
            "name": "Email → MQL",
            "from_stages": ["lead"],
            "to_stage": "mql",
            "condition": {"field": "email", "op": "is_set"},
        },
    )
    (row,) = _rows(officina, verb="threshold_rule.save")
    assert row.actor_kind == ActorKind.SYSTEM
    assert row.changes["name"] == [None, "Email → MQL"]


def test_a_merge_keeps_the_duplicates_history_on_the_survivor(officina, giulia, luca):
    from volano.contacts.merge import contact_merge

    copy = contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "luca.bis@example.it"}
    )
    contact_merge(workspace=officina, actor=giulia, survivor=luca, duplicate=copy)
    verbs = sorted(r.verb for r in _rows(officina, contact_id=luca.pk))
    assert verbs == ["contact.create", "contact.create", "contact.merge"]


def test_an_api_order_and_a_list_record_who(api, officina, giulia, luca):
    from volano.segments.services import list_create, list_delete

    response = api.post(
        "/orders",
        {
            "number": "A-1",
            "email": luca.email,
            "ordered_at": "2026-03-01T10:00:00Z",
            "lines": [{"sku": "R-1", "product_name": "Filtro", "quantity": 1, "unit_price": "10"}],
        },
    )
    assert response.status_code in (200, 201), response.content
    (row,) = _rows(officina, verb="order.create")
    assert (row.actor_kind, row.actor_user, row.contact_id) == (ActorKind.TOKEN, giulia, luca.pk)
    contact_list = list_create(workspace=officina, actor=giulia, slug="vip", name="VIP")
    list_delete(workspace=officina, actor=giulia, contact_list=contact_list)
    assert [r.verb for r in _rows(officina, verb__startswith="list.")] == [
        "list.create",
        "list.delete",
    ]


def test_list_membership_writes_record_who_did_them(officina, giulia, luca):
    from volano.contacts.models import Contact
    from volano.segments.services import (
        list_add,
        list_add_contacts,
        list_add_emails,
        list_create,
        list_remove,
    )

    contact_list = list_create(workspace=officina, actor=giulia, slug="vip2", name="VIP")
    assert (
        list_add(workspace=officina, actor=giulia, contact_list=contact_list, contact_ids=[luca.pk])
        == 1
    )
    assert (
        list_remove(
            workspace=officina, actor=giulia, contact_list=contact_list, contact_ids=[luca.pk]
        )
        == 1
    )
    added, missing = list_add_emails(
        workspace=officina, actor=giulia, contact_list=contact_list, emails=[luca.email, "x@y.it"]
    )
    assert (added, missing) == (1, ["x@y.it"])
    list_remove(workspace=officina, actor=giulia, contact_list=contact_list, contact_ids=[luca.pk])
    assert (
        list_add_contacts(
            workspace=officina,
            actor=giulia,
            contact_list=contact_list,
            contacts=Contact.objects.for_workspace(officina),
        )
        >= 1
    )
    rows = _rows(officina, verb__in=["list.add", "list.remove"])
    assert [r.verb for r in rows] == [
        "list.add",
        "list.remove",
        "list.add",
        "list.remove",
        "list.add",
    ]
    assert all(r.actor_user == giulia and r.changes["list"] == "vip2" for r in rows)
    # nothing added, nothing recorded
    assert (
        list_add(workspace=officina, actor=giulia, contact_list=contact_list, contact_ids=[luca.pk])
        == 0
    )
    assert len(_rows(officina, verb__in=["list.add", "list.remove"])) == 5


def test_tokens_and_stage_names_record_who_changed_them(officina, giulia):
    from volano.lifecycle.services import stage_rename

    token, _raw = core_services.token_create(workspace=officina, user=giulia, name="crm")
    core_services.token_revoke(workspace=officina, actor=giulia, token_id=token.pk)
    core_services.token_revoke(workspace=officina, actor=giulia, token_id=token.pk)  # no-op
    stage_rename(workspace=officina, actor=giulia, stage="lead", name="Contatto caldo")
    stage_rename(workspace=officina, actor=giulia, stage="lead", name="")
    rows = _rows(officina, verb__in=["token.create", "token.revoke", "stage.rename"])
    assert [r.verb for r in rows] == [
        "token.create",
        "token.revoke",
        "stage.rename",
        "stage.rename",
    ]
    assert all(r.actor_user == giulia for r in rows)
    assert rows[3].changes == {"stage": "lead", "name": None}


def test_product_lines_and_products_record_who_changed_them(officina, giulia):
    from volano.deals.services import product_line_delete, product_line_save, product_save

    line = product_line_save(
        workspace=officina, actor=giulia, data={"slug": "pezzi", "name": "Pezzi"}
    )
    product_save(
        workspace=officina,
        actor=giulia,
        data={"sku": "P-1", "name": "Pompa", "product_line": "pezzi", "price": "10"},
    )
    spare = product_line_save(
        workspace=officina, actor=giulia, data={"slug": "vuota", "name": "Vuota"}
    )
    product_line_delete(workspace=officina, actor=giulia, line=spare)
    rows = _rows(officina, verb__startswith="product")
    assert [r.verb for r in rows] == [
        "product_line.save",
        "product.save",
        "product_line.save",
        "product_line.delete",
    ]
    assert all(r.actor_user == giulia for r in rows)
    assert rows[0].object_id == line.pk and rows[1].changes["sku"] == "P-1"


def test_memberships_record_who_changed_them(officina, giulia):
    from volano.core.models import User

    marco = User.objects.create_user(email="marco@example.it", password="x-long-password-1")
    core_services.membership_set(workspace=officina, user=marco, role=Role.VIEWER)
    core_services.membership_remove(workspace=officina, actor=giulia, user=marco)
    rows = _rows(officina, verb__startswith="membership.")
    assert [(r.verb, r.actor_user) for r in rows] == [("membership.remove", giulia)]


def test_every_verb_the_code_records_has_a_label():
    """The activity page names each change in words ("ha creato un modello email"), never its code."""
    import pathlib
    import re

    from volano.core.models import VERB_LABELS

    root = pathlib.Path(__file__).resolve().parents[2]
    recorded = set()
    for path in root.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if "verb=" in line and "verb=f" not in line:
                recorded |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', line))
    assert "email_template.updated" in recorded  # the scan sees both arms of a conditional
    assert sorted(recorded - set(VERB_LABELS)) == []


def test_activity_lines_name_each_field_in_the_users_language(officina):
    from django.utils import translation

    from volano.core.models import Activity

    row = Activity(
        workspace=officina,
        verb="assignment.create",
        changes={"rep": [None, "marco@officinarossi.it"], "active": True, "custom_key": 3},
    )
    with translation.override("it"):
        assert row.changes_lines == [
            "commerciale: — → marco@officinarossi.it",
            "attivo: sì",
            "custom_key: 3",
        ]
    with translation.override("en"):
        assert row.changes_lines[0] == "sales rep: — → marco@officinarossi.it"

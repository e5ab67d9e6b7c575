"""Every page and every API operation, for every role, against the permission table.

The routes come from Django's URL resolver and from the API's own URL patterns (as
test_api_isolation.py finds them), so a page or an operation added later fails here until it
is classified in volano/core/permissions.py. Besides agreeing with the table, the answers
must keep the promises of docs/roles.md that do not depend on it: a viewer changes nothing
(only previews and their own account), and a sales rep saves no score model, segment, import
or workspace setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from volano.core import services
from volano.core.models import Role
from volano.core.permissions import API_OPERATIONS, CAPABILITIES, Cap, roles_table_markdown
from volano.core.tests.test_api_isolation import api_routes

pytestmark = pytest.mark.django_db

# Django's own pages: the language switch (a cookie, nothing of a workspace).
DJANGO_PUBLIC = {"set_language"}
# The only things a viewer may POST: read-only previews, their own account and marking their
# own notifications read.
VIEWER_MAY_POST = {Cap.PREVIEW, Cap.OWN_ACCOUNT, Cap.OWN_NOTIFICATIONS}
DUMMY = {"int": "999999", "slug": "nessuno", "str": "nessuno", "path": "nessuno"}


def ui_patterns(resolver=None, prefix: str = "", namespace: str = ""):
    """(name, route with dummy values, view) for every page outside the API."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "api":
                continue
            child_ns = ":".join(p for p in (namespace, entry.namespace) if p)
            yield from ui_patterns(entry, prefix + str(entry.pattern), child_ns)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            url = "/" + re.sub(
                r"<(?:(\w+):)?(\w+)>", lambda m: DUMMY.get(m.group(1) or "str", "1"), route
            )
            name = ":".join(p for p in (namespace, entry.name or "") if p)
            yield name, url, entry.callback


@pytest.fixture
def people(officina, giulia, marco):
    anna = services.user_create(email="anna@officinarossi.it", password="anna-pass-2026")
    services.membership_set(workspace=officina, user=anna, role=Role.ADMIN)
    vera = services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    services.membership_set(workspace=officina, user=vera, role=Role.VIEWER)
    return {Role.ADMIN: anna, Role.MARKETER: giulia, Role.SALES: marco, Role.VIEWER: vera}


def test_every_page_is_classified():
    unclassified = [
        name
        for name, _url, view in ui_patterns()
        if getattr(view, "capabilities", None) is None and name.split(":")[-1] not in DJANGO_PUBLIC
    ]
    assert len(list(ui_patterns())) > 80
    assert not unclassified, f"classify these pages in volano/core/permissions.py: {unclassified}"


def expected_page(view, method: str, role: str) -> str:
    caps = view.capabilities
    cap = caps["read"] if method == "GET" else caps["write"]
    if cap is None:
        return "405"
    return "allow" if role in CAPABILITIES[cap][0] else "403"


def test_every_page_answers_each_role_as_the_table_says(client, people):
    checked = 0
    for name, url, view in ui_patterns():
        if not isinstance(getattr(view, "capabilities", None), dict):
            continue  # public and signed-in-only pages: no role involved
        for role, user in people.items():
            client.force_login(user)
            for method in ("GET", "POST"):
                expected = expected_page(view, method, role)
                response = client.get(url) if method == "GET" else client.post(url, {})
                where = f"{role} {method} {url} ({name}) → {response.status_code}"
                if expected == "allow":
                    assert response.status_code not in (403, 405), where
                    assert response.status_code < 500, where
                else:
                    assert response.status_code == int(expected), where
                if role == Role.VIEWER and method == "POST" and expected == "allow":
                    assert view.capabilities["write"] in VIEWER_MAY_POST, where
                checked += 1
    assert checked > 600


def test_the_ui_hides_what_a_rep_and_a_viewer_cannot_do(client, people):
    client.force_login(people[Role.SALES])
    nav = client.get(reverse("home")).content.decode()
    for hidden in ("segments:list", "scoring:models", "imports:list", "handoff:settings", "outbox"):
        assert f'href="{reverse(hidden)}"' not in nav, hidden
    for shown in ("contacts:list", "deals:board", "handoff:leads", "team", "tokens", "goals:list"):
        assert f'href="{reverse(shown)}"' in nav, shown
    client.force_login(people[Role.VIEWER])
    nav = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("segments:list")}"' in nav  # a viewer reads the marketing side
    assert f'href="{reverse("handoff:settings")}"' not in nav  # an editing page


def test_a_rep_cannot_save_a_score_model_a_segment_an_import_or_settings(client, people):
    client.force_login(people[Role.SALES])
    refused = [
        (reverse("scoring:model_new"), {"slug": "mio", "name": "Mio"}),
        (
            reverse("segments:new"),
            {"name": "Mio", "definition": '{"field": "email", "op": "is_set"}'},
        ),
        (reverse("imports:upload"), {"kind": "contacts"}),
        (reverse("contacts:custom_fields"), {"key": "mio", "label": "Mio", "type": "text"}),
        (reverse("handoff:settings_save"), {}),
        (reverse("lifecycle:stages"), {"stage": "mql", "name": "Caldo"}),
        (reverse("team"), {"email": "x@y.it", "role": "admin"}),
        (reverse("goals:list"), {"name": "Mio", "metric": "sqls", "target": "5"}),
    ]
    for url, data in refused:
        assert client.post(url, data).status_code == 403, url


def api_call(client, raw: str, method: str, route: str):
    url = "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", "999999", route)
    headers = {"Authorization": f"Bearer {raw}"}
    if method in ("GET", "DELETE"):
        return client.generic(method, url, headers=headers)
    return client.generic(method, url, "{}", content_type="application/json", headers=headers)


def test_every_api_operation_is_classified():
    routes = set(api_routes())
    assert not routes - set(API_OPERATIONS), "classify in volano/core/permissions.py"
    stale = set(API_OPERATIONS) - routes
    assert not stale, f"API_OPERATIONS names routes that do not exist: {stale}"


def test_every_api_operation_answers_each_role_as_the_table_says(client, officina, people):
    tokens = {
        role: services.token_create(workspace=officina, user=user)[1]
        for role, user in people.items()
    }
    for method, route in api_routes():
        capability = API_OPERATIONS[(method, route)]
        for role, raw in tokens.items():
            response = api_call(client, raw, method, route)
            where = f"{role} {method} {route} → {response.status_code} {response.content[:200]}"
            assert response.status_code < 500, where
            if role in CAPABILITIES[capability][0]:
                assert response.status_code != 403, where
            else:
                assert response.status_code == 403, where
            if role == Role.VIEWER and method != "GET":
                assert response.status_code == 403 or capability in VIEWER_MAY_POST, where


def test_an_unclassified_api_operation_is_refused(client, officina, people, monkeypatch):
    from volano.core import permissions

    _token, raw = services.token_create(workspace=officina, user=people[Role.ADMIN])
    monkeypatch.delitem(permissions.API_OPERATIONS, ("GET", "contacts"))
    response = api_call(client, raw, "GET", "contacts")
    assert response.status_code == 403
    assert "not classified" in response.json()["error"]["message"]


def test_docs_roles_table_is_the_permission_table():
    docs = Path(__file__).resolve().parents[3] / "docs" / "roles.md"
    assert roles_table_markdown() in docs.read_text(), (
        "docs/roles.md is out of date: paste volano.core.permissions.roles_table_markdown()"
    )

"""What each role may do: one table of capabilities, checked in one place for pages and the API.

A page says which capability it needs with `@requires(read=…, write=…)` (GET/HEAD need `read`,
any other method `write`; a method with no capability is 405), or `@public` for the pages
anyone may open (signing in, the tracking endpoints). An API operation is classified in
`API_OPERATIONS` by its method and route, and `api_check` (called by the API's token auth)
refuses what the token's role may not do. A route that is not classified is refused for
everyone, and `test_permissions.py` walks every page and API route for every role, so a new
route fails its tests until it is classified here.

The UI hides what a role cannot do through the `can` template variable (`{% if can.edit_marketing
%}`), from the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.core.errors import PermissionDenied
from volano.core.models import Role

View = Callable[..., HttpResponseBase]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Cap(StrEnum):
    """A thing a member may do. The roles holding each are in CAPABILITIES."""

    VIEW_DATA = "view_data"
    VIEW_MARKETING = "view_marketing"
    PREVIEW = "preview"
    OWN_ACCOUNT = "own_account"
    OWN_NOTIFICATIONS = "own_notifications"
    TOKENS_BY_API = "tokens_by_api"
    EDIT_CONTACTS = "edit_contacts"
    EDIT_DEALS = "edit_deals"
    WORK_LEADS = "work_leads"
    EXPORT = "export"
    EDIT_MARKETING = "edit_marketing"
    READ_OUTBOX = "read_outbox"
    MANAGE_WORKSPACE = "manage_workspace"


ADMIN, MARKETER, SALES, VIEWER = Role.ADMIN, Role.MARKETER, Role.SALES, Role.VIEWER

# capability -> (the roles that hold it, what it covers: the docs table's wording)
CAPABILITIES: dict[Cap, tuple[frozenset[str], object]] = {
    Cap.VIEW_DATA: (
        frozenset({ADMIN, MARKETER, SALES, VIEWER}),
        gettext_lazy(
            "See the overview, contacts, companies, deals, products, leads, the funnel and the team"
        ),
    ),
    Cap.VIEW_MARKETING: (
        frozenset({ADMIN, MARKETER, VIEWER}),
        gettext_lazy(
            "See the marketing settings: segments, lists, personas, lead scoring, imports, "
            "forms and tracking, custom fields, lifecycle stages, lead assignment rules"
        ),
    ),
    Cap.PREVIEW: (
        frozenset({ADMIN, MARKETER, SALES, VIEWER}),
        gettext_lazy("Run read-only previews (a segment's count, a score model's effect)"),
    ),
    Cap.OWN_ACCOUNT: (
        frozenset({ADMIN, MARKETER, SALES, VIEWER}),
        gettext_lazy(
            "Change their own password; create and revoke their own API tokens; save their own "
            "dashboards"
        ),
    ),
    Cap.OWN_NOTIFICATIONS: (
        frozenset({ADMIN, MARKETER, SALES, VIEWER}),
        gettext_lazy("Read their own notifications and mark them as read"),
    ),
    Cap.TOKENS_BY_API: (
        frozenset({ADMIN, MARKETER, SALES}),
        gettext_lazy(
            "Create and revoke their own API tokens through the API (a viewer's token cannot "
            "make more tokens)"
        ),
    ),
    Cap.EDIT_CONTACTS: (
        frozenset({ADMIN, MARKETER, SALES}),
        gettext_lazy(
            "Create and edit contacts and companies, record consent, log activities, "
            "change a contact's stage, merge duplicates"
        ),
    ),
    Cap.EDIT_DEALS: (
        frozenset({ADMIN, MARKETER, SALES}),
        gettext_lazy("Create deals and move them between stages; edit products"),
    ),
    Cap.WORK_LEADS: (
        frozenset({ADMIN, MARKETER, SALES}),
        gettext_lazy("Accept or reject assigned leads"),
    ),
    Cap.EXPORT: (
        frozenset({ADMIN, MARKETER}),
        gettext_lazy("Export segments and lists to CSV or Excel"),
    ),
    Cap.EDIT_MARKETING: (
        frozenset({ADMIN, MARKETER}),
        gettext_lazy(
            "Save segments, lists, score models and threshold rules; import files; edit forms, "
            "custom fields and lead assignment rules; recompute scores, train the predictive model"
        ),
    ),
    Cap.READ_OUTBOX: (
        frozenset({ADMIN, MARKETER}),
        gettext_lazy("Read the outbox of emails sent on behalf of the workspace"),
    ),
    Cap.MANAGE_WORKSPACE: (
        frozenset({ADMIN}),
        gettext_lazy(
            "Invite and remove members, change roles and territories, rename lifecycle stages, "
            "see and revoke every API token of the workspace"
        ),
    ),
}


def allows(role: str | None, capability: Cap) -> bool:
    return role is not None and role in CAPABILITIES[capability][0]


def capabilities_of(membership) -> dict[str, bool]:
    """{capability: may} for a membership (None: nothing), for templates: `can.edit_marketing`."""
    role = getattr(membership, "role", None)
    return {cap.value: allows(role, cap) for cap in Cap}


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "403.html",
        {"message": _("Your role in this workspace does not allow this.")},
        status=403,
    )


def requires(read: Cap | None = None, *, write: Cap | None = None) -> Callable[[View], View]:
    """Signed in, a current workspace, and the role holds `read` (GET, HEAD) or `write` (any
    other method). A method the page has no capability for is 405."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            if getattr(request, "workspace", None) is None:
                return render(request, "core/no_workspace.html", status=403)
            needed = read if request.method in SAFE_METHODS else write
            if needed is None:
                allowed = [m for m, c in (("GET", read), ("POST", write)) if c is not None]
                return HttpResponseNotAllowed(allowed)
            if not allows(request.membership.role, needed):  # type: ignore[attr-defined]
                return _forbidden(request)
            return view(request, *args, **kwargs)

        wrapper.capabilities = {"read": read, "write": write}  # type: ignore[attr-defined]
        return wrapper

    return decorator


def signed_in(view: View) -> View:
    """A page for any signed-in person, with or without a workspace (their own account)."""
    wrapper = login_required(view)
    wrapper.capabilities = "signed_in"  # type: ignore[attr-defined]
    return wrapper


def public[AnyView: Callable[..., Any]](view: AnyView) -> AnyView:
    """A page anyone may open, signed in or not (it checks what it needs itself)."""
    view.capabilities = "public"  # type: ignore[attr-defined]
    return view


# Every API operation: (method, route as in the API's URL patterns) -> capability.
R, M, P, C, D, L, E, A = (
    Cap.VIEW_DATA,
    Cap.VIEW_MARKETING,
    Cap.PREVIEW,
    Cap.EDIT_CONTACTS,
    Cap.EDIT_DEALS,
    Cap.WORK_LEADS,
    Cap.EDIT_MARKETING,
    Cap.MANAGE_WORKSPACE,
)
API_OPERATIONS: dict[tuple[str, str], Cap] = {
    ("GET", "contacts"): R,
    ("POST", "contacts"): C,
    ("GET", "contacts/<contact_id>"): R,
    ("GET", "contacts/<contact_id>/value"): R,
    ("GET", "reports/clv"): R,
    ("GET", "reports/stakeholder"): M,
    ("GET", "reports/stakeholder.pdf"): M,
    ("GET", "maturity/questions"): R,
    ("GET", "maturity/assessments"): R,
    ("GET", "maturity/assessments/latest"): R,
    ("POST", "maturity/assessments"): E,
    ("GET", "reports/cohorts"): R,
    ("GET", "reports/related"): R,
    ("GET", "reports/churn-risk"): R,
    ("GET", "surveys"): M,
    ("GET", "surveys/<slug>/results"): M,
    ("POST", "surveys/<slug>/links"): E,
    ("GET", "reports/kpis"): R,
    ("GET", "reports/kpis/<name>"): R,  # a marketing KPI (costs, email) also needs VIEW_MARKETING
    ("GET", "reports/velocity"): R,
    ("GET", "reports/health"): R,
    ("PATCH", "contacts/<contact_id>"): C,
    ("PUT", "contacts/<contact_id>"): C,
    ("DELETE", "contacts/<contact_id>"): C,
    ("GET", "contacts/<contact_id>/events"): R,
    ("PUT", "contacts/<contact_id>/consents/<purpose>"): C,
    ("POST", "contacts/<contact_id>/merge"): C,
    ("GET", "contacts/<contact_id>/customer"): R,
    ("GET", "contacts/<contact_id>/scores"): R,
    ("GET", "contacts/<contact_id>/stage-changes"): R,
    ("GET", "companies"): R,
    ("POST", "companies"): C,
    ("GET", "companies/<company_id>"): R,
    ("PATCH", "companies/<company_id>"): C,
    ("PUT", "companies/<company_id>"): C,
    ("DELETE", "companies/<company_id>"): C,
    ("GET", "custom-fields"): M,
    ("POST", "custom-fields"): E,
    ("POST", "events"): C,
    ("GET", "forms"): M,
    ("POST", "forms"): E,
    ("GET", "forms/<slug>"): M,
    ("PUT", "forms/<slug>"): E,
    ("DELETE", "forms/<slug>"): E,
    ("POST", "orders"): D,
    ("GET", "orders"): R,
    ("GET", "orders/<order_id>"): R,
    ("GET", "segments"): M,
    ("POST", "segments"): E,
    ("POST", "segments/preview"): P,
    ("GET", "segments/<slug>"): M,
    ("PUT", "segments/<slug>"): E,
    ("DELETE", "segments/<slug>"): E,
    ("GET", "segments/<slug>/members"): M,
    ("GET", "segments/<slug>/count"): M,
    ("GET", "lists"): M,
    ("POST", "lists"): E,
    ("GET", "lists/<slug>"): M,
    ("PATCH", "lists/<slug>"): E,
    ("DELETE", "lists/<slug>"): E,
    ("GET", "lists/<slug>/members"): M,
    ("POST", "lists/<slug>/members"): E,
    ("DELETE", "lists/<slug>/members"): E,
    ("GET", "product-lines"): R,
    ("POST", "product-lines"): D,
    ("GET", "products"): R,
    ("POST", "products"): D,
    ("GET", "products/<sku>"): R,
    ("PATCH", "products/<sku>"): D,
    ("GET", "deals"): R,
    ("POST", "deals"): D,
    ("GET", "deals/<deal_id>"): R,
    ("PATCH", "deals/<deal_id>"): D,
    ("DELETE", "deals/<deal_id>"): D,
    ("POST", "deals/<deal_id>/stage"): D,
    ("GET", "score-models"): M,
    ("POST", "score-models"): E,
    ("POST", "score-models/preview"): P,
    ("GET", "score-models/<slug>"): M,
    ("PUT", "score-models/<slug>"): E,
    ("DELETE", "score-models/<slug>"): E,
    ("POST", "scoring/recompute"): E,
    ("POST", "scoring/train"): E,
    ("GET", "scoring/train/<job>"): M,
    ("GET", "lifecycle/stages"): R,
    ("PUT", "lifecycle/stages/<stage>"): A,
    ("GET", "threshold-rules"): M,
    ("POST", "threshold-rules"): E,
    ("GET", "threshold-rules/<threshold_rule_id>"): M,
    ("PUT", "threshold-rules/<threshold_rule_id>"): E,
    ("DELETE", "threshold-rules/<threshold_rule_id>"): E,
    ("GET", "reports/funnel"): R,
    ("GET", "email-templates"): M,
    ("POST", "email-templates"): E,
    ("GET", "email-templates/<slug>"): M,
    ("PUT", "email-templates/<slug>"): E,
    ("PATCH", "email-templates/<slug>"): E,
    ("DELETE", "email-templates/<slug>"): E,
    ("GET", "email-templates/<slug>/preview"): M,
    ("GET", "workflows"): M,
    ("POST", "workflows"): E,
    ("GET", "workflows/<workflow_id>"): M,
    ("PUT", "workflows/<workflow_id>"): E,
    ("POST", "workflows/<workflow_id>/publish"): E,
    ("POST", "workflows/<workflow_id>/pause"): E,
    ("POST", "workflows/<workflow_id>/enrol"): E,
    ("POST", "workflows/<workflow_id>/replay"): P,  # a read-only preview: sends, writes nothing
    ("GET", "campaigns"): M,
    ("POST", "campaigns"): E,
    ("GET", "campaigns/<campaign_id>"): M,
    ("PUT", "campaigns/<campaign_id>"): E,
    ("DELETE", "campaigns/<campaign_id>"): E,
    ("GET", "content"): M,
    ("POST", "content"): E,
    ("GET", "content/<content_id>"): M,
    ("PUT", "content/<content_id>"): E,
    ("GET", "channel-rules"): M,
    ("PUT", "channel-rules"): E,
    ("GET", "channel-rules/test"): M,
    ("POST", "utm"): P,
    ("POST", "budgets/model"): E,
    ("GET", "budgets/models"): M,
    ("POST", "budgets/optimise"): P,
    ("POST", "budgets/whatif"): P,
    ("GET", "goals"): R,
    ("POST", "goals"): E,
    ("GET", "goals/metrics"): R,
    ("GET", "goals/<goal_id>"): R,
    ("PUT", "goals/<goal_id>"): E,
    ("DELETE", "goals/<goal_id>"): E,
    ("GET", "goals/<goal_id>/progress"): R,
    ("GET", "budgets/plan-templates"): M,
    ("GET", "budgets/plans"): M,
    ("POST", "budgets/plans"): E,
    ("GET", "budgets/plans/<plan_id>"): M,
    ("PATCH", "budgets/plans/<plan_id>"): E,
    ("DELETE", "budgets/plans/<plan_id>"): E,
    ("POST", "budgets/plans/<plan_id>/lines"): E,
    ("PATCH", "budgets/plans/<plan_id>/lines/<line_id>"): E,
    ("DELETE", "budgets/plans/<plan_id>/lines/<line_id>"): E,
    ("POST", "budgets/plans/<plan_id>/rebalance"): E,
    ("GET", "budgets/plans/<plan_id>/figures"): M,
    ("GET", "budgets/plans/<plan_id>/reviews"): M,
    ("POST", "budgets/plans/<plan_id>/reviews"): E,
    ("GET", "budgets/plans/<plan_id>/versions"): M,
    ("GET", "budgets/plans/<plan_id>/versions/<number>"): M,
    ("GET", "budgets/plans/<plan_id>/export"): M,
    ("GET", "budgets/time-logs"): M,
    ("POST", "budgets/time-logs"): E,
    ("DELETE", "budgets/time-logs/<log_id>"): E,
    ("GET", "attribution"): M,
    ("GET", "attribution/roi"): M,
    ("GET", "costs"): M,
    ("POST", "costs/import"): E,
    ("GET", "costs/manual"): M,
    ("POST", "costs/manual"): E,
    ("PUT", "costs/manual/<cost_id>"): E,
    ("DELETE", "costs/manual/<cost_id>"): E,
    ("GET", "campaigns/reports/<name>"): M,
    ("GET", "broadcasts"): M,
    ("POST", "broadcasts"): E,
    ("GET", "broadcasts/<broadcast_id>"): M,
    ("POST", "broadcasts/<broadcast_id>/send"): E,
    ("POST", "broadcasts/<broadcast_id>/cancel"): E,
    ("GET", "email-policy"): M,
    ("PUT", "email-policy"): E,
    ("GET", "assignment-rules"): M,
    ("POST", "assignment-rules"): E,
    ("GET", "assignment-rules/<rule_id>"): M,
    ("PUT", "assignment-rules/<rule_id>"): E,
    ("DELETE", "assignment-rules/<rule_id>"): E,
    ("GET", "handoff/settings"): M,
    ("PUT", "handoff/settings"): E,
    ("GET", "assignments"): R,
    ("POST", "assignments/<assignment_id>/accept"): L,
    ("POST", "assignments/<assignment_id>/reject"): L,
    ("GET", "notifications"): Cap.OWN_NOTIFICATIONS,
    ("POST", "notifications/<notification_id>/read"): Cap.OWN_NOTIFICATIONS,
    ("GET", "tokens"): Cap.OWN_ACCOUNT,
    ("POST", "tokens"): Cap.TOKENS_BY_API,
    ("DELETE", "tokens/<token_id>"): Cap.TOKENS_BY_API,
    ("GET", "activity"): A,
    ("GET", "members"): R,
    ("PATCH", "members/<user_id>"): A,
    ("DELETE", "members/<user_id>"): A,
    ("GET", "invitations"): A,
    ("POST", "invitations"): A,
    ("DELETE", "invitations/<invitation_id>"): A,
}
del R, M, P, C, D, L, E, A


def api_operation(request: HttpRequest) -> tuple[str, str]:
    """(method, route) of an API request, the key of API_OPERATIONS."""
    match = request.resolver_match
    route = str(match.tried[-1][-1].pattern) if match is not None and match.tried else ""
    return request.method or "", route


def api_check(request: HttpRequest, role: str) -> None:
    """Raise PermissionDenied (403) unless the role may call this API operation."""
    method, route = api_operation(request)
    capability = API_OPERATIONS.get((method, route))
    if capability is None:
        raise PermissionDenied(
            _("%(method)s %(route)s is not classified in the permission table")
            % {"method": method, "route": route}
        )
    if not allows(role, capability):
        if role == Role.VIEWER:
            raise PermissionDenied(_("this token's user has read-only access (viewer)"))
        raise PermissionDenied(
            _("this token's user is a %(role)s: this operation needs “%(capability)s”")
            % {"role": Role(role).label, "capability": capability.value}
        )


def roles_table_markdown() -> str:
    """The table of docs/roles.md, from CAPABILITIES (a test keeps the two the same)."""
    from django.utils import translation

    roles = list(Role)
    with translation.override("en"):
        header = "| What | " + " | ".join(str(role.label) for role in roles) + " |"
        lines = [header, "|---" * (len(roles) + 1) + "|"]
        for cap, (holders, text) in CAPABILITIES.items():
            marks = " | ".join("✓" if role in holders else "—" for role in roles)
            lines.append(f"| {text} (`{cap.value}`) | {marks} |")
    return "\n".join(lines) + "\n"

"""Reads of the maturity self-assessment: the latest placing, the history, and what to do next.

The next steps are Volano capabilities in the order seed 000's levels call for them, each with
the page that switches it on and a check of whether this workspace already uses it (one cheap
`exists()` a step, scoped to the workspace). A step belongs to the level it leads to: from level 2
the next steps are the level-3 ones (collect leads with a form and consent, segment before
sending, replace broadcasts with a nurturing workflow…).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from volano.budgets.models import ResponseModel
from volano.campaigns.models import CostEntry
from volano.contacts.models import Contact
from volano.core.models import Workspace
from volano.emails.models_broadcasts import Broadcast
from volano.events.models import Event, Form
from volano.lifecycle.models import StageChange
from volano.maturity.models import Assessment
from volano.reports.models import ValueModel
from volano.scoring.models import ScoreModel
from volano.segments.models import Segment, SegmentKind
from volano.workflows.models import Workflow, WorkflowStatus


@dataclass(frozen=True)
class Step:
    key: str
    level: int  # the level this step leads to
    title: Promise
    why: Promise
    url_name: str
    in_use: Callable[[Workspace], bool]


def _any(queryset: QuerySet) -> bool:
    return queryset.exists()


STEPS: tuple[Step, ...] = (
    Step(
        "import_contacts",
        2,
        _("Bring in the contacts you already have"),
        _("Customers and prospects from spreadsheets and mailboxes, de-duplicated in one place."),
        "imports:list",
        lambda ws: _any(Contact.objects.for_workspace(ws)),
    ),
    Step(
        "tracking",
        2,
        _("Put the tracking snippet on your website"),
        _("See which pages people read before they write to you."),
        "tracking_setup",
        lambda ws: _any(Event.objects.for_workspace(ws).filter(type="page_view")),
    ),
    Step(
        "first_email",
        2,
        _("Send your first newsletter"),
        _("A regular email keeps the people who know you in touch with you."),
        "emails:broadcasts",
        lambda ws: _any(Broadcast.objects.for_workspace(ws)),
    ),
    Step(
        "lead_form",
        3,
        _("Collect leads with a form and consent"),
        _("Every download or request becomes a contact, with the proof of consent kept."),
        "tracking_forms",
        lambda ws: _any(Form.objects.for_workspace(ws).filter(asks_email_consent=True)),
    ),
    Step(
        "segments",
        3,
        _("Segment before you send"),
        _("Send each group what it is interested in, instead of the same email to everybody."),
        "segments:list",
        lambda ws: _any(Segment.objects.for_workspace(ws).filter(kind=SegmentKind.SEGMENT)),
    ),
    Step(
        "nurturing",
        3,
        _("Replace broadcasts with a nurturing workflow"),
        _("A sequence that follows your content plan and starts on its own for every new lead."),
        "workflows:list",
        lambda ws: _any(Workflow.objects.for_workspace(ws).filter(status=WorkflowStatus.PUBLISHED)),
    ),
    Step(
        "campaign_costs",
        3,
        _("Track your campaigns and what they cost"),
        _("Import the ad costs so every channel can be judged on what it returns."),
        "campaigns:costs",
        lambda ws: _any(CostEntry.objects.for_workspace(ws)),
    ),
    Step(
        "lifecycle",
        3,
        _("Follow leads through the funnel"),
        _("Stages from subscriber to customer show where people stop."),
        "lifecycle:funnel",
        lambda ws: _any(StageChange.objects.for_workspace(ws)),
    ),
    Step(
        "scoring",
        4,
        _("Score leads and hand the best to sales"),
        _("Behaviour and fit decide who is ready, so sales call the right people first."),
        "scoring:models",
        lambda ws: _any(ScoreModel.objects.for_workspace(ws).filter(active=True)),
    ),
    Step(
        "personas",
        4,
        _("Describe your personas"),
        _("Content and messages chosen for each kind of customer, across every channel."),
        "segments:personas",
        lambda ws: _any(Segment.objects.for_workspace(ws).filter(kind=SegmentKind.PERSONA)),
    ),
    Step(
        "attribution",
        4,
        _("See which channels bring the revenue"),
        _("Attribution across every touch of each customer's journey, with the return on spend."),
        "attribution:page",
        lambda ws: (
            _any(CostEntry.objects.for_workspace(ws))
            and _any(StageChange.objects.for_workspace(ws))
        ),
    ),
    Step(
        "budget",
        4,
        _("Plan the budget from response curves"),
        _("Move money to the channels where one more euro returns most."),
        "budgets:response",
        lambda ws: _any(ResponseModel.objects.for_workspace(ws)),
    ),
    Step(
        "customer_value",
        4,
        _("Know what each customer is worth and who is drifting away"),
        _("Lifetime value and the probability each customer is still active."),
        "reports:customer_value",
        lambda ws: _any(ValueModel.objects.for_workspace(ws)),
    ),
)


def assessment_latest(workspace: Workspace) -> Assessment | None:
    return Assessment.objects.for_workspace(workspace).order_by("-taken_at", "-id").first()


def assessment_history(workspace: Workspace, limit: int = 24) -> list[Assessment]:
    """The latest `limit` takings, oldest first (for the progress chart)."""
    rows = list(Assessment.objects.for_workspace(workspace).order_by("-taken_at", "-id")[:limit])
    return rows[::-1]


# What to do about a factor that holds the company back (seed 000: the three factors decide how
# far its digital marketing can go), each with the page of Volano that helps with it.
FACTOR_STEPS: dict[str, tuple[Promise, Promise, str]] = {
    "competence": (
        _("Set measurable goals and read the board's report every month"),
        _("Management that sees marketing as a lever for growth plans it against targets."),
        "goals:list",
    ),
    "people": (
        _("Give the marketing to a named person, with an account of their own"),
        _("The next level needs someone trained who does only digital marketing."),
        "team",
    ),
    "budget": (
        _("Plan a yearly marketing budget, 70/20/10"),
        _("Enough budget for several channels, planned and compared with what it returns."),
        "budgets:plans",
    ),
}


def next_steps(
    workspace: Workspace, overall: int, factor_levels: dict[str, int] | None = None
) -> dict[str, list[dict]]:
    """The capabilities to switch on, in order: `now` (the gaps up to the next level), `later`
    (the levels after it) and `in_use` (already switched on); and `factors`: for each factor
    at or below the company's level (below 4), what to do about it and the page that helps.
    The page puts `factors` first when every capability up to the next level is in use: then
    the factors are what holds the company back."""
    out: dict[str, list[dict]] = {"now": [], "later": [], "in_use": [], "factors": []}
    for key, level in sorted((factor_levels or {}).items(), key=lambda kv: kv[1]):
        if key in FACTOR_STEPS and level <= overall < 4:
            title, why, url_name = FACTOR_STEPS[key]
            out["factors"].append(
                {
                    "key": f"factor_{key}",
                    "level": level + 1,
                    "title": str(title),
                    "why": str(why),
                    "url": reverse(url_name),
                    "in_use": False,
                }
            )
    for step in STEPS:
        row = {
            "key": step.key,
            "level": step.level,
            "title": str(step.title),
            "why": str(step.why),
            "url": reverse(step.url_name),
            "in_use": step.in_use(workspace),
        }
        if row["in_use"]:
            out["in_use"].append(row)
        elif step.level <= overall + 1:
            out["now"].append(row)
        else:
            out["later"].append(row)
    return out

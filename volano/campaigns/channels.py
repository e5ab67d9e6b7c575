"""Channel groups: which of GA4's default channel groups a touch belongs to, set-based in SQL
and, for one value, in Python, by the same rules.

What the rules read, for an event (`touch_source`, `touch_medium`, `touch_campaign`, and
`touch_values` for one event in Python):

- source: the lower-cased `utm_source`; without one, `(direct)` for a website event that carries
  no UTM medium either, else empty;
- medium: the lower-cased `utm_medium`; without one, what the event's channel implies (`email`
  for email events, `offline` for fairs and events, `social`, `paid` for advertising), else
  `(none)`;
- campaign: the lower-cased `utm_campaign`, else the lower-cased `Event.campaign` (the mailing's
  campaign the sending core sets on email events).

A rule's conditions are ANDed; an empty operator is "any value"; `equals` compares with the
lower-cased value; `regex` searches (as Python's `re.search` and PostgreSQL's `~` do) the
lower-cased text. The first rule by position that matches wins; none matching is Unassigned.
Regular expressions are limited to the syntax both databases read alike (see `regex_check`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, Q, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, NullIf
from django.db.models.lookups import Exact, Regex
from django.utils.translation import gettext as _

from volano.campaigns.models import ChannelGroup, ChannelRule, MatchOp
from volano.core.db import UnicodeLower
from volano.core.errors import ApplicationError

SEARCH_SOURCES = (
    r"^(google|bing|yahoo|duckduckgo|ecosia|baidu|yandex|qwant|startpage|search\.brave)"
    r"(\.[a-z.]+)?$"
)
SOCIAL_SOURCES = (
    r"^(facebook|fb|instagram|ig|linkedin|lnkd\.in|twitter|x|t\.co|youtube|tiktok|pinterest"
    r"|meta|reddit|whatsapp|threads)(\.[a-z.]+)?$"
)
PAID_MEDIUMS = r"^(.*cp.*|ppc|retargeting|paid.*)$"
EMAIL_VALUES = r"^(email|e-mail|e_mail|e mail|newsletter|volano)$"
SOCIAL_MEDIUMS = r"^(social|social-network|social-media|sm|social network|social media)$"
OFFLINE_MEDIUMS = r"^(offline|event|events|fair|fiera|print|qr|qrcode|trade-show)$"
DISPLAY_MEDIUMS = r"^(display|banner|expandable|interstitial|cpm)$"

# The channel a stored event says it came through → the medium it implies without UTM tags.
CHANNEL_MEDIUMS = {"email": "email", "event": "offline", "social": "social", "ads": "paid"}
WEB_CHANNELS = ("web", "shop", "")
DIRECT_SOURCE = "(direct)"
NO_MEDIUM = "(none)"


@dataclass(frozen=True)
class Rule:
    channel_group: str
    source_op: str = ""
    source_value: str = ""
    medium_op: str = ""
    medium_value: str = ""
    campaign_op: str = ""
    campaign_value: str = ""

    def conditions(self) -> list[tuple[str, str, str]]:
        """(part, op, value) for each condition that is set."""
        parts = (
            ("source", self.source_op, self.source_value),
            ("medium", self.medium_op, self.medium_value),
            ("campaign", self.campaign_op, self.campaign_value),
        )
        return [(part, op, value) for part, op, value in parts if op]


G = ChannelGroup
# GA4's default channel group definitions, in GA4's order, adapted: Offline/Events for fairs and
# print (GA4 has no such group), Volano's own emails (utm_source=volano) count as Email.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(G.DIRECT, "equals", DIRECT_SOURCE, "regex", r"^(\(none\)|\(not set\))$"),
    Rule(G.OFFLINE, medium_op="regex", medium_value=OFFLINE_MEDIUMS),
    Rule(G.AFFILIATES, medium_op="equals", medium_value="affiliate"),
    Rule(G.PAID_SEARCH, "regex", SEARCH_SOURCES, "regex", PAID_MEDIUMS),
    Rule(G.PAID_SOCIAL, "regex", SOCIAL_SOURCES, "regex", PAID_MEDIUMS),
    Rule(G.DISPLAY, medium_op="regex", medium_value=DISPLAY_MEDIUMS),
    Rule(G.ORGANIC_SEARCH, "regex", SEARCH_SOURCES),
    Rule(G.ORGANIC_SEARCH, medium_op="equals", medium_value="organic"),
    Rule(G.ORGANIC_SOCIAL, "regex", SOCIAL_SOURCES),
    Rule(G.ORGANIC_SOCIAL, medium_op="regex", medium_value=SOCIAL_MEDIUMS),
    Rule(G.EMAIL, "regex", EMAIL_VALUES),
    Rule(G.EMAIL, medium_op="regex", medium_value=EMAIL_VALUES),
    Rule(G.REFERRAL, medium_op="equals", medium_value="referral"),
)

# Constructs whose meaning differs between Python's re and PostgreSQL's regular expressions, or
# that one of them lacks: refused so a rule means the same on both databases.
_UNPORTABLE = re.compile(r"\\[AZzbBhHQE]|\(\?[PiLmsux<#]|\{,|\\[0-9]")


def regex_check(pattern: str, *, field: str) -> None:
    if _UNPORTABLE.search(pattern):
        raise ApplicationError(
            _("%(pattern)s uses a construct that is not supported here; use ^, $, |, (), [] and *")
            % {"pattern": repr(pattern)},
            field=field,
        )
    try:
        re.compile(pattern)
    except re.error as error:
        raise ApplicationError(
            _("%(pattern)s is not a valid regular expression: %(error)s")
            % {"pattern": repr(pattern), "error": error},
            field=field,
        ) from None


def workspace_rules(workspace: Any) -> tuple[Rule, ...]:
    """The workspace's rules in order, or the defaults when it has none."""
    rows = ChannelRule.objects.for_workspace(workspace).order_by("position", "pk")
    rules = tuple(
        Rule(
            r.channel_group,
            r.source_op,
            r.source_value,
            r.medium_op,
            r.medium_value,
            r.campaign_op,
            r.campaign_value,
        )
        for r in rows
    )
    return rules or DEFAULT_RULES


# -- one value, in Python ---------------------------------------------------------------------


def touch_values(
    *,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    channel: str = "",
    campaign: str = "",
) -> tuple[str, str, str]:
    """(source, medium, campaign) as the rules read them, for one event's stored columns."""
    if utm_source:
        source = utm_source.lower()
    elif not utm_medium and channel in WEB_CHANNELS:
        source = DIRECT_SOURCE
    else:
        source = ""
    medium = utm_medium.lower() if utm_medium else CHANNEL_MEDIUMS.get(channel, NO_MEDIUM)
    return source, medium, (utm_campaign or campaign).lower()


def _matches(op: str, pattern: str, value: str) -> bool:
    if op == MatchOp.EQUALS:
        return value == pattern.lower()
    if op == MatchOp.REGEX:
        return re.search(pattern, value) is not None
    return True


def channel_group_of(
    source: str, medium: str, campaign: str = "", *, rules: tuple[Rule, ...] = DEFAULT_RULES
) -> str:
    """The channel group of one (source, medium, campaign), by the same rules as the SQL."""
    values = {"source": source.lower(), "medium": medium.lower(), "campaign": campaign.lower()}
    for rule in rules:
        if all(_matches(op, pattern, values[part]) for part, op, pattern in rule.conditions()):
            return rule.channel_group
    return ChannelGroup.UNASSIGNED


# -- set-based, in SQL -------------------------------------------------------------------------


def _lower_or_empty(column: str) -> Combinable:
    return Coalesce(UnicodeLower(column), Value(""), output_field=CharField())


def touch_source(prefix: str = "") -> Case:
    """The rules' source as a SQL expression over an Event row (`prefix` reaches an Event
    through a relation, e.g. "event__")."""
    p = prefix
    return Case(
        When(~Q(**{f"{p}utm_source": ""}), then=UnicodeLower(f"{p}utm_source")),
        When(
            Q(**{f"{p}utm_medium": ""}, **{f"{p}channel__in": WEB_CHANNELS}),
            then=Value(DIRECT_SOURCE),
        ),
        default=Value(""),
        output_field=CharField(),
    )


def touch_medium(prefix: str = "") -> Case:
    p = prefix
    return Case(
        When(~Q(**{f"{p}utm_medium": ""}), then=UnicodeLower(f"{p}utm_medium")),
        *(
            When(Q(**{f"{p}channel": channel}), then=Value(medium))
            for channel, medium in CHANNEL_MEDIUMS.items()
        ),
        default=Value(NO_MEDIUM),
        output_field=CharField(),
    )


def touch_campaign(prefix: str = "") -> Combinable:
    p = prefix
    return Coalesce(
        UnicodeLower(NullIf(f"{p}utm_campaign", Value(""))),
        UnicodeLower(f"{p}campaign"),
        Value(""),
        output_field=CharField(),
    )


def _condition(op: str, pattern: str, expression: Combinable) -> Any:
    if op == MatchOp.EQUALS:
        return Exact(expression, Value(pattern.lower()))
    if op == MatchOp.REGEX:
        return Regex(expression, Value(pattern))
    return None


def channel_group_expression(
    workspace: Any = None, *, prefix: str = "", rules: tuple[Rule, ...] | None = None
) -> Case:
    """A CASE expression classifying each Event row of a queryset into its channel group with
    the workspace's rules (the defaults when it has none): `events.annotate(channel_group=
    channel_group_expression(ws))`, then group by it. Identical on SQLite and PostgreSQL."""
    if rules is None:
        rules = workspace_rules(workspace) if workspace is not None else DEFAULT_RULES
    parts = {
        "source": touch_source(prefix),
        "medium": touch_medium(prefix),
        "campaign": touch_campaign(prefix),
    }
    whens = []
    for rule in rules:
        conditions = [
            _condition(op, pattern, parts[part]) for part, op, pattern in rule.conditions()
        ]
        if not conditions:
            whens.append(When(Q(pk__isnull=False), then=Value(rule.channel_group)))
            break
        combined = Q(conditions[0])
        for condition in conditions[1:]:
            combined &= Q(condition)
        whens.append(When(combined, then=Value(rule.channel_group)))
    return Case(*whens, default=Value(ChannelGroup.UNASSIGNED), output_field=CharField())


def channel_group_label(value: str) -> str:
    try:
        return str(ChannelGroup(value).label)
    except ValueError:
        return value


def campaign_key(
    *, utm_campaign: str = "", campaign: str = "", source: str = "", content: str = ""
) -> str:
    """The key an event links to a campaign by, in order: its UTM campaign (lower-cased; a
    Campaign whose `utm_campaign` is equal, case-insensitively, owns it); else the email that
    carried it (`Event.campaign`, the broadcast's or workflow's slug the sending core sets,
    matched the same way); else the form (`source == "form:<slug>"`) or download (`content`)
    it came from, as `form:<slug>` / `content:<slug>` (the ContentAsset with that slug, and
    through it its campaign). Empty when the event names none of them.
    `volano.campaigns.selectors.events_with_campaign` is the same, set-based."""
    if utm_campaign:
        return utm_campaign.lower()
    if campaign:
        return campaign.lower()
    if source.startswith("form:") and len(source) > 5:
        return source.lower()
    if content:
        return f"content:{content.lower()}"
    return ""

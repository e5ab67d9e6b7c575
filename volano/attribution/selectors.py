"""Reads of attribution: the parameters checked once (for the API, the page and the exports),
one model or all seven side by side, and ROI per campaign and per channel under a model."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Sum
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.attribution import cache, daily, engine, journeys
from volano.attribution.journeys import CONVERSIONS, DIMENSIONS
from volano.campaigns.channels import channel_group_label, workspace_rules
from volano.campaigns.costs.selectors import CHANNEL_LEVEL_PREFIX, costs_by_channel_group
from volano.campaigns.models import Campaign, CostEntry
from volano.core.errors import ApplicationError
from volano.core.models import Workspace

MODELS = engine.MODELS
MAX_LOOKBACK_DAYS = 730
MAX_PERIOD_DAYS = 3 * 366

MODEL_LABELS = {
    "first": gettext_lazy("First touch"),
    "last": gettext_lazy("Last touch"),
    "linear": gettext_lazy("Linear"),
    "time_decay": gettext_lazy("Time decay"),
    "position": gettext_lazy("Position-based"),
    "markov": gettext_lazy("Markov chain"),
    "shapley": gettext_lazy("Shapley value"),
}
MODEL_EXPLANATIONS = {
    "first": gettext_lazy("All the credit to the first touch of the journey."),
    "last": gettext_lazy("All the credit to the last touch before the conversion."),
    "linear": gettext_lazy(
        "The credit split equally over every touch: a channel touched twice gets two shares."
    ),
    "time_decay": gettext_lazy(
        "More credit to touches close to the conversion: a touch one half-life earlier "
        "weighs half as much."
    ),
    "position": gettext_lazy(
        "The first and last touches get the most (by default four tenths each), the touches between "
        "share the rest."
    ),
    "markov": gettext_lazy(
        "Data-driven: how much the conversion probability drops when a channel is removed "
        "from every journey, converted or not."
    ),
    "shapley": gettext_lazy(
        "Game theory: each conversion is shared equally among the distinct channels of its journey."
    ),
}
DIMENSION_LABELS = {
    "channel": gettext_lazy("Channel group"),
    "source_medium": gettext_lazy("Source / medium"),
    "campaign": gettext_lazy("Campaign (UTM)"),
    "content": gettext_lazy("Content (UTM)"),
}
CONVERSION_LABELS = {
    "lead": gettext_lazy("Leads created"),
    "mql": gettext_lazy("MQLs"),
    "sql": gettext_lazy("SQLs"),
    "opportunity": gettext_lazy("Opportunities"),
    "customer": gettext_lazy("Customers"),
    "revenue": gettext_lazy("Revenue (won deals and orders)"),
}


@dataclass(frozen=True)
class Query:
    dimension: str = "channel"
    conversion: str = "sql"
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive
    lookback_days: int = 90
    half_life: float = 7.0
    first: float = 0.4
    last: float = 0.4

    @property
    def start_at(self) -> dt.datetime:
        assert self.start is not None
        return _midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        assert self.end is not None
        return _midnight(self.end + dt.timedelta(days=1))


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _choice(value: Any, choices: tuple[str, ...], field: str) -> str:
    text = str(value or "").strip()
    if text not in choices:
        raise ApplicationError(
            _("%(field)s must be one of %(choices)s, not %(value)s")
            % {"field": field, "choices": ", ".join(choices), "value": repr(text)},
            field=field,
        )
    return text


def _number(value: Any, field: str, *, low: float, high: float, default: float) -> float:
    if value in (None, ""):
        return default
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        number = float("nan")
    if not (low <= number <= high):
        raise ApplicationError(
            _("%(field)s must be a number from %(low)s to %(high)s, not %(value)s")
            % {"field": field, "low": low, "high": high, "value": repr(str(value))},
            field=field,
        )
    return number


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ApplicationError(
            _("%(field)s must be a date as YYYY-MM-DD, not %(value)s")
            % {"field": field, "value": repr(str(value))},
            field=field,
        ) from None


def query_parse(params: Any, *, today: dt.date | None = None) -> Query:
    """The parameters of the API, the page and the exports, checked: a clear error naming the
    parameter. Defaults: SQLs by channel group over the last 365 days, 90-day lookback,
    7-day half-life, 40/20/40."""
    get = params.get
    today = today or timezone.localdate()
    end = _date(get("to"), "to") or today
    start = _date(get("from"), "from") or end - dt.timedelta(days=364)
    if start > end:
        raise ApplicationError(_("from is after to"), field="from")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ApplicationError(
            _("the period may span at most %(days)s days") % {"days": MAX_PERIOD_DAYS},
            field="from",
        )
    first = _number(get("first"), "first", low=0, high=1, default=0.4)
    last = _number(get("last"), "last", low=0, high=1, default=0.4)
    if first + last > 1 or first + last == 0:
        raise ApplicationError(
            _(
                "first + last must be more than 0 and at most 1 (the touches between share the rest)"
            ),
            field="first",
        )
    return Query(
        dimension=_choice(get("dimension") or "channel", DIMENSIONS, "dimension"),
        conversion=_choice(get("conversion") or "sql", CONVERSIONS, "conversion"),
        start=start,
        end=end,
        lookback_days=int(
            _number(
                get("lookback_days"), "lookback_days", low=1, high=MAX_LOOKBACK_DAYS, default=90
            )
        ),
        half_life=_number(get("half_life"), "half_life", low=0.1, high=365, default=7.0),
        first=first,
        last=last,
    )


def model_parse(value: Any) -> str:
    return _choice(value or "", MODELS, "model")


def query_touches(workspace: Workspace, query: Query) -> journeys.Touches:
    """Every touch a query's journeys may hold (from the lookback before its start), read once."""
    return journeys.touches_load(
        workspace, query.start_at - dt.timedelta(days=query.lookback_days), query.end_at
    )


def query_paths(
    workspace: Workspace, query: Query, *, touches: journeys.Touches | None = None
) -> engine.Paths:
    return journeys.paths(
        workspace,
        dimension=query.dimension,
        conversion=query.conversion,
        start=query.start_at,
        end=query.end_at,
        lookback_days=query.lookback_days,
        touches=touches,
    )


def _credit(paths: engine.Paths, model: str, query: Query) -> list[float]:
    values = engine.attribute(
        paths, model, half_life=query.half_life, first=query.first, last=query.last
    )
    return [float(v) for v in values]


def key_label(dimension: str, key: str) -> str:
    if key == journeys.NO_TOUCH:
        return _("(no touch in the lookback window)")
    if key == journeys.NOT_SET:
        return _("(not set)")
    if dimension == "channel":
        return channel_group_label(key)
    return key


def attribution(workspace: Workspace, model: str, query: Query) -> dict[str, Any]:
    """The pinned reply: {"model", "dimension", "conversion", "total", "rows": [{"key",
    "value"}]}, rows by value, largest first; values add up to total."""
    paths = query_paths(workspace, query)
    credit = _credit(paths, model, query)
    pairs = sorted(zip(paths.keys, credit, strict=True), key=lambda kv: (-kv[1], kv[0]))
    rows = [{"key": key, "value": value} for key, value in pairs]
    return {
        "model": model,
        "dimension": query.dimension,
        "conversion": query.conversion,
        "total": paths.total,
        "rows": rows,
    }


def comparison(workspace: Workspace, query: Query, *, wait: str = "always") -> dict[str, Any]:
    """All seven models on the same paths: {"total", "journeys", "converted", "models",
    "rows": [{"key", "label", "values": {model: value}}], "as_of", "stale", "refreshing",
    "computing"} ordered
    by the mean credit. Kept per set of parameters (`cache`), and `wait` as for `roi`: the
    page does not wait ("never"), the exports and the CLI do ("always")."""
    params = {
        "report": "comparison",
        **{name: str(value) for name, value in query.__dict__.items()},
        "rules": [repr(rule) for rule in workspace_rules(workspace)],
        "time_zone": timezone.get_current_timezone_name(),
    }

    def compute() -> dict[str, Any]:
        paths = query_paths(workspace, query)
        credits = {model: _credit(paths, model, query) for model in MODELS}
        order = sorted(
            range(len(paths.keys)),
            key=lambda i: (-sum(credits[m][i] for m in MODELS), paths.keys[i]),
        )
        return {
            "total": paths.total,
            "journeys": float(paths.converted.sum() + paths.nulls.sum()),
            "converted": float(paths.converted.sum()),
            "paths": len(paths.lengths),
            "rows": [
                {"key": paths.keys[i], "values": {model: credits[model][i] for model in MODELS}}
                for i in order
            ],
        }

    found = cache.waited(
        workspace,
        params,
        compute,
        wait=wait,
        refresh=functools.partial(_refresh_enqueue, workspace.pk, "comparison", query),
    )
    payload = found.payload
    payload = payload or {"total": 0.0, "journeys": 0.0, "converted": 0.0, "paths": 0, "rows": []}
    return {
        **payload,
        "models": list(MODELS),
        # labels in the reader's language: the kept result holds the keys alone
        "rows": [
            {**row, "label": key_label(query.dimension, row["key"])} for row in payload["rows"]
        ],
        **found.state(),
    }


# -- ROI ----------------------------------------------------------------------------------------

ROI_GROUPS = ("campaign", "channel")
PAGE_MODEL = "markov"  # the ROI section's model until the marketer picks another
NO_CAMPAIGN = "(no campaign)"
ROI_CONVERSIONS = ("lead", "mql", "sql", "customer", "revenue")


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _costs(workspace: Workspace, group: str, query: Query) -> dict[str, tuple[Decimal, str]]:
    """Cost in the period per attribution key: per campaign, the UTM campaign of the campaign the
    cost is on (else the key it was imported under; a weekly spend file's channel is a row
    `channel:<channel>` of its own); per channel, the workspace's channel group
    of the cost (its campaign's, else its platform's: `costs_by_channel_group`). {key: (cost,
    label)}."""
    entries = CostEntry.objects.for_workspace(workspace).filter(
        day__gte=query.start, day__lte=query.end
    )
    result: dict[str, tuple[Decimal, str]] = {}
    if group == "campaign":
        rows = entries.values(
            "campaign_key", "campaign_name", "campaign__utm_campaign", "campaign__name"
        ).annotate(total=Coalesce(Sum("amount"), Decimal(0), output_field=DecimalField()))
        for row in rows:
            key = (row["campaign__utm_campaign"] or row["campaign_key"] or "").lower()
            label = row["campaign__name"] or row["campaign_name"] or key
            if key.startswith("manual:") and not row["campaign__utm_campaign"]:
                # costs entered by hand on no campaign (an agency fee, tools): one row
                key, label = NO_CAMPAIGN, str(_("Costs on no campaign"))
            elif key.startswith(CHANNEL_LEVEL_PREFIX) and not row["campaign__utm_campaign"]:
                # a weekly spend file's channel (`google_ads`, `fiere`): a row of its own
                label = _("%(channel)s (channel-level spend)") % {
                    "channel": key[len(CHANNEL_LEVEL_PREFIX) :]
                }
            cost, _label = result.get(key, (Decimal(0), label))
            result[key] = (cost + row["total"], label)
        return result
    # per channel group: the campaign's group, else the platform's (`meta_ads` is Paid Social)
    for key, total in costs_by_channel_group(workspace, query.start, query.end).items():
        result[key] = (total, channel_group_label(key))
    return result


GRANULARITIES = ("period", "month", "quarter", "week", "day")


def granularity_parse(value: Any) -> str:
    """The ROI report's granularity checked; empty is the whole period."""
    return _choice(value or "period", GRANULARITIES, "granularity")


def buckets(start: dt.date, end: dt.date, granularity: str) -> list[tuple[str, dt.date, dt.date]]:
    """The period cut by `granularity`: (label, first day, last day), the first and last cut
    at the period's ends. "period" is one bucket labelled "" (the whole period)."""
    if granularity == "period":
        return [("", start, end)]
    result = []
    day = start
    while day <= end:
        if granularity == "day":
            label, following = day.isoformat(), day + dt.timedelta(days=1)
        elif granularity == "week":
            iso = day.isocalendar()
            label = f"{iso.year}-W{iso.week:02d}"
            following = day + dt.timedelta(days=7 - day.weekday())
        elif granularity == "month":
            label = f"{day.year}-{day.month:02d}"
            following = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        else:
            quarter = (day.month - 1) // 3
            label = f"{day.year}-Q{quarter + 1}"
            following = (
                dt.date(day.year + 1, 1, 1)
                if quarter == 3
                else dt.date(day.year, 3 * quarter + 4, 1)
            )
        result.append((label, day, min(following - dt.timedelta(days=1), end)))
        day = following
    return result


def _us(moment: dt.datetime) -> int:
    return round((moment - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1e6)


def _attributed(
    workspace: Workspace,
    model: str,
    query: Query,
    dimension: str,
    granularity: str,
    touches: journeys.Touches | Callable[[], journeys.Touches] | None = None,
) -> list[list[Any]]:
    """[[bucket label, {key: {conversion: credit}}], …]: the five conversions of the ROI report
    attributed under `model`, each bucket on its own (its conversions, its never-converting
    journeys), exactly as the whole-period report of that bucket's days. The touches and each
    conversion are read once for the whole period and cut per bucket in memory."""
    if touches is None:
        touches = query_touches(workspace, query)
    elif callable(touches):
        touches = touches()
    conversions = {
        conversion: journeys.conversions_load(workspace, conversion, query.start_at, query.end_at)
        for conversion in ROI_CONVERSIONS
    }
    assert query.start is not None and query.end is not None
    result: list[list[Any]] = []
    for label, first_day, last_day in buckets(query.start, query.end, granularity):
        sub = Query(
            **{**query.__dict__, "dimension": dimension, "start": first_day, "end": last_day}
        )
        low, high = _us(sub.start_at), _us(sub.end_at)
        inside = touches
        if granularity != "period":
            lookback = low - query.lookback_days * journeys.US_PER_DAY
            mask = (touches.at >= lookback) & (touches.at < high)
            inside = journeys.Touches(
                person=touches.person[mask],
                at=touches.at[mask],
                combo=touches.combo[mask],
                combos=touches.combos,
                rules=touches.rules,
                _keys=touches._keys,
            )
        figures: dict[str, dict[str, float]] = {}
        for conversion in ROI_CONVERSIONS:
            every = conversions[conversion]
            keep = (every["at"] >= low) & (every["at"] < high)
            paths = journeys.paths_from(
                inside,
                {name: column[keep] for name, column in every.items()},
                dimension=dimension,
                start=sub.start_at,
                lookback_days=sub.lookback_days,
            )
            for key, value in zip(paths.keys, _credit(paths, model, sub), strict=True):
                figures.setdefault(key, {})[conversion] = value
        result.append([label, figures])
    return result


def roi(
    workspace: Workspace,
    model: str,
    query: Query,
    *,
    group: str = "campaign",
    granularity: str = "period",
    touches: journeys.Touches | Callable[[], journeys.Touches] | None = None,
    by_day: bool = True,
    wait: str = "always",
) -> dict:
    """Per campaign (UTM campaign) or channel group, and per bucket of `granularity` (the
    whole period by default): cost, leads, MQLs, SQLs, customers and revenue attributed under
    `model`, and CPL, cost per SQL, CAC, ROAS, ROI. Rows with a cost or an attributed
    conversion; the touches with no campaign are one row `(not set)`. The attributed credits
    are kept ready (`cache.kept`) until an input changes; costs are read each time. `touches`:
    the query's `query_touches` (or a function giving them, called only when the kept results
    are stale), when the caller reads both groups of one period: they do not depend on the
    group. `by_day` (the default): under an additive model (every model but Markov), the
    credits are the sums of days kept one by one (`daily`), so a change recomputes only the
    days it can move and any granularity sums the same days; `by_day=False` keeps the whole
    result in `cache.kept`, as Markov always does.

    `wait` (for a whole kept result, i.e. Markov): "always" computes a stale result again before
    answering (the CLI, the exports, the board's report); "if_missing" (the API) and "never"
    (the page) answer at once with the stale result and enqueue one recomputation
    (`tasks.kept_report_refresh_task`), "if_missing" computing now only when nothing is kept, "never"
    not even then (no rows, `computing` true). The reply says `as_of` (when its inputs were
    read, ISO; null while computing), `stale` (inputs changed since) and `refreshing` (a
    recomputation is enqueued or running: a stale result younger than `cache.REFRESH_EVERY` is
    given with none, so a report looked at while touches arrive is computed at most that often)."""
    group = _choice(group, ROI_GROUPS, "group")
    granularity = granularity_parse(granularity)
    dimension = "campaign" if group == "campaign" else "channel"
    rules = workspace_rules(workspace)
    params = {
        "report": "roi",
        "model": model,
        "dimension": dimension,
        "granularity": granularity,
        "start": query.start,
        "end": query.end,
        "lookback_days": query.lookback_days,
        "half_life": query.half_life,
        "first": query.first,
        "last": query.last,
        "rules": [repr(rule) for rule in rules],
        "time_zone": timezone.get_current_timezone_name(),
    }
    assert query.start is not None and query.end is not None
    if wait not in cache.WAITS:
        raise ValueError(f"wait must be one of {cache.WAITS}")
    state = cache.Kept(payload={}, as_of=timezone.now(), stale=False).state()
    if by_day and model in daily.ADDITIVE_MODELS:
        attributed = daily.bucketed(
            workspace,
            model,
            query,
            dimension,
            buckets(query.start, query.end, granularity),
            touches=touches,
        )
    else:

        def compute() -> dict[str, Any]:
            return {
                "buckets": _attributed(workspace, model, query, dimension, granularity, touches)
            }

        found = cache.waited(
            workspace,
            params,
            compute,
            wait=wait,
            refresh=functools.partial(
                _refresh_enqueue,
                workspace.pk,
                "roi",
                query,
                model=model,
                group=group,
                granularity=granularity,
            ),
        )
        attributed = found.payload["buckets"] if found.payload is not None else []
        state = found.state()
    names: dict[str, str] = {}
    if group == "campaign":
        names = {
            utm: name
            for utm, name in Campaign.objects.for_workspace(workspace)
            .exclude(utm_campaign="")
            .annotate(utm=Lower("utm_campaign"))
            .values_list("utm", "name")
        }
    rows: list[dict[str, Any]] = []
    assert query.start is not None and query.end is not None
    spans = {label: (first_day, last_day) for label, first_day, last_day in buckets(
        query.start, query.end, granularity
    )}  # fmt: skip
    for label_of_bucket, figures_by_key in attributed:
        first_day, last_day = spans[label_of_bucket]
        costs = _costs(
            workspace, group, Query(**{**query.__dict__, "start": first_day, "end": last_day})
        )
        bucket_rows = []
        for key in sorted(set(figures_by_key) | set(costs)):
            figures = figures_by_key.get(key, {})
            cost = float(costs.get(key, (Decimal(0), ""))[0])
            if not cost and not any(figures.values()):
                continue
            label = names.get(key) or (costs[key][1] if key in costs else key_label(dimension, key))
            leads = figures.get("lead", 0.0)
            sqls = figures.get("sql", 0.0)
            customers = figures.get("customer", 0.0)
            revenue = figures.get("revenue", 0.0)
            bucket_rows.append(
                {
                    "period": label_of_bucket,
                    "key": key,
                    "label": label if key != journeys.NOT_SET else key_label(dimension, key),
                    "cost": cost,
                    "leads": leads,
                    "mqls": figures.get("mql", 0.0),
                    "sqls": sqls,
                    "customers": customers,
                    "revenue": revenue,
                    "cpl": _ratio(cost, leads),
                    "cost_per_sql": _ratio(cost, sqls),
                    "cac": _ratio(cost, customers),
                    "roas": _ratio(revenue, cost),
                    "roi": _ratio(revenue - cost, cost),
                }
            )
        bucket_rows.sort(key=lambda row: (-row["revenue"], -row["cost"], row["key"]))
        rows.extend(bucket_rows)
    return {
        "model": model,
        "group": group,
        "granularity": granularity,
        **state,
        "rows": rows,
    }


def _refresh_enqueue(workspace_id: int, report: str, query: Query, **options: str) -> None:
    """Enqueue the recomputation of a kept report that a reader found stale: `report` "roi"
    (`options`: its model, group and granularity) or "comparison"."""
    from volano.attribution.tasks import kept_report_refresh_task

    fields = dict(query.__dict__)
    fields["start"] = query.start.isoformat() if query.start else None
    fields["end"] = query.end.isoformat() if query.end else None
    kept_report_refresh_task.enqueue(
        workspace_id,
        report,
        fields,
        options,
        timezone.get_current_timezone_name(),
    )


def query_from_fields(fields: dict[str, Any]) -> Query:
    """A Query from the JSON fields `_refresh_enqueue` gives a task."""
    return Query(
        **{
            **fields,
            "start": dt.date.fromisoformat(fields["start"]) if fields.get("start") else None,
            "end": dt.date.fromisoformat(fields["end"]) if fields.get("end") else None,
        }
    )

"""Predictive lead scoring: a model learned from the workspace's own history.

Labels (contacts whose outcome is known):
- positive: lifecycle stage customer or lost_customer, or a won deal;
- negative: stage disqualified, or a lost deal, and not positive.
Open leads (the contacts scored) are the stages lead, mql, sql, opportunity and recycled.

Features are built set-based — one grouped query over the workspace's behavioural events, one
over contacts (with their company), one over consents — into numpy arrays. Behaviour is counted
in the 365 days before a cut-off: for open leads the cut-off is now; for labelled contacts it is
the first known outcome moment (the first StageChange to customer, lost_customer or
disqualified, the first won or lost deal's `closed_at`, or the first order), because what a
customer did after buying says nothing about what makes a lead buy. A labelled contact with no
known outcome date keeps the window before now. Events that record the outcome itself (orders,
deals, lifecycle, scores, hand-off, segments) are never features.

The model is scikit-learn's StandardScaler + LogisticRegression (balanced classes) calibrated by
CalibratedClassifierCV (sigmoid, isotonic from 10,000 labelled contacts). AUC, Brier score and a
5-bin calibration table are measured on a stratified held-back 20%; the model kept for scoring is
then refitted on all labelled contacts with the same recipe. Reasons are the linear effects of the
features in log-odds relative to the average labelled contact: the coefficients of the calibrated
folds' logistic regressions, each divided by its scaler's scale and averaged, times (value − mean).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from volano.contacts.models import Consent, ConsentStatus, Contact, Purpose, SizeBand
from volano.core.db import days_between_sql, db_now
from volano.core.errors import ApplicationError
from volano.core.models import Workspace
from volano.deals.models import Deal, DealStage
from volano.events.models import Event, EventType
from volano.lifecycle.types import LifecycleStage
from volano.scoring.models import PREDICTIVE_SLUG, ModelKind, Score, ScoreModel
from volano.scoring.outcomes import outcome_sources

BEHAVIOUR_TYPES = (
    EventType.PAGE_VIEW,
    EventType.FORM_SUBMITTED,
    EventType.CONTENT_DOWNLOADED,
    EventType.EMAIL_OPENED,
    EventType.EMAIL_CLICKED,
    EventType.WEBINAR_REGISTERED,
    EventType.WEBINAR_ATTENDED,
    EventType.EVENT_ATTENDED,
    EventType.SURVEY_ANSWERED,
)
POSITIVE_STAGES = (LifecycleStage.CUSTOMER, LifecycleStage.LOST_CUSTOMER)
NEGATIVE_STAGES = (LifecycleStage.DISQUALIFIED,)
OPEN_STAGES = (
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
    LifecycleStage.RECYCLED,
)
WINDOW_DAYS = 365
MIN_PER_CLASS = 30
MIN_TOTAL = 100
ISOTONIC_FROM = 10_000
TOP_REGIONS = 10
MIN_CATEGORY = 10  # a region needs this many labelled contacts to get a column
REASONS = 3
BATCH = 5000


def predictive_train(
    *, workspace: Workspace, now: dt.datetime | None = None, seed: int = 0
) -> dict:
    """Learn from the workspace's labelled contacts, evaluate on a held-back 20%, save the model.

    Returns the report also stored on the ScoreModel: auc, brier, n_train, n_test, positives,
    negatives, calibration ([[mean predicted, observed rate, count], …] in 5 bins), trained_at,
    top_features ([{"feature", "weight"}]: log-odds per standard deviation).
    """
    now = now or timezone.now()
    won = _deal_contacts(workspace, DealStage.WON)
    lost = _deal_contacts(workspace, DealStage.LOST)
    population = Contact.objects.for_workspace(workspace).filter(
        Q(lifecycle_stage__in=POSITIVE_STAGES + NEGATIVE_STAGES) | Q(pk__in=won) | Q(pk__in=lost)
    )
    table = _contact_table(population)
    won_ids = np.array(sorted(set(won.values_list("contact_id", flat=True))), dtype=np.int64)
    lost_ids = np.array(sorted(set(lost.values_list("contact_id", flat=True))), dtype=np.int64)
    positive = np.isin(table.stages, POSITIVE_STAGES) | np.isin(table.ids, won_ids)
    negative = ~positive & (np.isin(table.stages, NEGATIVE_STAGES) | np.isin(table.ids, lost_ids))
    positives, negatives = int(positive.sum()), int(negative.sum())
    if positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS or positives + negatives < MIN_TOTAL:
        raise ApplicationError(
            _(
                "not enough history to learn from: %(positives)d customers and %(negatives)d "
                "lost or disqualified contacts; at least %(per_class)d of each and %(total)d in "
                "total are needed"
            )
            % {
                "positives": positives,
                "negatives": negatives,
                "per_class": MIN_PER_CLASS,
                "total": MIN_TOTAL,
            }
        )
    vocabulary = {
        "regions": _top_values(table.regions, TOP_REGIONS),
    }
    features, names = _feature_matrix(
        workspace, population, table, vocabulary, now=now, at_outcome=True
    )
    labelled = positive | negative
    x, y = features[labelled], positive[labelled].astype(np.int64)

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=seed
    )
    held_back = _estimator(len(y)).fit(x_train, y_train)
    predicted = held_back.predict_proba(x_test)[:, 1]
    model = _estimator(len(y)).fit(x, y)

    weights = _linear_weights(model)
    spread = x.std(axis=0)
    importance = np.abs(weights * spread)
    report = {
        "auc": round(float(roc_auc_score(y_test, predicted)), 4),
        "brier": round(float(brier_score_loss(y_test, predicted)), 4),
        "n_train": len(y_train),
        "n_test": len(y_test),
        "positives": positives,
        "negatives": negatives,
        "calibration": _calibration(y_test, predicted),
        "trained_at": now.isoformat(),
        "top_features": [
            {"feature": names[j], "weight": round(float(weights[j] * spread[j]), 4)}
            for j in np.argsort(-importance)[:10]
            if importance[j] > 0
        ],
    }
    bundle = {
        "model": model,
        "features": names,
        "means": x.mean(axis=0),
        "weights": weights,
        "vocabulary": vocabulary,
    }
    buffer = io.BytesIO()
    joblib.dump(bundle, buffer)
    score_model = _score_model(workspace)
    if score_model is None:
        score_model = ScoreModel(workspace=workspace, slug=PREDICTIVE_SLUG, created_at=now)
    score_model.name = _("Predictive")
    score_model.kind = ModelKind.PREDICTIVE
    score_model.trained = buffer.getvalue()
    score_model.report = report
    score_model.updated_at = now
    score_model.save()
    return report


def predictive_score(
    *,
    workspace: Workspace,
    contact_ids: list[int] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Write each open lead's probability (or only those among `contact_ids`) and its top reasons.

    `points` is the calibrated probability of becoming a customer; `parts` the top 3 reasons by
    absolute effect, [{"feature", "label", "effect"}] with effect in log-odds (positive raises the
    probability). Contacts that are no longer open leads lose their predictive score.
    Returns the number of contacts scored.
    """
    now = now or timezone.now()
    score_model = _score_model(workspace)
    if score_model is None or not score_model.trained:
        raise ApplicationError(_("train the predictive model first"))
    bundle = joblib.load(io.BytesIO(bytes(score_model.trained)))
    leads = Contact.objects.for_workspace(workspace).filter(lifecycle_stage__in=OPEN_STAGES)
    stale = Score.objects.for_workspace(workspace).filter(model=score_model)
    if contact_ids is None:
        chunks: list[Any] = [leads]
        stale = stale.exclude(contact__lifecycle_stage__in=OPEN_STAGES)
    else:
        unique = sorted(set(contact_ids))
        chunks = [leads.filter(pk__in=unique[i : i + BATCH]) for i in range(0, len(unique), BATCH)]
        stale = stale.filter(contact_id__in=unique).exclude(
            contact__lifecycle_stage__in=OPEN_STAGES
        )
    scored = 0
    with transaction.atomic():
        stale.delete()
        for population in chunks:
            table = _contact_table(population)
            if not len(table.ids):
                continue
            features, names = _feature_matrix(
                workspace, population, table, bundle["vocabulary"], now=now, at_outcome=False
            )
            if names != bundle["features"]:
                raise ApplicationError(
                    _("the predictive model was trained on other features: train it again")
                )
            probabilities = bundle["model"].predict_proba(features)[:, 1]
            effects = (features - bundle["means"]) * bundle["weights"]
            _scores_write(workspace, score_model, table.ids, probabilities, effects, bundle, now)
            scored += len(table.ids)
        ScoreModel.objects.for_workspace(workspace).filter(pk=score_model.pk).update(
            computed_at=now
        )
    return scored


def predictive_reasons(*, workspace: Workspace, contact: Contact, language: str) -> list[dict]:
    """The top reasons of `contact`'s predictive score, labelled in `language`.

    [{"feature": name, "label": str, "effect": float}] from the last scoring; [] when the contact
    has no predictive score (not scored yet, or not an open lead).
    """
    score = (
        Score.objects.for_workspace(workspace)
        .filter(model__slug=PREDICTIVE_SLUG, model__kind=ModelKind.PREDICTIVE, contact=contact)
        .first()
    )
    if score is None:
        return []
    with translation.override(language):
        return [
            {
                "feature": part["feature"],
                "label": feature_label(part["feature"]),
                "effect": part["effect"],
            }
            for part in score.parts
        ]


def feature_label(name: str) -> str:
    """A readable label of a feature name, in the active language."""
    kind, _dot, value = name.partition(".")
    if kind == "events" and value in EventType.values:
        return _("%(event)s (last 12 months)") % {"event": EventType(value).label}
    if kind == "size_band" and value in SizeBand.values:
        return _("Company of %(size)s") % {"size": SizeBand(value).label}
    if kind == "region":
        return _("Region %(region)s") % {"region": value}
    if kind == "source":
        return _("Source “%(source)s”") % {"source": value}
    fixed = {
        "days_since_activity": _("Days since the last activity"),
        "has_company": _("Linked to a company"),
        "has_phone": _("Has a phone number"),
        "has_job_title": _("Has a job title"),
        "consent.email_marketing": _("Agreed to email marketing"),
    }
    return fixed.get(name, name)


@dataclass(frozen=True)
class _ContactTable:
    ids: np.ndarray  # sorted contact ids
    stages: np.ndarray
    size_bands: np.ndarray
    regions: np.ndarray
    has_company: np.ndarray
    has_phone: np.ndarray
    has_job_title: np.ndarray


def _contact_table(population: Any) -> _ContactTable:
    rows = list(
        population.order_by("pk").values_list(
            "pk",
            "lifecycle_stage",
            "company_id",
            "company__size_band",
            "region",
            "company__region",
            "phone",
            "job_title",
        )
    )
    return _ContactTable(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        stages=np.array([r[1] for r in rows], dtype=object),
        size_bands=np.array([r[3] or "" for r in rows], dtype=object),
        regions=np.array([r[4] or r[5] or "" for r in rows], dtype=object),
        has_company=np.array([r[2] is not None for r in rows], dtype=np.float64),
        has_phone=np.array([bool(r[6]) for r in rows], dtype=np.float64),
        has_job_title=np.array([bool(r[7]) for r in rows], dtype=np.float64),
    )


def _feature_matrix(
    workspace: Workspace,
    population: Any,
    table: _ContactTable,
    vocabulary: dict,
    *,
    now: dt.datetime,
    at_outcome: bool,
) -> tuple[np.ndarray, list[str]]:
    counts, days_since = _behaviour(workspace, population, table.ids, now, at_outcome)
    consented = np.isin(
        table.ids,
        np.fromiter(
            Consent.objects.for_workspace(workspace)
            .filter(
                purpose=Purpose.EMAIL_MARKETING,
                status=ConsentStatus.GRANTED,
                contact__in=population.values("pk"),
            )
            .values_list("contact_id", flat=True),
            dtype=np.int64,
        ),
    ).astype(np.float64)
    columns = [np.log1p(counts[:, j]) for j in range(len(BEHAVIOUR_TYPES))]
    names = [f"events.{t}" for t in BEHAVIOUR_TYPES]
    columns += [days_since, table.has_company, table.has_phone, table.has_job_title, consented]
    names += ["days_since_activity", "has_company", "has_phone", "has_job_title"]
    names += ["consent.email_marketing"]
    for prefix, values, vocab in (
        ("size_band", table.size_bands, SizeBand.values),
        ("region", table.regions, vocabulary["regions"]),
        # Not the contact's source ("fiera", "gestionale", "shop"…): it says which system the
        # record came from, and a shop checkout or an ERP record is a customer by construction,
        # so the model would learn the data's plumbing instead of the behaviour that predicts a
        # purchase. A source column never enters the features.
    ):
        for value in vocab:
            columns.append((values == value).astype(np.float64))
            names.append(f"{prefix}.{value}")
    return np.column_stack(columns), names


def _behaviour(
    workspace: Workspace, population: Any, ids: np.ndarray, now: dt.datetime, at_outcome: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per contact: counts of each behavioural event type in the window, and the days from the
    last one to the cut-off (capped at WINDOW_DAYS), in one grouped query."""
    sql, params = population.annotate(picked_id=F("pk")).values("picked_id").query.sql_with_params()
    at = db_now(now)
    if at_outcome:
        cutoffs = (
            f"SELECT pop.picked_id AS id, COALESCE(o.at, {_timestamp()}) AS cutoff "
            f"FROM ({sql}) pop LEFT JOIN ({_outcomes_sql(workspace)}) o ON o.contact_id = pop.picked_id"
        )
        cutoff_params = [at, *params, *_outcomes_params(workspace)]
    else:
        cutoffs = f"SELECT pop.picked_id AS id, {_timestamp()} AS cutoff FROM ({sql}) pop"
        cutoff_params = [at, *params]
    types = ", ".join(["%s"] * len(BEHAVIOUR_TYPES))
    query = (
        f"SELECT e.contact_id, e.type, COUNT(*), {days_between_sql('p.cutoff', 'MAX(e.occurred_at)')} "
        f"FROM ({cutoffs}) p JOIN {Event._meta.db_table} e ON e.contact_id = p.id "
        f"WHERE e.workspace_id = %s AND e.type IN ({types}) "
        f"AND e.occurred_at < p.cutoff AND e.occurred_at >= {_minus_window('p.cutoff')} "
        f"GROUP BY e.contact_id, e.type, p.cutoff"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*cutoff_params, workspace.pk, *BEHAVIOUR_TYPES])
        rows = cursor.fetchall()
    counts = np.zeros((len(ids), len(BEHAVIOUR_TYPES)))
    days_since = np.full(len(ids), float(WINDOW_DAYS))
    if rows:
        contact_ids = np.array([r[0] for r in rows], dtype=np.int64)
        type_index = {t: j for j, t in enumerate(BEHAVIOUR_TYPES)}
        rows_at = np.searchsorted(ids, contact_ids)
        columns = np.array([type_index[r[1]] for r in rows])
        counts[rows_at, columns] = [r[2] for r in rows]
        np.minimum.at(days_since, rows_at, np.array([float(r[3]) for r in rows]))
    return counts, np.clip(days_since, 0, WINDOW_DAYS)


def _outcome_sources(workspace: Workspace) -> list[tuple[str, list]]:
    stages = (*POSITIVE_STAGES, *NEGATIVE_STAGES)
    return [source(workspace, stages) for source in outcome_sources()]


def _outcomes_sql(workspace: Workspace) -> str:
    """Each labelled contact's first outcome moment: stage change, closed deal or order."""
    others = "".join(f"{sql} UNION ALL " for sql, _params in _outcome_sources(workspace))
    return (
        f"SELECT contact_id, MIN(at) AS at FROM ({others}"
        f"SELECT contact_id, closed_at AS at FROM {Deal._meta.db_table} "
        "WHERE workspace_id = %s AND stage IN (%s, %s) AND contact_id IS NOT NULL "
        "AND closed_at IS NOT NULL "
        f"UNION ALL SELECT contact_id, occurred_at FROM {Event._meta.db_table} "
        "WHERE workspace_id = %s AND type = %s AND contact_id IS NOT NULL"
        ") firsts GROUP BY contact_id"
    )


def _outcomes_params(workspace: Workspace) -> list:
    return [
        *(param for _sql, params in _outcome_sources(workspace) for param in params),
        workspace.pk,
        DealStage.WON,
        DealStage.LOST,
        workspace.pk,
        EventType.ORDER,
    ]


def _timestamp() -> str:
    return "CAST(%s AS timestamp with time zone)" if connection.vendor == "postgresql" else "%s"


def _minus_window(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"({expression} - INTERVAL '{WINDOW_DAYS} days')"
    return f"datetime({expression}, '-{WINDOW_DAYS} days')"


def _deal_contacts(workspace: Workspace, stage: str) -> Any:
    return (
        Deal.objects.for_workspace(workspace)
        .filter(stage=stage, contact__isnull=False)
        .values("contact_id")
    )


def _top_values(values: np.ndarray, limit: int) -> list[str]:
    present, counts = np.unique(values[values != ""].astype(str), return_counts=True)
    order = np.lexsort((present, -counts))
    return [str(present[i]) for i in order[:limit] if counts[i] >= MIN_CATEGORY]


def _estimator(n: int) -> CalibratedClassifierCV:
    pipeline = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced")
    )
    method = "isotonic" if n >= ISOTONIC_FROM else "sigmoid"
    return CalibratedClassifierCV(pipeline, method=method, cv=3)


def _linear_weights(model: CalibratedClassifierCV) -> np.ndarray:
    """Log-odds per unit of each raw feature, averaged over the calibrated folds."""
    per_fold = []
    for calibrated in model.calibrated_classifiers_:
        pipeline = calibrated.estimator
        scaler = pipeline.named_steps["standardscaler"]
        regression = pipeline.named_steps["logisticregression"]
        per_fold.append(regression.coef_[0] / scaler.scale_)
    return np.mean(per_fold, axis=0)


def _calibration(y: np.ndarray, predicted: np.ndarray) -> list[list[float]]:
    """[[mean predicted, observed rate, count], …] for the non-empty of 5 equal-width bins."""
    observed, mean_predicted = calibration_curve(y, predicted, n_bins=5)
    bins = np.searchsorted(np.linspace(0.0, 1.0, 6)[1:-1], predicted)
    counts = np.bincount(bins, minlength=5)
    return [
        [round(float(p), 4), round(float(o), 4), int(c)]
        for p, o, c in zip(mean_predicted, observed, counts[counts > 0], strict=True)
    ]


def _scores_write(
    workspace: Workspace,
    score_model: ScoreModel,
    ids: np.ndarray,
    probabilities: np.ndarray,
    effects: np.ndarray,
    bundle: dict,
    now: dt.datetime,
) -> None:
    names = bundle["features"]
    labels = [feature_label(name) for name in names]
    top = np.argsort(-np.abs(effects), axis=1)[:, :REASONS]
    rows = [
        Score(
            workspace=workspace,
            model=score_model,
            contact_id=int(contact_id),
            points=round(float(probability), 4),
            parts=[
                {
                    "feature": names[j],
                    "label": labels[j],
                    "effect": round(float(effects[i, j]), 4),
                }
                for j in top[i]
            ],
            updated_at=now,
        )
        for i, (contact_id, probability) in enumerate(zip(ids, probabilities, strict=True))
    ]
    for start in range(0, len(rows), BATCH):
        Score.objects.bulk_create(
            rows[start : start + BATCH],
            update_conflicts=True,
            unique_fields=["model", "contact"],
            update_fields=["points", "parts", "updated_at"],
        )


def _score_model(workspace: Workspace) -> ScoreModel | None:
    return ScoreModel.objects.for_workspace(workspace).filter(slug=PREDICTIVE_SLUG).first()

"""Customer lifetime value: BG/NBD (Fader, Hardie & Lee 2005) for how many more purchases a customer
will make and whether they are still active, Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV")
for how much they spend per purchase, both fitted by maximum likelihood on the workspace's orders.

Time is in weeks. A customer's purchases are counted by distinct purchase day, as the papers do:
two orders on one day are one purchase of their summed value. For each customer as of a date:
- `x` (frequency): purchase days after the first;
- `t_x` (recency): weeks from the first purchase day to the last;
- `T` (age): weeks from the first purchase day to the as-of date;
- `m` (monetary): the mean value of the repeat purchase days (the first is left out, as in the
  Gamma-Gamma paper), 0 for customers with no repeat.

The summary is read with one grouped query (contact, day, sum) and folded with NumPy; the fits are
SciPy's L-BFGS-B over the logs of the parameters, on customers grouped by identical (x, t_x, T),
so that 100,000 customers cost what a few thousand distinct histories cost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError
from volano.core.models import Workspace
from volano.orders.selectors import NOT_BOUGHT

WEEK_DAYS = 7.0
MONTH_WEEKS = 365.25 / 12 / 7  # a month in weeks, for horizons and discounting
# orders that were not a sale: the orders' one list (`volano.orders.selectors.NOT_BOUGHT`)
NOT_REVENUE = NOT_BOUGHT
# fewer customers than this, or fewer with a repeat purchase, and the fits say nothing true
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10


class NotEnoughData(ApplicationError):
    """The orders cannot support the model; the message says what is missing."""


@dataclass(frozen=True)
class Summary:
    """One row per customer (arrays of equal length), as of `as_of`."""

    contact_ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray
    as_of: dt.date
    currency: str
    other_currency_orders: int

    def __len__(self) -> int:
        return len(self.contact_ids)


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(still active | x, t_x, T): 1 for a customer of one purchase is not assumed; the
        model's own formula, which gives 1 when x = 0 (BG/NBD only lets a customer drop out after
        a repeat purchase)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(
                x > 0,
                (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x),
                0.0,
            )
        return 1.0 / (1.0 + ratio)

    def expected_purchases(
        self, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[purchases in the next `t` weeks | x, t_x, T] (equation 10 of the paper)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        t = np.asarray(t, dtype=float)
        from scipy import special  # scipy on first use, not at every process start

        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        numerator = ((a + b + x - 1) / (a - 1)) * (
            1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.where(
                x > 0, (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0
            )
        return numerator / (1 + extra)


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def expected_spend(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """E[value of a purchase | x, m]: the customer's own mean shrunk toward the population's;
        the population mean p·γ/(q−1) for a customer with no repeat purchase."""
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        p, q, g = self.p, self.q, self.gamma
        population = p * g / (q - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            own = (g + m * x) * p / (p * x + q - 1)
        return np.where(x > 0, own, population)


@dataclass(frozen=True)
class ValueFit:
    bgnbd: BgNbd
    gamma_gamma: GammaGamma
    customers: int
    repeat_customers: int


# --- the summary ----------------------------------------------------------------------------


def _day_after(day: dt.date) -> dt.datetime:
    """Midnight after `day` in the current time zone (a range on the column, not a function of it)."""
    from django.utils import timezone

    day = min(day, dt.date(9998, 12, 31))  # (year 9999 overflows once a zone is applied)
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


def customer_summary(
    workspace: Workspace,
    *,
    as_of: dt.date,
    contact_id: int | None = None,
    of_contacts: list[int] | None = None,
) -> Summary:
    """Frequency, recency, age and repeat value per customer from the workspace's orders up to and
    including `as_of`, in the workspace's currency (orders in another are counted and left out);
    of one contact only when `contact_id` is given, of some when `of_contacts` is."""
    from volano.orders.models import Order

    currency = getattr(workspace, "currency", "") or "EUR"
    orders = (
        Order.objects.for_workspace(workspace)
        .filter(contact__isnull=False, ordered_at__lt=_day_after(as_of))
        .exclude(status__in=NOT_REVENUE)
    )
    if contact_id is not None:
        orders = orders.filter(contact_id=contact_id)
    if of_contacts is not None:
        orders = orders.filter(contact_id__in=of_contacts)
    other = orders.exclude(currency=currency).count()
    days = (
        orders.filter(currency=currency)
        .annotate(day=TruncDate("ordered_at"))
        .values_list("contact_id", "day")
        .annotate(value=Sum("total"))
        .order_by()
    )
    inner, params = days.query.sql_with_params()
    # one row per customer, folded in the database: the purchase days (the day in the workspace's
    # time zone, from the ORM's own TruncDate), the first and last, and the repeat days' value
    if connection.vendor == "postgresql":
        span, age, number = "MAX(day) - MIN(day)", "%s::date - MIN(day)", "::double precision"
    else:
        span = "CAST(julianday(MAX(day)) - julianday(MIN(day)) AS INTEGER)"
        age, number = "CAST(julianday(%s) - julianday(MIN(day)) AS INTEGER)", ""
    sql = f"""
        SELECT contact_id, COUNT(*) - 1, {span}, {age},
               (SUM(CASE WHEN day = first_day THEN 0 ELSE value END)){number}
        FROM (
            SELECT contact_id, day, value, MIN(day) OVER (PARTITION BY contact_id) AS first_day
            FROM ({inner}) days
        ) customers
        GROUP BY contact_id
        ORDER BY contact_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, (as_of.isoformat(), *params))
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0)
        return Summary(
            np.zeros(0, dtype=np.int64), empty, empty, empty, empty, as_of, currency, other
        )
    table = np.array(rows, dtype=float)
    contact_ids = table[:, 0].astype(np.int64)
    x, t_x, T = table[:, 1], table[:, 2] / WEEK_DAYS, table[:, 3] / WEEK_DAYS
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(x > 0, table[:, 4] / np.maximum(x, 1), 0.0)
    return Summary(contact_ids, x, t_x, T, m, as_of, currency, other)


# --- the fits -------------------------------------------------------------------------------


def _grouped(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns and how many customers share each."""
    stacked = np.column_stack(columns)
    unique, weights = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], weights.astype(float)


def _bgnbd_negative_ll(
    log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """The weighted negative log-likelihood of BG/NBD (equation 6 of the paper) and its gradient
    in the log-parameters (analytic: L-BFGS-B then needs a tenth of the evaluations)."""
    from scipy import special

    r, alpha, a, b = np.exp(log_params)
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    ln_a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    log_T, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    ln_a3 = -(r + x) * log_T
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_a4 = np.where(
            repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * log_tx, -np.inf
        )
    mix = np.logaddexp(ln_a3, ln_a4)
    ll = ln_a1 + ln_a2 + mix
    w3, w4 = np.exp(ln_a3 - mix), np.exp(ln_a4 - mix)  # the shares of the two terms of the sum
    digamma = special.digamma
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_T - w4 * log_tx
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    with np.errstate(divide="ignore", invalid="ignore"):
        d_b = (
            digamma(a + b)
            + digamma(b + x)
            - digamma(b)
            - digamma(a + b + x)
            - np.where(repeat, w4 / np.where(repeat, b + x - 1, 1.0), 0.0)
        )
    gradient = np.array(
        [r * (w * d_r).sum(), alpha * (w * d_alpha).sum(), a * (w * d_a).sum(), b * (w * d_b).sum()]
    )
    return float(-(w * ll).sum()), -gradient


def _gamma_gamma_negative_ll(
    log_params: np.ndarray, x: np.ndarray, m: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """The weighted negative log-likelihood of Gamma-Gamma and its gradient in the log-parameters."""
    from scipy import special

    p, q, g = np.exp(log_params)
    px = p * x
    log_gmx = np.log(g + m * x)
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_gmx
    )
    digamma = special.digamma
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_gmx)
    d_q = digamma(px + q) - digamma(q) + np.log(g) - log_gmx
    d_g = q / g - (px + q) / (g + m * x)
    gradient = np.array([p * (w * d_p).sum(), q * (w * d_q).sum(), g * (w * d_g).sum()])
    return float(-(w * ll).sum()), -gradient


def _minimise(function, start: np.ndarray, args: tuple) -> np.ndarray:
    from scipy import optimize

    result = optimize.minimize(
        function,
        start,
        args=args,
        jac=True,
        method="L-BFGS-B",
        # e^9 ≈ 8,100: past it the parameters only say "everyone alike", and the
        # hypergeometric function of the predictions stops being computable
        bounds=[(-10.0, 9.0)] * len(start),
    )
    if not np.all(np.isfinite(result.x)):
        raise NotEnoughData(_("The model did not converge on these orders."))
    return np.exp(result.x)


def fit(summary: Summary) -> ValueFit:
    """Both models by maximum likelihood; a clear refusal when the orders are too few."""
    customers = len(summary)
    repeat = summary.x > 0
    if customers < MIN_CUSTOMERS:
        raise NotEnoughData(
            _(
                "Customer value needs orders from at least %(n)s customers up to %(date)s; "
                "there are %(have)s."
            )
            % {"n": MIN_CUSTOMERS, "date": summary.as_of.isoformat(), "have": customers}
        )
    if int(repeat.sum()) < MIN_REPEAT_CUSTOMERS:
        raise NotEnoughData(
            _(
                "Customer value needs at least %(n)s customers who bought again on another day; "
                "there are %(have)s."
            )
            % {"n": MIN_REPEAT_CUSTOMERS, "have": int(repeat.sum())}
        )
    (x, t_x, T), w = _grouped(summary.x, summary.t_x, summary.T)
    r, alpha, a, b = _minimise(_bgnbd_negative_ll, np.zeros(4), (x, t_x, T, w))
    positive = repeat & (summary.m > 0)
    (gx, gm), gw = _grouped(summary.x[positive], summary.m[positive])
    p, q, g = _minimise(_gamma_gamma_negative_ll, np.zeros(3), (gx, gm, gw))
    value = ValueFit(
        bgnbd=BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b)),
        gamma_gamma=GammaGamma(p=float(p), q=float(q), gamma=float(g)),
        customers=customers,
        repeat_customers=int(repeat.sum()),
    )
    check = value.bgnbd.expected_purchases(52.0, x, t_x, T)
    if value.gamma_gamma.q <= 1 or not np.all(np.isfinite(check)):
        raise NotEnoughData(
            _(
                "These orders do not fit the customer-value model: it needs customers who buy "
                "at different rhythms and some who stop buying."
            )
        )
    return value


def clv(
    value: ValueFit,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    m: np.ndarray,
    *,
    horizon_months: int,
    discount_monthly: float,
) -> np.ndarray:
    """Discounted value over the horizon: month by month, the purchases expected in that month
    times the expected spend per purchase, divided by (1 + discount) to the month."""
    spend = value.gamma_gamma.expected_spend(x, m)
    total = np.zeros(np.shape(x), dtype=float)
    previous = np.zeros(np.shape(x), dtype=float)
    for month in range(1, horizon_months + 1):
        cumulative = value.bgnbd.expected_purchases(month * MONTH_WEEKS, x, t_x, T)
        total += (cumulative - previous) * spend / (1 + discount_monthly) ** month
        previous = cumulative
    return total

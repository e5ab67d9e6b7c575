"""Related purchases (seed 002 §1, "quali sono gli acquisti correlati a un certo prodotto"):
association rules A → B between products (or product lines) bought by the same customer.

Over the customers who bought anything (N), with n(X) the customers who bought X:
- support(A → B) = n(A and B) / N: how common the pair is;
- confidence(A → B) = n(A and B) / n(A): of A's buyers, the share who also bought B;
- lift(A → B) = confidence / (n(B) / N): how much more likely B is for A's buyers than for any
  customer (1: no relation; 2: twice as likely).

Baskets are per customer (everything they ever bought, up to `as_of`), not per order: a B2B
customer buys the machine in spring and the spare parts in autumn. Cancelled and refunded
orders are left out. No loop over orders: the distinct (customer, item) pairs of the order
lines come from SQL; from one item, its customers once (an IN list both databases build once)
and what else they bought, grouped, in one linear statement; for every pair at once, the pairs
are read into NumPy and counted with one sparse product (the customer × item matrix, transposed,
times itself).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import F, Max

from volano.core.models import Workspace
from volano.orders.selectors import bought_order_lines, lines_bought
from volano.reports.clv import _day_after

PRODUCT, LINE = "product", "line"
MIN_PAIR_CUSTOMERS = 2  # a pair bought together by one customer says nothing


@dataclass(frozen=True)
class Rule:
    antecedent: str
    consequent: str
    antecedent_name: str
    consequent_name: str
    together: int  # customers who bought both
    support: float
    confidence: float
    lift: float


@dataclass(frozen=True)
class Related:
    level: str
    item: str
    item_name: str
    customers: int  # N
    item_customers: int  # n(item), 0 when the item is not given
    rules: list[Rule]


def _pairs_sql(workspace: Workspace, level: str, as_of: dt.date | None) -> tuple[str, tuple]:
    column = "sku" if level == PRODUCT else "product_line"
    # what a customer bought: the orders' rule (`volano.orders.selectors`), shared with the
    # campaign reports' cross-sell and the contact page
    lines = bought_order_lines(workspace=workspace).exclude(**{column: ""})
    if as_of is not None:
        lines = lines.filter(order__ordered_at__lt=_day_after(as_of))
    sql, params = (
        lines.annotate(customer=F("order__contact_id"), item=F(column))
        .values_list("customer", "item")
        .distinct()
        .order_by()
        .query.sql_with_params()
    )
    return sql, params


def _names(workspace: Workspace, level: str) -> dict[str, str]:
    from volano.deals.selectors import product_line_list, product_list
    from volano.orders.models import OrderLine

    if level == LINE:
        return dict(product_line_list(workspace=workspace).values_list("slug", "name"))
    names = dict(
        OrderLine.objects.for_workspace(workspace)
        .exclude(sku="")
        .values("sku")
        .annotate(name=Max("product_name"))
        .values_list("sku", "name")
    )
    names.update(product_list(workspace=workspace).values_list("sku", "name"))
    return names


def related_purchases(
    workspace: Workspace,
    *,
    item: str = "",
    level: str = PRODUCT,
    as_of: dt.date | None = None,
    limit: int = 20,
    min_customers: int = MIN_PAIR_CUSTOMERS,
) -> Related:
    """The rules item → B (every rule when `item` is empty), strongest lift first, each pair
    bought by at least `min_customers` customers."""
    pairs, params = _pairs_sql(workspace, level, as_of)
    with connection.cursor() as cursor:
        # every item's customers, and the customers in all (each a linear pass)
        cursor.execute(f"SELECT item, COUNT(*) FROM ({pairs}) p GROUP BY item", params)
        item_counts = dict(cursor.fetchall())
        cursor.execute(f"SELECT COUNT(DISTINCT customer) FROM ({pairs}) p", params)
        customers = int(cursor.fetchone()[0] or 0)
        if item:
            # the customers of `item` once (an IN list both databases build once), then what
            # else they bought, grouped
            cursor.execute(
                f"""SELECT b.item, COUNT(*) FROM ({pairs}) b
                    WHERE b.item <> %s AND b.customer IN (
                        SELECT a.customer FROM ({pairs}) a WHERE a.item = %s)
                    GROUP BY b.item HAVING COUNT(*) >= %s""",
                (*params, item, *params, item, min_customers),
            )
            together = [(item, other, n) for other, n in cursor.fetchall()]
        else:
            cursor.execute(f"SELECT customer, item FROM ({pairs}) p", params)
            together = _co_occurrences(cursor.fetchall(), min_customers)
    rows = [(a, b, both, item_counts[a], item_counts[b], customers) for a, b, both in together]
    names = _names(workspace, level)
    rules = []
    for a, b, both, n_a, n_b, total in rows:
        confidence = both / n_a
        rules.append(
            Rule(
                antecedent=a,
                consequent=b,
                antecedent_name=names.get(a, a),
                consequent_name=names.get(b, b),
                together=int(both),
                support=both / total,
                confidence=confidence,
                lift=confidence / (n_b / total),
            )
        )
    rules.sort(key=lambda r: (-r.lift, -r.together, r.antecedent, r.consequent))
    return Related(
        level=level,
        item=item,
        item_name=names.get(item, item),
        customers=customers,
        item_customers=int(item_counts.get(item, 0)) if item else 0,
        rules=rules[:limit],
    )


def _co_occurrences(pairs: list[tuple[int, str]], min_customers: int) -> list[tuple[str, str, int]]:
    """Every ordered pair of items bought by the same customers, from the (customer, item)
    pairs: the customer × item incidence matrix M (sparse), and MᵀM counts, for each two items,
    the customers who bought both — one sparse product, no loop over customers or orders."""
    if not pairs:
        return []
    from scipy import sparse

    customer_ids = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    item_names = np.array([p[1] for p in pairs], dtype=object)
    _, rows = np.unique(customer_ids, return_inverse=True)
    names, cols = np.unique(item_names, return_inverse=True)
    incidence = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.int32), (rows, cols)), shape=(rows.max() + 1, len(names))
    )
    both = (incidence.T @ incidence).tocoo()
    keep = (both.row != both.col) & (both.data >= min_customers)
    return [
        (str(names[a]), str(names[b]), int(n))
        for a, b, n in zip(both.row[keep], both.col[keep], both.data[keep], strict=True)
    ]


LINE_RULES_SECONDS = 900


def line_rules(workspace: Workspace) -> list[Rule]:
    """Every rule between product lines, kept in the cache for up to 15 minutes and until an
    order or a line is added (the key holds the last ids): the contact page reads them on every
    view, and the statement reads every customer's lines."""
    from django.core.cache import cache

    from volano.orders.models import Order, OrderLine

    last_order = Order.objects.for_workspace(workspace).aggregate(last=Max("id"))["last"]
    last_line = OrderLine.objects.for_workspace(workspace).aggregate(last=Max("id"))["last"]
    key = f"volano:related-lines:{workspace.pk}:{last_order}:{last_line}"
    rules = cache.get(key)
    if rules is None:
        rules = related_purchases(workspace, level=LINE, limit=10_000).rules
        cache.set(key, rules, LINE_RULES_SECONDS)
    return rules


def cross_sell_for_contact(workspace: Workspace, *, contact_id: int, limit: int = 5) -> list[dict]:
    """The product lines to offer a customer next: for each line they have not bought, the
    strongest rule (highest lift above 1) from a line they bought, as
    {slug, name, because, confidence, lift}; empty for a contact who bought nothing."""
    bought = set(
        lines_bought(workspace=workspace)
        .filter(order__contact_id=contact_id)
        .values_list("product_line", flat=True)
    )
    if not bought:
        return []
    rules = line_rules(workspace)
    best: dict[str, Rule] = {}
    for rule in rules:
        if rule.antecedent in bought and rule.consequent not in bought and rule.lift > 1:
            kept = best.get(rule.consequent)
            if kept is None or (rule.lift, rule.confidence) > (kept.lift, kept.confidence):
                best[rule.consequent] = rule
    ranked = sorted(best.values(), key=lambda r: (-r.lift, -r.confidence, r.consequent))
    return [
        {
            "slug": r.consequent,
            "name": r.consequent_name,
            "because": r.antecedent_name,
            "confidence": r.confidence,
            "lift": r.lift,
        }
        for r in ranked[:limit]
    ]

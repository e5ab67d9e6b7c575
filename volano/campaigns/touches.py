"""Each contact's first touches, kept ready (`FirstTouch`): the campaign of its first
campaign-linked touch, the asset of its first content-linked touch, its asks and webinar.

Resolved exactly as the reports resolved them per request before (`reports/selectors.py`): an
event belongs to the campaign whose UTM campaign equals its utm_campaign, else its mailing
campaign, else the campaign of the form asset it came from, else the campaign of the asset it
names; to the asset whose UTM content equals its utm_content, else the asset it names, else the
form, else the email asset of its mailing campaign (the lowest id when two share a key). The
first is by (occurred_at, id). "The campaign that brought a lead" before a moment is then the
stored first campaign when it is not after that moment (the first one before it, if any, is the
first one of all).

One statement for a set of contacts (or the whole workspace), the same SQL on SQLite and
PostgreSQL: delete their rows, insert them again from their touch events.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from volano.campaigns.models import Campaign, ContentAsset, FirstTouch
from volano.campaigns.selectors import TOUCH_TYPES
from volano.core.models import Workspace
from volano.events.models import Event, EventType

ASK_TYPES = (
    EventType.FORM_SUBMITTED,
    EventType.CONTENT_DOWNLOADED,
    EventType.WEBINAR_REGISTERED,
)
CHUNK = 5_000  # contact ids per statement (SQLite's variable limit is far above)


def _insert_sql(ws: int, contacts_filter: str) -> str:
    lower = "volano_lower" if connection.vendor == "sqlite" else "LOWER"
    events = Event._meta.db_table
    campaigns = Campaign._meta.db_table
    assets = ContentAsset._meta.db_table
    table = FirstTouch._meta.db_table
    touch_types = ", ".join(f"'{t}'" for t in TOUCH_TYPES)
    ask_types = ", ".join(f"'{t}'" for t in ASK_TYPES)
    return f"""
        INSERT INTO {table} (workspace_id, contact_id, campaign_id, campaign_at, content_id,
                             content_at, asks, webinar)
        WITH cm AS (
            SELECT {lower}(utm_campaign) AS k, MIN(id) AS id FROM {campaigns}
            WHERE workspace_id = {ws} AND utm_campaign <> '' GROUP BY {lower}(utm_campaign)
        ),
        ev AS (
            SELECT e.contact_id, e.occurred_at, e.id, e.type,
                   COALESCE(c1.id, c2.id, f3.campaign_id, f4.campaign_id) AS campaign_id,
                   COALESCE(a1.id, a2.id, a3.id, a4.id) AS content_id
            FROM {events} e
            LEFT JOIN cm c1 ON c1.k = {lower}(e.utm_campaign)
            LEFT JOIN cm c2 ON c2.k = {lower}(e.campaign)
            LEFT JOIN {assets} f3 ON f3.workspace_id = {ws} AND f3.campaign_id IS NOT NULL
                 AND 'form:' || f3.slug = e.source
            LEFT JOIN {assets} f4 ON f4.workspace_id = {ws} AND f4.campaign_id IS NOT NULL
                 AND f4.slug = e.content
            LEFT JOIN (SELECT {lower}(utm_content) AS k, MIN(id) AS id FROM {assets}
                       WHERE workspace_id = {ws} AND utm_content <> ''
                       GROUP BY {lower}(utm_content)) a1 ON a1.k = {lower}(e.utm_content)
            LEFT JOIN (SELECT slug AS k, MIN(id) AS id FROM {assets} WHERE workspace_id = {ws}
                       GROUP BY slug) a2 ON a2.k = e.content
            LEFT JOIN (SELECT 'form:' || slug AS k, MIN(id) AS id FROM {assets}
                       WHERE workspace_id = {ws} GROUP BY slug) a3 ON a3.k = e.source
            LEFT JOIN (SELECT slug AS k, MIN(id) AS id FROM {assets}
                       WHERE workspace_id = {ws} AND kind = 'email' GROUP BY slug) a4
                   ON a4.k = e.campaign
            WHERE e.workspace_id = {ws} AND e.contact_id IS NOT NULL
              AND e.type IN ({touch_types}) {contacts_filter}
        ),
        fc AS (
            SELECT contact_id, campaign_id, occurred_at,
                   ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY occurred_at, id) AS rn
            FROM ev WHERE campaign_id IS NOT NULL
        ),
        ft AS (
            SELECT contact_id, content_id, occurred_at,
                   ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY occurred_at, id) AS rn
            FROM ev WHERE content_id IS NOT NULL
        ),
        agg AS (
            SELECT contact_id,
                   SUM(CASE WHEN type IN ({ask_types}) THEN 1 ELSE 0 END) AS asks,
                   MAX(CASE WHEN type = 'webinar_registered' THEN 1 ELSE 0 END) AS webinar
            FROM ev GROUP BY contact_id
        )
        SELECT {ws}, agg.contact_id, fc.campaign_id, fc.occurred_at, ft.content_id,
               ft.occurred_at, agg.asks, agg.webinar = 1
        FROM agg
        LEFT JOIN fc ON fc.contact_id = agg.contact_id AND fc.rn = 1
        LEFT JOIN ft ON ft.contact_id = agg.contact_id AND ft.rn = 1
    """


def first_touches_refresh(*, workspace: Workspace, contact_ids: Iterable[int] | None = None) -> int:
    """Rebuild the first touches of these contacts (None: every contact of the workspace) from
    their touch events; a contact with no touch has no row. Returns the rows written."""
    ws = int(workspace.pk)
    table = FirstTouch._meta.db_table
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if contact_ids is None:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [ws])
            cursor.execute(_insert_sql(ws, ""))
            written = max(cursor.rowcount, 0)
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {table}")  # the planner's view of the new rows
            return written
        ids = sorted({int(i) for i in contact_ids})
        for at in range(0, len(ids), CHUNK):
            chunk = ids[at : at + CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"DELETE FROM {table} WHERE workspace_id = %s AND contact_id IN ({marks})",
                [ws, *chunk],
            )
            cursor.execute(_insert_sql(ws, f"AND e.contact_id IN ({marks})"), chunk)
            written += max(cursor.rowcount, 0)
    return written

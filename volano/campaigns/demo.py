"""The demo workspace's campaigns (the demo loader calls this after the generated data): a year
of fairs, Google Ads, Meta, newsletters and webinars, the content they promote, and UTM-tagged
traffic on the demo's contacts and anonymous visitors, so the cost, attribution and ROI reports
have something true to say. Costs are loaded by the cost importer's demo, not here.

The generator already tags a share of web sessions with the campaigns of `demo.catalog.CAMPAIGNS`
and the newsletters' clicks with their mailing: the campaigns here carry those UTM names, so that
traffic is theirs. On top, two campaigns whose traffic is inserted here, set-based (one INSERT …
SELECT per kind of touch): the Fieragricola QR codes and a LinkedIn Ads push of the webinars,
each the first touch (a page view and a form 30-60 minutes before) of a share of the contacts
created while it ran, and a page view for a share of anonymous visitors. Those page views have
source "import" (loaded afterwards, as a history import would be), not "tracking": the live
tracker's rows stay in time order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from volano.campaigns.models import Campaign, ContentAsset
from volano.contacts.models import Contact
from volano.core.db import db_now
from volano.core.models import Workspace
from volano.events.models import Event, Visitor

SITE = "https://www.officinarossi.it"


def _campaigns(today: dt.date) -> list[dict[str, Any]]:
    year_ago = today - dt.timedelta(days=365)

    def on(month: int, day: int) -> dt.date:
        """The last `month`/`day` on or before today."""
        date = dt.date(today.year, month, day)
        return date if date <= today else date.replace(year=today.year - 1)

    fieragricola = on(1, 29)
    spring = on(3, 1)
    eima = on(11, 5)
    black_friday = on(11, 20)
    return [
        dict(
            name="Google Ads - Ricambi originali",
            utm_campaign="ricambi-originali",
            channel_group="paid_search",
            objective="sales",
            starts_on=year_ago,
            ends_on=None,
            budget=Decimal("24000"),
        ),
        dict(
            name="Google Ads - Primavera giardino",
            utm_campaign="primavera-giardino",
            channel_group="paid_search",
            objective="leads",
            starts_on=spring,
            ends_on=spring + dt.timedelta(days=75),
            budget=Decimal("9000"),
        ),
        dict(
            name="Meta - Agricoltura 4.0",
            utm_campaign="agricoltura-4-0",
            channel_group="paid_social",
            objective="leads",
            starts_on=year_ago,
            ends_on=None,
            budget=Decimal("12000"),
        ),
        dict(
            name="Meta - Black Friday ricambi (clienti)",
            utm_campaign="black-friday-ricambi",
            channel_group="paid_social",
            objective="cross_sell",
            starts_on=black_friday,
            ends_on=black_friday + dt.timedelta(days=12),
            budget=Decimal("4000"),
            aims_at_customers=True,
        ),
        dict(
            name="Fiera EIMA International",
            utm_campaign="fiera-eima",
            channel_group="offline",
            objective="leads",
            starts_on=eima - dt.timedelta(days=30),
            ends_on=eima + dt.timedelta(days=5),
            budget=Decimal("38000"),
        ),
        dict(
            name="Fieragricola Verona - QR allo stand",
            utm_campaign="fieragricola-qr",
            channel_group="offline",
            objective="leads",
            starts_on=fieragricola - dt.timedelta(days=3),
            ends_on=fieragricola + dt.timedelta(days=25),
            budget=Decimal("16000"),
        ),
        dict(
            name="Newsletter",
            utm_campaign="newsletter",
            channel_group="email",
            objective="nurturing",
            starts_on=year_ago,
            ends_on=None,
            budget=Decimal("3000"),
        ),
        dict(
            name="LinkedIn Ads - Webinar",
            utm_campaign="webinar-linkedin",
            channel_group="paid_social",
            objective="nurturing",
            starts_on=today - dt.timedelta(days=150),
            ends_on=today - dt.timedelta(days=30),
            budget=Decimal("6000"),
        ),
        dict(
            name="Contenuti tecnici",
            utm_campaign="contenuti-tecnici",
            channel_group="organic_search",
            objective="leads",
            starts_on=year_ago,
            ends_on=None,
            budget=Decimal("5000"),
        ),
    ]


# (campaign utm, kind, slug, name, url path, utm_content); slugs equal the generator's content,
# webinar and form keys, so the downloads, registrations and forms it stored link to them.
CONTENTS = (
    (
        "contenuti-tecnici",
        "white_paper",
        "catalogo-ricambi-2026",
        "Catalogo ricambi 2026",
        "/download/catalogo-ricambi-2026.pdf",
        "catalogo-ricambi-2026",
    ),
    (
        "contenuti-tecnici",
        "white_paper",
        "guida-manutenzione",
        "Guida alla manutenzione stagionale",
        "/download/guida-manutenzione.pdf",
        "guida-manutenzione",
    ),
    (
        "contenuti-tecnici",
        "other",
        "listino-rivenditori",
        "Listino rivenditori",
        "/download/listino-rivenditori.pdf",
        "listino-rivenditori",
    ),
    (
        "contenuti-tecnici",
        "article",
        "scheda-tecnica-tr-160",
        "Scheda tecnica TR 160",
        "/download/scheda-tr-160.pdf",
        "scheda-tecnica-tr-160",
    ),
    (
        "webinar-linkedin",
        "webinar",
        "webinar-agricoltura-4-0",
        "Webinar: Agricoltura 4.0, incentivi e macchine connesse",
        "/webinar/agricoltura-4-0",
        "webinar-agricoltura",
    ),
    (
        "webinar-linkedin",
        "webinar",
        "webinar-manutenzione",
        "Webinar: manutenzione preventiva dei trinciaerba",
        "/webinar/manutenzione",
        "webinar-manutenzione",
    ),
    (
        "webinar-linkedin",
        "webinar",
        "webinar-rivenditori",
        "Webinar: novità per i rivenditori",
        "/webinar/rivenditori",
        "webinar-rivenditori",
    ),
    (
        "ricambi-originali",
        "ad",
        "annuncio-ricambi",
        "Annuncio ricerca: ricambi originali",
        "/ricambi/",
        "annuncio-ricambi",
    ),
    (
        "primavera-giardino",
        "landing_page",
        "landing-primavera",
        "Landing primavera giardino",
        "/giardino/primavera",
        "landing-primavera",
    ),
    (
        "agricoltura-4-0",
        "video",
        "video-agricoltura-4-0",
        "Video: la trattrice connessa",
        "/agricoltura-4-0",
        "video-trattrice",
    ),
    (
        "black-friday-ricambi",
        "ad",
        "carosello-black-friday",
        "Carosello Black Friday",
        "/ricambi/black-friday",
        "carosello-bf",
    ),
    (
        "fiera-eima",
        "landing_page",
        "stand-eima",
        "Landing: vieni allo stand EIMA",
        "/fiere/eima",
        "stand-eima",
    ),
    (
        "fieragricola-qr",
        "landing_page",
        "qr-fieragricola",
        "QR allo stand Fieragricola",
        "/fiere/fieragricola",
        "qr-stand",
    ),
    ("newsletter", "email", "newsletter", "Newsletter quindicinale", "", ""),
)

# Traffic inserted here: (campaign utm, utm_source, utm_medium, content utm, landing path,
# every how many contacts created in the campaign's dates, every how many anonymous visitors).
TRAFFIC = (
    ("fieragricola-qr", "fieragricola", "offline", "qr-stand", "/fiere/fieragricola", 3, 9),
    (
        "webinar-linkedin",
        "linkedin",
        "paid_social",
        "webinar-agricoltura",
        "/webinar/agricoltura-4-0",
        7,
        11,
    ),
)


def demo_campaigns_create(*, workspace: Workspace, now: dt.datetime) -> dict[str, int]:
    """Create the campaigns, content and traffic once (a workspace that has campaigns is left
    as it is); returns what was written."""
    if Campaign.objects.for_workspace(workspace).exists():
        return {"campaigns": 0, "contents": 0, "events": 0}
    today = now.date()
    with transaction.atomic():
        campaigns = Campaign.objects.bulk_create(
            Campaign(workspace=workspace, slug=spec["utm_campaign"], created_at=now, **spec)
            for spec in _campaigns(today)
        )
        by_utm = {c.utm_campaign: c for c in campaigns}
        contents = ContentAsset.objects.bulk_create(
            ContentAsset(
                workspace=workspace,
                campaign=by_utm[utm],
                kind=kind,
                slug=slug,
                name=name,
                url=f"{SITE}{path}" if path else "",
                utm_content=utm_content,
                created_at=now,
            )
            for utm, kind, slug, name, path, utm_content in CONTENTS
        )
        events = 0
        for utm, source, medium, content, path, every_contact, every_visitor in TRAFFIC:
            campaign = by_utm[utm]
            events += _traffic_insert(
                workspace,
                campaign,
                source,
                medium,
                content,
                path,
                every_contact,
                every_visitor,
                now,
            )
        _unpaid_sources(workspace)
    return {"campaigns": len(campaigns), "contents": len(contents), "events": events}


# Where the untagged visits of a small manufacturer's site come from besides typing the address:
# (share in hundredths of the untagged page views, utm_source, utm_medium). Search engines and
# referring sites arrive without UTM tags in real life; the demo writes the source / medium the
# tracker would have read from the referrer, so the attribution page has organic search,
# referral and organic social next to the paid channels, as a real site does.
UNPAID = (
    (34, "google", "organic"),
    (5, "bing", "organic"),
    (6, "agrimeccanica.it", "referral"),
    (3, "consorzio-agrario.it", "referral"),
    (4, "facebook", "social"),
    (2, "linkedin", "social"),
)


def _unpaid_sources(workspace: Workspace) -> int:
    """One UPDATE: a share of the untagged tracked page views (by id, so the same on every
    load) gets the source and medium of `UNPAID`; the rest stay direct."""
    cases_source, cases_medium, params_source, params_medium = [], [], [], []
    upto = 0
    for share, source, medium in UNPAID:
        upto += share
        cases_source.append(f"WHEN id %% 100 < {upto} THEN %s")
        cases_medium.append(f"WHEN id %% 100 < {upto} THEN %s")
        params_source.append(source)
        params_medium.append(medium)
    sql = f"""
        UPDATE {Event._meta.db_table}
        SET utm_source = CASE {" ".join(cases_source)} END,
            utm_medium = CASE {" ".join(cases_medium)} END
        WHERE workspace_id = %s AND type = 'page_view' AND source = 'tracking'
          AND utm_source = '' AND utm_medium = '' AND utm_campaign = '' AND campaign = ''
          AND id %% 100 < {upto}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params_source, *params_medium, workspace.pk])
        return cursor.rowcount


def _minus(column: str, minutes: str) -> str:
    """SQL: the datetime `column` minus the minutes of the SQL integer `minutes`."""
    if connection.vendor == "postgresql":
        return f"({column} - ({minutes}) * INTERVAL '1 minute')"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {column}, '-' || ({minutes}) || ' minutes')"


def _plus_days(start: str, days: str) -> str:
    if connection.vendor == "postgresql":
        return f"({start}::timestamptz + ({days}) * INTERVAL '1 day')"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {start}, '+' || ({days}) || ' days')"


def _traffic_insert(
    workspace: Workspace,
    campaign: Campaign,
    source: str,
    medium: str,
    content: str,
    path: str,
    every_contact: int,
    every_visitor: int,
    now: dt.datetime,
) -> int:
    """Set-based: a tagged page view and a form submission 30-60 minutes before the creation of
    every n-th contact created while the campaign ran; a tagged page view for every m-th
    anonymous visitor, on a day of the campaign. Returns the rows inserted."""
    assert campaign.starts_on and campaign.ends_on
    event, contact, visitor = Event._meta.db_table, Contact._meta.db_table, Visitor._meta.db_table
    start = dt.datetime.combine(campaign.starts_on, dt.time(9), tzinfo=dt.UTC)
    end = min(dt.datetime.combine(campaign.ends_on, dt.time(18), tzinfo=dt.UTC), now)
    days = max((end - start).days, 1)
    url = f"{SITE}{path}"
    json_page = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    columns = (
        "workspace_id, contact_id, anonymous_id, type, occurred_at, received_at, channel, source,"
        " utm_source, utm_medium, utm_campaign, utm_term, utm_content, campaign, content,"
        " properties"
    )
    tags = "%s, %s, %s, '', %s, '', ''"
    tag_params = [source, medium, campaign.utm_campaign, content]
    inserted = 0
    with connection.cursor() as cursor:
        for kind, minutes, props in (
            (
                "page_view",
                "60 + c.id %% 30",
                f"{json_page}('url', %s, 'title', %s, 'dwell_seconds', 40 + c.id %% 200)",
            ),
            ("form_submitted", "30", f"{json_page}('form', 'contatti', 'url', %s, 'title', %s)"),
        ):
            at = _minus("c.created_at", minutes)
            cursor.execute(
                f"INSERT INTO {event} ({columns}) SELECT c.workspace_id, c.id, NULL, %s, {at},"
                f" {at}, 'web', %s, {tags}, {props} FROM {contact} c"
                " WHERE c.workspace_id = %s AND c.created_at >= %s AND c.created_at < %s"
                " AND c.id %% %s = 0",
                [
                    kind,
                    "import" if kind == "page_view" else "form:contatti",
                    *tag_params,
                    url,
                    campaign.name,
                    workspace.pk,
                    db_now(start),
                    db_now(end),
                    every_contact,
                ],
            )
            inserted += cursor.rowcount
        at = _plus_days("%s", f"v.id %% {days}")
        props = f"{json_page}('url', %s, 'title', %s, 'dwell_seconds', 20 + v.id %% 120)"
        cursor.execute(
            f"INSERT INTO {event} ({columns}) SELECT v.workspace_id, NULL, v.anonymous_id,"
            f" 'page_view', {at}, {at}, 'web', 'import', {tags}, {props} FROM {visitor} v"
            " WHERE v.workspace_id = %s AND v.contact_id IS NULL AND v.id %% %s = 0",
            [
                db_now(start),
                db_now(start),
                *tag_params,
                url,
                campaign.name,
                workspace.pk,
                every_visitor,
            ],
        )
        inserted += cursor.rowcount
    return inserted

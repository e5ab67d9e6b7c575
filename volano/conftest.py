"""Shared fixtures: named workspaces and people, so tests read like stories.

"officina-rossi" is the manufacturer the demo is about; "ferramenta-bianchi" is another client of
the same agency, whose data must never show up in officina-rossi's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from typing import Any

import pytest
from django.test import TransactionTestCase
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from volano.core import services as core_services
from volano.core.models import Role

REQUIRE_ALL = os.environ.get("VOLANO_REQUIRE_ALL") == "1"

# property tests check results, not how fast examples are made: on a loaded machine Hypothesis's
# "input generation too slow" check failed a test that passes alone
hypothesis_settings.register_profile("volano", suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("volano")


def require_service(name: str, available: bool) -> None:
    """Skip when an outside service is missing; with VOLANO_REQUIRE_ALL=1, fail instead."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{name} is required (VOLANO_REQUIRE_ALL=1) but not available")
    pytest.skip(f"{name} is not available")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def worker_run_once() -> None:
    """Run every queued task of every queue, once: what `volano serve`'s embedded workers do
    between two clicks (the real database worker, no mocks)."""
    import time

    from django.core.management import call_command
    from django.db import OperationalError

    for attempt in range(5):
        try:
            call_command(
                "db_worker",
                "--batch",
                "--queue-name",
                "*",
                "--no-startup-delay",
                "--no-reload",
                verbosity=0,
            )
            return
        except OperationalError as error:
            # SQLite's shared in-memory test database: the live server's thread may still hold
            # a table lock for the page that queued the work (the real worker polls again)
            if "locked" not in str(error) or attempt == 4:
                raise
            time.sleep(0.2)


# The tables a transactional test's teardown leaves as they are: what `migrate` wrote once for the
# whole run (Django's flush empties them, then its post_migrate signal writes them all again).
KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})
FEW_ROWS = 1000  # a table with more is emptied by Django's TRUNCATE (PostgreSQL)
# Django's own teardown (its flush), kept for the tests that wrote many rows (not in the stubs)
_DJANGO_TEARDOWN = TransactionTestCase.__dict__["_fixture_teardown"]


def _empty_tables(self) -> None:
    """A transactional test's teardown (`TransactionTestCase._fixture_teardown`): every table
    emptied with DELETE, in one transaction, content types and permissions kept.

    Django's flush on PostgreSQL is one TRUNCATE of every table, which makes new files for each
    table and index: 1.9–2.2 s on an idle machine for tables that hold a few rows, then 0.4 s of
    post_migrate writing the content types and permissions back. DELETE of a few rows costs
    milliseconds, and the foreign keys (all deferrable) are checked at commit, when every table is
    empty, so the order does not matter. A test's rows are gone all the same: the next test
    starts from the migrated database, as with Django's flush.

    A test that wrote thousands of rows (a real worker importing a file) gets Django's flush
    instead: deleting 50,000 contacts one by one, each checked against every table that points
    at contacts, took 49 s where TRUNCATE takes 2."""
    from django.db import connections, transaction

    for name in self._databases_names(include_mirrors=False):
        connection = connections[name]
        tables = [
            table
            for table in connection.introspection.django_table_names(
                only_existing=True, include_views=False
            )
            if table not in KEPT_TABLES
        ]
        if connection.vendor == "postgresql" and _many_rows(connection, tables):
            _DJANGO_TEARDOWN(self)  # Django's flush, of every database as Django does
            return
        quote = connection.ops.quote_name
        with transaction.atomic(using=name), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in tables:
                cursor.execute(f"DELETE FROM {quote(table)}")


def _many_rows(connection, tables: list[str]) -> bool:
    """Whether any of the tables holds more than FEW_ROWS rows (one quick statement)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT "
            + " OR ".join(f"EXISTS (SELECT 1 FROM {quote(t)} OFFSET {FEW_ROWS})" for t in tables)
        )
        return bool(cursor.fetchone()[0])


@pytest.fixture(scope="session", autouse=True)
def _quick_teardown():
    setattr(TransactionTestCase, "_fixture_teardown", _empty_tables)  # noqa: B010 (not in stubs)
    yield
    setattr(TransactionTestCase, "_fixture_teardown", _DJANGO_TEARDOWN)  # noqa: B010


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite, the test database is a file in memory-backed /dev/shm, not Django's shared
    in-memory database: with the in-memory one the live server's thread and the test's thread
    share one connection, and a query from the test (reading what a click saved) interleaved with
    a request the page sent by itself (an HTMX preview on load) lost that request its session,
    which signed Giulia out in the middle of a browser test. With a file each thread has its own
    connection, and WAL with a busy timeout orders them, as in production."""
    import tempfile

    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3" or db["TEST"].get("NAME"):
        yield
        return
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    name = os.path.join(folder, f"volano-test-{os.getpid()}.sqlite3")
    db["TEST"]["NAME"] = name
    yield
    for leftover in (name, f"{name}-wal", f"{name}-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)


@pytest.fixture(scope="session")
def migrated_data_dir(tmp_path_factory):
    """A data folder made once by a real `volano init` (its SQLite migrated from the first
    migration), for the tests that run `volano` as a process: each copies it
    (`initialised_process_env`) rather than migrate again, 13-19 s of CPU each time."""
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path_factory.mktemp("volano-initialised")
    env = sqlite_process_env(folder)
    done = subprocess.run(
        [sys.executable, "-m", "volano", "init"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (folder / "volano.sqlite3").exists()
    return folder


def sqlite_process_env(data_dir) -> dict[str, str]:
    """The environment of a real `volano` process on its own data folder (and the SQLite in it),
    whichever database the suite runs on."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["VOLANO_DATA_DIR"] = str(data_dir)
    return env


def other_sessions_ended(deadline: float) -> bool:
    """PostgreSQL: wait until no other client session is connected to the test database, and
    say whether that happened before `deadline` (time.monotonic()). A killed process's session
    notices its client is gone only when its statement (or COMMIT) ends; until then its
    transaction still holds its row locks and its writes may still land."""
    import time

    from django.db import connection

    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
            if cursor.fetchone()[0] == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def in_the_sqlite_suite_only() -> None:
    """Skip a test that runs `volano` as a process on a SQLite data folder of its own when the
    suite runs on PostgreSQL: that process never sees the suite's database, so the PostgreSQL
    suite would run the same thing again (about a minute of CPU)."""
    if database_is_postgres():
        pytest.skip("a `volano` process on its own SQLite folder: the SQLite suite runs it")


def initialised_process_env(request, target) -> dict[str, str]:
    """The environment of a real `volano` process on a data folder of its own at `target`,
    copied from `migrated_data_dir`. Skipped on PostgreSQL before `volano init` runs (the
    fixture is asked for only then), since the process would not see the suite's database."""
    in_the_sqlite_suite_only()
    shutil.copytree(request.getfixturevalue("migrated_data_dir"), target)
    return sqlite_process_env(target)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, settings):
    """Each test gets its own data folder (outbox, uploads), a fast password hasher and an empty
    cache (rate-limit counters would otherwise carry over from one test to the next)."""
    from django.core.cache import cache

    cache.clear()
    settings.LANGUAGE_CODE = "en"  # tests read English; one test checks the Italian pages
    # PBKDF2's 1.2M iterations cost most of the suite's time; no test is about the hash itself.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = tmp_path / "data" / "uploads"
    settings.MAILERS = {
        "default": {
            "BACKEND": "volano.core.mail.OutboxBackend",
            "OPTIONS": {"directory": str(tmp_path / "data" / "outbox")},
        }
    }
    # a new workspace's sending policy without quiet hours and frequency cap: a marketing send
    # in a test must not depend on the hour the suite runs at (volano/emails/tests/test_policy.py
    # tests them with both on, the production defaults)
    settings.VOLANO_EMAIL_POLICY_DEFAULTS = {"quiet_enabled": False, "cap_enabled": False}


@pytest.fixture
def officina(db):
    # English, like the tests' requests: a test about Italian says so (workspace.language = "it")
    return core_services.workspace_create(
        slug="officina-rossi", name="Officina Rossi S.r.l.", language="en"
    )


@pytest.fixture
def ferramenta(db):
    return core_services.workspace_create(
        slug="ferramenta-bianchi", name="Ferramenta Bianchi", language="en"
    )


@pytest.fixture
def giulia(officina):
    """Giulia, the marketer of Officina Rossi."""
    user = core_services.user_create(
        email="giulia@officinarossi.it", password="giulia-pass-2026", full_name="Giulia Verdi"
    )
    core_services.membership_set(workspace=officina, user=user, role=Role.MARKETER)
    return user


@pytest.fixture
def marco(officina):
    """Marco, the sales rep for spare parts in Lombardy."""
    user = core_services.user_create(
        email="marco@officinarossi.it", password="marco-pass-2026", full_name="Marco Neri"
    )
    core_services.membership_set(
        workspace=officina,
        user=user,
        role=Role.SALES,
        regions=["Lombardia"],
        product_lines=["ricambi"],
    )
    return user


@pytest.fixture
def bruno(ferramenta):
    """Bruno, the admin of the other workspace."""
    user = core_services.user_create(
        email="bruno@ferramentabianchi.it", password="bruno-pass-2026", full_name="Bruno Bianchi"
    )
    core_services.membership_set(workspace=ferramenta, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def giulia_token(officina, giulia):
    _token, raw = core_services.token_create(workspace=officina, user=giulia)
    return raw


@pytest.fixture
def bruno_token(ferramenta, bruno):
    _token, raw = core_services.token_create(workspace=ferramenta, user=bruno)
    return raw


@pytest.fixture
def api(client, giulia_token):
    """A Django test client that speaks JSON to /api/v1 with Giulia's token."""
    return ApiClient(client, giulia_token)


class ApiClient:
    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path, data):
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )

    def patch(self, path, data):
        return self.client.patch(
            f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )

    def put(self, path, data):
        return self.client.put(
            f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )

    def delete(self, path):
        return self.client.delete(f"/api/v1{path}", headers=self.headers)


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    try:
        import playwright  # noqa: F401
    except ImportError:
        path = None
    require_service("Chromium (apt-get install chromium) with playwright", path is not None)
    return path


@pytest.fixture(scope="session")
def redis_url():
    require_service("Redis on 127.0.0.1:6379", port_open("127.0.0.1", 6379))
    return "redis://127.0.0.1:6379/15"


def database_is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


@pytest.fixture(scope="session")
def _chromium_session(chromium_path):
    """One Playwright driver and one Chromium for the whole run, each test in a context of its
    own (cookies, storage and pages of its own, closed after it): starting the driver and the
    browser cost 2-7 s a test, over a minute per suite.

    Playwright's sync API leaves its event loop marked as running in this thread between two
    calls; a later test's own asyncio (async_to_sync, an async view) would refuse to run then.
    The mark is set only while a browser test holds the `chromium` fixture."""
    import asyncio

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    shared: dict[str, Any] = {
        "playwright": playwright,
        "loop": asyncio.get_running_loop(),
        "browser": playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS),
    }
    asyncio._set_running_loop(None)
    yield shared
    asyncio._set_running_loop(shared["loop"])
    with contextlib.suppress(Exception):
        shared["browser"].close()
    playwright.stop()


@pytest.fixture
def chromium(_chromium_session, chromium_path):
    """The shared Chromium, for one test (a new context per test: `chromium.new_context()`);
    launched again if an earlier test crashed it."""
    import asyncio

    asyncio._set_running_loop(_chromium_session["loop"])
    try:
        if not _chromium_session["browser"].is_connected():
            _chromium_session["browser"] = _chromium_session["playwright"].chromium.launch(
                executable_path=chromium_path, args=CHROMIUM_ARGS
            )
        yield _chromium_session["browser"]
    finally:
        asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def _live_server_warm(live_server):
    """One request to the live server before the first page: its first answer imports the views
    and compiles templates (seconds, more on a loaded machine or a fresh clone), which the first
    browser test's `page.goto` would otherwise spend out of its 8 s."""
    import urllib.request

    with contextlib.suppress(OSError):
        urllib.request.urlopen(f"{live_server.url}/login/", timeout=120).read()


@pytest.fixture
def page(request, live_server, _live_server_warm, client, giulia, chromium):
    """Giulia signed in, in Chromium (English), against the live server. A test module sets
    VIEWPORT_WIDTH for a wider window; errors thrown by the page's JavaScript fail the test."""
    from django.conf import settings

    client.force_login(giulia)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    width = getattr(request.module, "VIEWPORT_WIDTH", 1400)
    context = chromium.new_context(viewport={"width": width, "height": 1000}, locale="en-GB")
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    # Content-Security-Policy violations fail the test like JavaScript errors: the event
    # every document fires, and Chromium's console line, caught on every page visited.
    violations: list[str] = []
    context.expose_function("__volanoCspViolation", lambda text: violations.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.csp_violations = violations  # type: ignore[attr-defined]
    page.set_default_timeout(8000)
    yield page
    context.close()
    assert not errors, errors
    assert not violations, violations


CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__volanoCspViolation(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
    + ` on ${document.location.pathname}: ${e.sample}`
  );
});
"""


def reactions_run_pending() -> int:
    """Run the after-commit reactions of every pending outbox row, and of the rows they add in
    turn, as the worker's task does: for tests whose transaction never commits (so nothing was
    dispatched). Returns how many rows ran."""
    from volano.core.models import OutboxStatus, ReactionOutbox
    from volano.core.reactions import outbox_run

    ran = 0
    while True:
        pending = list(
            ReactionOutbox.objects.filter(status=OutboxStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not pending:
            return ran
        ran += outbox_run(outbox_ids=pending)

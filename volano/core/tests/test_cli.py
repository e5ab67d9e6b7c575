"""The `volano` command as an operator uses it: in-process through call_command, and as a real
process (exit codes, stdin, `serve`) against its own data folder and SQLite database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from volano.conftest import initialised_process_env
from volano.contacts.models import Contact
from volano.core.errors import ApplicationError
from volano.core.management.commands.serve import WORKER_QUEUES
from volano.core.models import ApiToken, Membership, Role, User, Workspace
from volano.core.selectors import token_authenticate
from volano.demo import generator
from volano.events.models import Event, Form

REPO = Path(__file__).resolve().parents[3]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def volano_env(tmp_path_factory, request):
    """Environment of a real `volano` process: its own data folder with a migrated SQLite, made
    by `volano init` (once a run: `migrated_data_dir`)."""
    return initialised_process_env(request, tmp_path_factory.mktemp("volano-data") / "d")


def volano(env: dict, *args: str, input: str | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "volano", *args],
        env=env,
        cwd=REPO,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_init_creates_the_data_folder_and_is_idempotent(volano_env):
    assert (Path(volano_env["VOLANO_DATA_DIR"]) / "volano.sqlite3").exists()
    again = volano(volano_env, "init")
    assert again.returncode == 0
    assert "already up to date" in again.stdout


def test_demo_loads_officina_rossi_once_and_prints_the_login(db, settings, monkeypatch):
    first = run("demo", "--size", "small")
    workspace = Workspace.objects.get(slug="officina-rossi")
    assert workspace.name == "Officina Rossi S.r.l."
    contacts = Contact.objects.for_workspace(workspace).count()
    events = Event.objects.for_workspace(workspace).count()
    assert 1_900 <= contacts <= 2_100
    assert 40_000 <= events <= 90_000
    # Stored as a live workspace stores them: in time order, ids included.
    generated = Event.objects.for_workspace(workspace).filter(source="tracking").order_by("pk")
    moments = list(generated.values_list("occurred_at", flat=True))
    assert len(moments) > 10_000
    assert moments == sorted(moments)
    login = (Path(settings.DATA_DIR) / "demo-login.txt").read_text()
    password = next(line.split(": ", 1)[1] for line in login.splitlines() if "password" in line)
    assert "http://127.0.0.1:8000" in first
    assert "demo@volano.local" in first
    assert password in first
    # every login of the demo is printed, the admin first, each with its role
    logins = [line.split() for line in first.splitlines() if "@" in line]
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    assert {words[0] for words in logins} == {m.user.email for m in members}
    assert len(logins) == 6
    assert logins[0][:2] == ["demo@volano.local", "admin"]
    assert "marco.neri@officinarossi.it sales rep, Nord-Ovest (Marco Neri)" in [
        " ".join(words) for words in logins
    ]
    assert authenticate(username="demo@volano.local", password=password) is not None

    reps = Membership.objects.filter(workspace=workspace, role=Role.SALES)
    assert reps.count() == 4
    nord_ovest = reps.get(user__email="marco.neri@officinarossi.it")
    assert set(nord_ovest.regions) == {
        "Piemonte",
        "Liguria",
        "Lombardia",
        "Valle d'Aosta/Vallée d'Aoste",
    }
    assert nord_ovest.product_lines == ["macchine", "ricambi", "assistenza"]
    assert Membership.objects.filter(workspace=workspace, role=Role.MARKETER).count() == 1
    # Every form its submissions name is declared, so the demo site's forms accept posts.
    used = set(
        Event.objects.for_workspace(workspace)
        .filter(type="form_submitted")
        .values_list("properties__form", flat=True)
    )
    declared = set(
        Form.objects.for_workspace(workspace).filter(is_active=True).values_list("slug", flat=True)
    )
    assert "richiesta-preventivo" in used and used <= declared

    second = run("demo")
    assert "already there" in second
    assert password in second
    assert "sara.esposito@officinarossi.it" in second
    assert Contact.objects.for_workspace(workspace).count() == contacts
    assert Event.objects.for_workspace(workspace).count() == events

    # --force wipes it and loads it again (in this test: a demo load is the suite's costliest
    # step, so the second load is a tiny one; the small size's figures are checked above)
    monkeypatch.setitem(
        generator.SIZES,
        "test",
        generator.Size(contacts=40, companies=10, activity=0.2, anonymous_visitors=5),
    )
    out = run("demo", "--force", "--size", "test")
    assert "Loaded the demo workspace" in out
    fresh = Workspace.objects.get(slug="officina-rossi")
    assert fresh.pk != workspace.pk
    assert not Contact.objects.for_workspace(workspace).exists()
    assert not Event.objects.for_workspace(workspace).exists()
    assert 0 < Contact.objects.for_workspace(fresh).count() < 1_900


def test_workspace_create_and_list(db):
    assert "Created workspace ferramenta-bianchi" in run(
        "workspace", "create", "ferramenta-bianchi", "--name", "Ferramenta Bianchi"
    )
    assert Workspace.objects.get(slug="ferramenta-bianchi").name == "Ferramenta Bianchi"
    assert "ferramenta-bianchi\tFerramenta Bianchi" in run("workspace", "list")
    with pytest.raises(ApplicationError, match="already exists"):
        run("workspace", "create", "ferramenta-bianchi", "--name", "Again")


def _stdin_pipe(monkeypatch, text: str) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as writer:
        writer.write(text)
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_fd))


def test_user_create_reads_the_password_from_stdin(officina, monkeypatch):
    _stdin_pipe(monkeypatch, "una-password-lunga-2026\n")
    out = run(
        "user",
        "create",
        "Marco@OfficinaRossi.it",
        "--workspace",
        "officina-rossi",
        "--role",
        "sales",
        "--name",
        "Marco Neri",
        "--region",
        "lombardia",
        "--province",
        "Torino",
        "--product-line",
        "ricambi",
    )
    assert "Created user marco@officinarossi.it" in out
    assert "Password" not in out
    assert authenticate(username="marco@officinarossi.it", password="una-password-lunga-2026")
    membership = Membership.objects.get(user__email="marco@officinarossi.it")
    assert (
        membership.role,
        membership.regions,
        membership.provinces,
        membership.product_lines,
    ) == (
        "sales",
        ["Lombardia"],
        ["TO"],
        ["ricambi"],
    )


def test_user_create_generates_and_prints_a_password_without_stdin(officina, monkeypatch):
    _stdin_pipe(monkeypatch, "")
    out = run(
        "user",
        "create",
        "viewer@officinarossi.it",
        "--workspace",
        "officina-rossi",
        "--role",
        "viewer",
    )
    password = out.split("Password: ", 1)[1].strip()
    assert len(password) >= 12
    assert authenticate(username="viewer@officinarossi.it", password=password)


def test_user_create_refuses_a_bad_territory_and_creates_nothing(officina, monkeypatch):
    _stdin_pipe(monkeypatch, "")
    with pytest.raises(ApplicationError, match="not an Italian region"):
        run(
            "user",
            "create",
            "x@officinarossi.it",
            "--workspace",
            "officina-rossi",
            "--role",
            "sales",
            "--region",
            "Atlantide",
        )
    assert not User.objects.filter(email="x@officinarossi.it").exists()


def test_token_is_printed_once_and_stored_hashed(officina, giulia):
    raw = run(
        "token",
        "create",
        "--workspace",
        "officina-rossi",
        "--user",
        giulia.email,
        "--name",
        "gestionale",
    ).strip()
    assert raw.startswith("vol_")
    token = ApiToken.objects.get(workspace=officina, user=giulia)
    assert token.name == "gestionale"
    assert token.key_hash == ApiToken.hash(raw)
    assert raw not in (token.key_hash, token.prefix)
    authenticated = token_authenticate(raw=raw)
    assert authenticated is not None and authenticated.workspace == officina


def test_token_for_a_non_member_is_refused(officina, bruno):
    with pytest.raises(ApplicationError, match="not a member"):
        run("token", "create", "--workspace", "officina-rossi", "--user", bruno.email)


def test_errors_are_a_clean_message_and_exit_status_2(volano_env):
    bad_slug = volano(volano_env, "workspace", "create", "Not A Slug!", "--name", "X")
    assert bad_slug.returncode == 2
    assert bad_slug.stderr.startswith("error: slug: a workspace slug is")
    assert "Traceback" not in bad_slug.stderr

    no_workspace = volano(
        volano_env, "user", "create", "a@b.it", "--workspace", "nowhere", "--role", "admin"
    )
    assert no_workspace.returncode == 2
    assert "no workspace 'nowhere'" in no_workspace.stderr

    no_user = volano(volano_env, "token", "create", "--workspace", "nowhere", "--user", "a@b.it")
    assert no_user.returncode == 2


def test_a_real_process_takes_the_password_from_stdin_and_prints_the_token_once(volano_env):
    created = volano(volano_env, "workspace", "create", "agenzia-test", "--name", "Agenzia")
    assert created.returncode == 0, created.stderr
    user = volano(
        volano_env,
        "user",
        "create",
        "anna@agenzia.it",
        "--workspace",
        "agenzia-test",
        "--role",
        "admin",
        input="password-da-stdin-42\n",
    )
    assert user.returncode == 0, user.stderr
    assert "password-da-stdin-42" not in user.stdout
    assert "Password:" not in user.stdout
    token = volano(
        volano_env, "token", "create", "--workspace", "agenzia-test", "--user", "anna@agenzia.it"
    )
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("vol_")
    assert len(token.stdout.strip().splitlines()) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def test_serve_answers_http_with_its_css_and_stops_on_sigterm(volano_env, tmp_path):
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "volano", "serve", "--port", str(port)],
            env={**volano_env, "PYTHONUNBUFFERED": "1"},
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        running = f"Volano is running on http://127.0.0.1:{port}/"
        while time.monotonic() < deadline and server.poll() is None:
            text = log.read_text()
            started = [f"Background worker started (queue: {q})" in text for q in WORKER_QUEUES]
            if running in text and all(started):
                break
            time.sleep(0.3)
        assert running in log.read_text(), log.read_text()
        # "running" is printed once the port accepts connections: the first try answers
        status, page = _get(f"http://127.0.0.1:{port}/login/")
        assert status == 200, log.read_text()
        assert "Background worker started (queue: bulk)" in log.read_text()
        assert b"/static/core/volano.css" in page
        css_status, css = _get(f"http://127.0.0.1:{port}/static/core/volano.css")
        assert css_status == 200 and len(css) > 100
        # a worker that dies (SQLite's "database is locked" once took one down, and the
        # whole server with it) is started again, and the web server goes on answering
        found = subprocess.run(
            ["pgrep", "-P", str(server.pid), "-f", "worker --queue default"],
            capture_output=True,
            text=True,
        )
        dead = int(found.stdout.split()[0])
        os.kill(dead, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = log.read_text()
            if text.count("Background worker started (queue: default)") == 2:
                break
            time.sleep(0.3)
        assert "A background worker stopped (exit status -9); starting it again" in text, text
        assert text.count("Background worker started (queue: default)") == 2, text
        assert server.poll() is None
        assert _get(f"http://127.0.0.1:{port}/login/")[0] == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0, log.read_text()
        assert "Stopping Volano…" in log.read_text()
        with pytest.raises(ProcessLookupError):  # the worker and granian stopped with it
            os.killpg(server.pid, 0)
        with pytest.raises(OSError):
            _get(f"http://127.0.0.1:{port}/login/")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_serve_refuses_a_port_already_taken_and_starts_nothing(volano_env):
    """A second `volano serve` on a taken port once started silently (granian binds with
    SO_REUSEPORT) and the two servers shared the traffic."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        second = volano(volano_env, "serve", "--port", str(port), timeout=60)
    assert second.returncode == 2, second.stdout + second.stderr
    assert second.stderr.startswith(f"error: port {port} on 127.0.0.1 is already in use")
    assert "--port" in second.stderr
    assert "Traceback" not in second.stderr
    assert "running" not in second.stdout and "worker" not in second.stdout


def test_help_lists_volanos_own_commands_grouped_and_django_s_stay_reachable(volano_env):
    from django.core.management import get_commands

    for args in (["--help"], [], ["help"]):
        shown = volano(volano_env, *args)
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert "Start" in lines and "Data" in lines and "Workspaces and people" in lines
        listed = {line.split()[0] for line in lines if line.startswith("  ")}
        ours = {name for name, app in get_commands().items() if app.startswith("volano")}
        assert ours == listed  # every Volano command, one line each, and nothing else
        assert "changepassword" not in shown.stdout and "[django]" not in shown.stdout
        assert "volano help --all" in shown.stdout
    everything = volano(volano_env, "help", "--all")
    assert everything.returncode == 0
    assert "[django]" in everything.stdout and "migrate" in everything.stdout
    assert "serve" in everything.stdout
    one = volano(volano_env, "serve", "--help")
    assert one.returncode == 0 and "--port" in one.stdout


WORKER_SCRIPT = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "volano.settings")
import django
django.setup()
from django.core.management import call_command
from volano.segments.tasks import segments_refresh_contacts_task as task
task.enqueue(workspace_id=0, contact_ids=[])  # nothing to do: succeeds
task.enqueue(workspace_id="not-a-number", contact_ids=[])  # fails
call_command("db_worker", "--batch", "--queue-name", "default", "--no-startup-delay",
             "--no-reload")
"""


def test_the_worker_logs_no_line_per_task_by_default_but_every_failure(volano_env):
    quiet = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT],
        env=volano_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quiet.returncode == 0, quiet.stderr
    output = quiet.stdout + quiet.stderr
    assert "state=SUCCESSFUL" not in output and "state=RUNNING" not in output
    assert "Starting worker" not in output
    assert output.count("state=FAILED") == 1, output
    assert "not-a-number" in output  # with its traceback

    verbose = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT],
        env={**volano_env, "VOLANO_LOG_LEVEL": "INFO"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verbose.returncode == 0, verbose.stderr
    assert "state=SUCCESSFUL" in verbose.stdout + verbose.stderr


def test_a_port_whose_connections_linger_in_time_wait_is_free_again():
    """A restart right after a stop: the server closed its connections first, so they wait in
    TIME_WAIT on its port; that port is free to serve on, a listening one is not. The listener
    sets SO_REUSEADDR as servers do (Rust's TcpListener, under granian, always does)."""
    from volano.core.management.commands.serve import port_require_free

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    with pytest.raises(ApplicationError, match=f"port {port} on 127.0.0.1 is already in use"):
        port_require_free("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _address = listener.accept()
    accepted.close()  # the server side closes first: TIME_WAIT is on the server's port
    client.recv(1)
    client.close()
    listener.close()
    port_require_free("127.0.0.1", port)

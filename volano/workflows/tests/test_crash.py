"""kill -9 of a worker while 10,000 steps are due, then a restart: every step runs once.

5,000 contacts with two steps each (issue 15). A real `volano workflows run-due` process on the
PostgreSQL test database is killed with SIGKILL as soon as its first pass has committed, while
the second pass (5,000 score adjustments) is in flight; the pass's transaction dies with it, so
its row locks (the claim) go too. A restart runs what is left: every contact has the property
set and exactly one score adjustment (the timeline has one `score_adjusted` event each, and the
score is the points given once).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from volano.conftest import other_sessions_ended
from volano.contacts.models import Contact
from volano.events.models import Event
from volano.scoring.models import Score
from volano.scoring.services import score_model_save
from volano.workflows import services
from volano.workflows.models import Enrolment, StepRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[3]
CONTACTS = 5_000  # x 2 steps: 10,000 steps due when the worker is killed


def test_a_worker_killed_in_the_middle_loses_no_step_and_runs_none_twice(
    officina, giulia, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("a second process on the test database: PostgreSQL (DATABASE_URL=postgres://…)")
    model = score_model_save(
        workspace=officina,
        actor=giulia,
        data={"slug": "ricambi", "name": "Ricambi", "rules": [
            {"kind": "fit", "when": {"field": "city", "op": "eq", "value": "Brescia"},
             "points": 15}]},
    )  # fmt: skip
    Contact.objects.bulk_create(
        [Contact(workspace=officina, email=f"c{i}@crash.example.it") for i in range(CONTACTS)],
        batch_size=5_000,
    )
    workflow = services.workflow_create(
        workspace=officina,
        actor=giulia,
        definition={
            "name": "Premio",
            "trigger": {"kind": "manual"},
            "steps": [
                {"key": "citta", "kind": "update_property", "field": "city", "value": "Bergamo"},
                {"key": "premio", "kind": "adjust_score", "model": "ricambi", "points": 5},
            ],
        },
    )
    workflow = services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)
    services.workflow_enrol(
        workspace=officina,
        actor=None,
        workflow=workflow,
        contacts=Contact.objects.for_workspace(officina),
        source="test",
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VOLANO_DATA_DIR": str(tmp_path / "worker"),
    }
    log = tmp_path / "run-due.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "volano", "workflows", "run-due", "--workspace", officina.slug],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    runs = StepRun.objects.for_workspace(officina)
    deadline = time.monotonic() + 300
    try:
        while not runs.exists():  # the first pass (10,000 updates) has committed
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    at_kill = runs.count()
    assert at_kill < 2 * CONTACTS, "the kill came after the work: the test proves nothing"
    # the killed worker's session may still hold the claim's row locks, and a restart before it
    # ends skips those rows (SKIP LOCKED) for a later pass: on a loaded machine it found nothing
    assert other_sessions_ended(deadline), "the killed worker's sessions are still there"

    services.workflows_run_due(workspace=officina)  # the restart

    assert runs.count() == 2 * CONTACTS
    assert Enrolment.objects.for_workspace(officina).filter(status="completed").count() == CONTACTS
    assert Contact.objects.for_workspace(officina).exclude(city="Bergamo").count() == 0
    adjusted = Event.objects.for_workspace(officina).filter(type="score_adjusted")
    assert adjusted.count() == CONTACTS
    assert adjusted.values("contact_id").distinct().count() == CONTACTS
    scores = Score.objects.for_workspace(officina).filter(model=model)
    assert scores.count() == CONTACTS
    assert set(scores.values_list("points", flat=True)) == {5}

"""What a `volano` process loads when it starts: every command, server worker and test subprocess
pays it. scipy alone was 1.9-2.3 s a process (the media-mix model and CLV import it on first
use); this keeps it, and the other heavy libraries only some pages use, out of the start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from volano.conftest import in_the_sqlite_suite_only, sqlite_process_env

HEAVY = ("scipy", "sklearn", "weasyprint", "openpyxl")


def test_loading_every_url_and_model_imports_no_heavy_library(tmp_path):
    in_the_sqlite_suite_only()  # a process of its own, on a SQLite folder of its own
    env = sqlite_process_env(tmp_path / "data")
    env["DJANGO_SETTINGS_MODULE"] = "volano.settings"
    probe = (
        "import sys, django; django.setup(); import volano.urls;"
        f" print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], f"imported at start: {done.stdout.strip()}"

"""Settings for the events_ingest benchmark's server only: volano.settings plus what the
benchmark measures before it goes into volano/settings.py.

VOLANO_BENCH_SQLITE_PRAGMAS  e.g. "PRAGMA cache_size=-524288; PRAGMA mmap_size=1073741824;",
                             appended to the SQLite init_command (later pragmas win).
"""

import os

from volano.settings import *  # noqa: F403
from volano.settings import DATABASES

_pragmas = os.environ.get("VOLANO_BENCH_SQLITE_PRAGMAS", "").strip()
if _pragmas and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"]["init_command"] += " " + _pragmas

# One connection for the whole run, so the benchmark can read its backend's CPU time.
DATABASES["default"]["CONN_MAX_AGE"] = None

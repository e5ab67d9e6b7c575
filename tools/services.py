"""Is an outside service reachable? Exit 0: yes, run its tests. 3: no, skip them. 1: no, and
VOLANO_REQUIRE_ALL=1 says a missing one is a failure.

usage: python tools/services.py postgres|redis|rabbitmq|chromium
"""

import os
import shutil
import socket
import sys

TARGETS = {
    "postgres": ("127.0.0.1", 5432),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
}


def reachable(name: str) -> bool:
    if name == "chromium":
        return shutil.which("chromium") is not None or os.path.exists("/usr/bin/chromium")
    host, port = TARGETS[name]
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    name = sys.argv[1]
    if reachable(name):
        sys.exit(0)
    if os.environ.get("VOLANO_REQUIRE_ALL") == "1":
        print(f"{name} is not reachable and VOLANO_REQUIRE_ALL=1: failing", file=sys.stderr)
        sys.exit(1)
    print(
        f"{name} is not reachable: skipping its tests (VOLANO_REQUIRE_ALL=1 makes this a failure)"
    )
    sys.exit(3)

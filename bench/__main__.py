"""Run every benchmark: `python -m bench --quick` (seconds each) or `--full` (the sizes the issues name).

Each benchmark is also runnable alone: `python -m bench.<name> --quick|--full`. Results are written
by hand into docs/benchmarks.md with date, machine, database and command.
"""

import subprocess
import sys

BENCHMARKS = [
    "import_contacts",
    "events_ingest",
    "events_write_parts",
    "tracking",
    "contact_page",
    "scoring",
    "handoff",
    "predictive",
    "email_render",
    "email_transactional",
    "clv",
    "budgets",
    "attribution",
    "workflows",
    "workflow_replay",
    "campaign_reports",
    "budget_plans",
]


def main() -> int:
    mode = "--full" if "--full" in sys.argv else "--quick"
    failed = []
    for name in BENCHMARKS:
        print(f"== bench.{name} {mode}", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{name}", mode]) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

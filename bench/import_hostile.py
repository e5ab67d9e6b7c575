"""Benchmark: peak memory and time of reading hostile import files (issue 10), one subprocess each.

    .venv/bin/python -m bench.import_hostile --quick    # small versions of each file (seconds)
    .venv/bin/python -m bench.import_hostile --full     # the sizes of the issue: a 300 MB header
                                                        # cell, 3M shared strings, a 4 GB zip bomb
    options: --case TEXT  only the cases whose label contains TEXT
             --openpyxl   also read each workbook the old way (openpyxl read-only), for comparison
                          (not the zip bomb at full size: it takes minutes)

Each file is built on disk in blocks (the builder costs no memory), then a fresh Python process
reads it as the worker does (`reading.preview`, then every row) and reports its own peak RSS
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`), the outcome and the message. The baseline is the
RSS of the same process after Django starts, before reading.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cases(full: bool) -> list[tuple[str, str, int]]:
    scale = 1 if full else 100
    return [
        ("huge header cell (xlsx)", "huge_header_cell", 300_000_000 // scale),
        ("shared strings (xlsx)", "huge_shared_strings", 3_000_000 // scale),
        ("zip bomb (xlsx)", "zip_bomb", 4_000_000_000 // scale),
        # Under the uncompressed limit, so read to the end: memory must stay flat anyway.
        ("1 GB of blanks (xlsx)", "zip_bomb", 1_000_000_000 // scale),
        ("20,000 columns (xlsx)", "wide_header", 20_000),
        ("huge data cell (csv)", "csv_huge_cell", 100_000_000 // scale),
    ]


def _child(path: str, engine: str) -> None:
    import resource

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "volano.settings")
    import django

    django.setup()
    from volano.imports.reading import FileUnusable, open_table

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    outcome, message, rows = "read", "", 0
    try:
        if engine == "openpyxl":
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True, data_only=True)
            for _row in workbook.worksheets[0].iter_rows(values_only=True):
                rows += 1
            workbook.close()
        else:
            table = open_table(path)
            for _row in table.rows:
                rows += 1
            if table.bad_cells:
                outcome, message = "row error", next(iter(table.bad_cells.values()))[0][1]
    except FileUnusable as error:
        outcome, message = "refused", error.message
    except Exception as error:  # the old reader: whatever it raises
        outcome, message = "error", f"{type(error).__name__}: {error}"[:200]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "outcome": outcome,
                "message": message[:200],
                "rows": rows,
                "seconds": round(time.perf_counter() - started, 2),
                "baseline_mb": round(baseline / 1024),
                "peak_mb": round(peak / 1024),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--full", action="store_true")
    parser.add_argument("--openpyxl", action="store_true")
    parser.add_argument("--case", help="only the cases whose label contains this")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "ENGINE"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from volano.imports.tests import hostile_files as hostile

    with tempfile.TemporaryDirectory() as folder:
        for label, builder, amount in _cases(args.full):
            if args.case and args.case not in label:
                continue
            suffix = ".csv" if builder.startswith("csv") else ".xlsx"
            path = Path(folder) / f"{builder}{suffix}"
            built = time.perf_counter()
            getattr(hostile, builder)(path, amount)
            build_seconds = time.perf_counter() - built
            # The old reader takes minutes on the zip bomb at full size: compared on the others.
            compare = (
                args.openpyxl and suffix == ".xlsx" and not (args.full and builder == "zip_bomb")
            )
            engines = ["volano"] + (["openpyxl"] if compare else [])
            for engine in engines:
                result = subprocess.run(
                    [sys.executable, "-m", "bench.import_hostile", "--child", str(path), engine],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "{}"
                data = (
                    json.loads(line) if line.startswith("{") else {"outcome": result.stderr[-300:]}
                )
                print(
                    f"{label:26} {engine:8} file {path.stat().st_size / 1e6:8.2f} MB"
                    f" (built in {build_seconds:5.1f} s)  {data.get('outcome', '?'):9}"
                    f" {data.get('seconds', '-'):>6} s  peak RSS {data.get('peak_mb', '-')} MB"
                    f" (after start {data.get('baseline_mb', '-')} MB)  {data.get('message', '')}",
                    flush=True,
                )
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())

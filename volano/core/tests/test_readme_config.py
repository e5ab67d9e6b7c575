"""The README's configuration table lists exactly the VOLANO_* environment variables the code
reads: a new one undocumented, or a documented one the code no longer reads, fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# os.environ.get("VOLANO_X" …), os.environ["VOLANO_X"], getenv("VOLANO_X"), _env_flag("VOLANO_X")
READ = re.compile(
    r"""(?:environ(?:\.get)?\s*[\(\[]|getenv\(|_env_flag\()\s*["'](VOLANO_[A-Z0-9_]+)"""
)
ROW = re.compile(r"^\| `(VOLANO_[A-Z0-9_]+)` \|", re.MULTILINE)


def variables_read() -> set[str]:
    found = set()
    for path in (ROOT / "volano").rglob("*.py"):
        if "tests" in path.parts or path.name == "conftest.py":
            continue
        found.update(READ.findall(path.read_text(encoding="utf-8")))
    return found


def variables_documented() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(ROW.findall(section))


def test_the_scan_finds_what_settings_reads():
    assert {"VOLANO_DATA_DIR", "VOLANO_HTTPS", "VOLANO_SMTP_URL"} <= variables_read()


def test_every_variable_read_is_documented_and_every_documented_one_is_read():
    read, documented = variables_read(), variables_documented()
    assert not read - documented, (
        f"add to the README's configuration table: {sorted(read - documented)}"
    )
    assert not documented - read, f"the code no longer reads: {sorted(documented - read)}"

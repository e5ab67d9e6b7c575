"""docs/architecture.md's table of facts and reactions is the registry, row for row: a reaction
added, moved or removed without its row (or a fact without any) fails here."""

from __future__ import annotations

import inspect
from pathlib import Path

from volano.core import facts
from volano.core.reactions import AFTER_COMMIT, reactions_all

DOC = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"
PHASES = {"after commit": AFTER_COMMIT, "in the transaction": "transaction"}


def documented_rows() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Facts and reactions", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0] not in ("fact", "---"):
            rows.append(cells)
    return rows


def test_the_table_lists_every_registered_reaction_and_only_those():
    documented = {
        (fact, reaction, PHASES[phase])
        for fact, _announced_by, reaction, phase in documented_rows()
        if reaction != "—"
    }
    registered = {
        (r.fact_type.__name__, f"{r.domain}.{r.func.__name__}", r.phase)
        for r in reactions_all()
        if r.func.__module__ == f"volano.{r.domain}.reactions"  # not the tests' own
    }
    assert sorted(registered - documented) == []  # registered, missing from the table
    assert sorted(documented - registered) == []  # in the table, not registered


def test_every_fact_is_in_the_table():
    defined = {
        name
        for name, value in vars(facts).items()
        if inspect.isclass(value)
        and issubclass(value, facts.Fact)
        and value is not facts.Fact
        and value.__module__ == facts.__name__
    }
    assert defined == {fact for fact, *_rest in documented_rows()}

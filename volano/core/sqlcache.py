"""Compiled statements kept for reuse, with the contact ids as the only thing that changes.

Building a statement from a condition through the ORM (Q trees, lookups, the SQL compiler) costs
tens of milliseconds for a rich condition, while running it for one contact costs one or two.
The paths that run after every event (a score update, the threshold rules) build their statement
once per key with placeholder ids (`id_slots(n)`: values no contact can have), remember where
those placeholders sit among the parameters, and then only swap in the real ids.

The key must name everything else the statement depends on (the model or rule and its version,
the moment "now" it was built for, the number of ids).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from threading import Lock

SLOT_BASE = -(2**62)
MAX_ENTRIES = 512


def id_slots(n: int) -> list[int]:
    """`n` placeholder ids, to build a statement with instead of the real ones."""
    return [SLOT_BASE - i for i in range(n)]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple
    slots: tuple[tuple[int, int], ...]  # (position in params, index of the id it stands for)

    def bind(self, ids: Sequence[int]) -> list:
        params = list(self.params)
        for position, index in self.slots:
            params[position] = ids[index]
        return params


_cache: OrderedDict[Hashable, Statement] = OrderedDict()
_lock = Lock()


def statement_cached(
    key: Hashable, n: int, build: Callable[[list[int]], tuple[str, Sequence]]
) -> Statement:
    """The statement for `key` built by `build(placeholder_ids)`, compiled once."""
    full_key = (key, n)
    with _lock:
        found = _cache.get(full_key)
        if found is not None:
            _cache.move_to_end(full_key)
            return found
    slots = id_slots(n)
    sql, params = build(slots)
    where = {slot: index for index, slot in enumerate(slots)}
    statement = Statement(
        sql=sql,
        params=tuple(params),
        slots=tuple(
            (position, where[value])
            for position, value in enumerate(params)
            if isinstance(value, int) and not isinstance(value, bool) and value in where
        ),
    )
    with _lock:
        _cache[full_key] = statement
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return statement

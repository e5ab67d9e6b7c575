"""Italian geography built in: regions, provinces (two-letter codes) and comuni with their CAPs.

Data: ISTAT via Garda Informatica (MIT), shipped as data/italy.json (see ITALY-LICENSE.txt).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class Comune:
    istat: str
    name: str
    province: str
    caps: tuple[str, ...]


def _key(text: str) -> str:
    """Case-, accent- and space-insensitive key: "Forlì-Cesena " == "forli cesena"."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


@cache
def _data() -> dict:
    return json.loads((Path(__file__).parent / "data" / "italy.json").read_text())


@cache
def regions() -> tuple[str, ...]:
    return tuple(r["name"] for r in _data()["regions"])


@cache
def provinces() -> dict[str, Province]:
    return {p["code"]: Province(**p) for p in _data()["provinces"]}


@cache
def _province_keys() -> dict[str, str]:
    keys = {}
    for code, p in provinces().items():
        keys[_key(code)] = code
        keys[_key(p.name)] = code
        for part in p.name.split("/"):
            keys[_key(part)] = code
    return keys


@cache
def _region_keys() -> dict[str, str]:
    keys = {}
    for name in regions():
        keys[_key(name)] = name
        for part in name.split("/"):
            keys[_key(part)] = name
    return keys


@cache
def comuni_by_cap() -> dict[str, tuple[Comune, ...]]:
    by_cap: dict[str, list[Comune]] = {}
    for istat, name, province, caps in _data()["comuni"]:
        comune = Comune(istat, name, province, tuple(caps))
        for cap in caps:
            by_cap.setdefault(cap, []).append(comune)
    return {cap: tuple(items) for cap, items in by_cap.items()}


@cache
def comuni_by_name() -> dict[str, tuple[Comune, ...]]:
    by_name: dict[str, list[Comune]] = {}
    for istat, name, province, caps in _data()["comuni"]:
        by_name.setdefault(_key(name), []).append(Comune(istat, name, province, tuple(caps)))
    return {k: tuple(v) for k, v in by_name.items()}


def province_code(text: str | None) -> str | None:
    """'MI', 'mi', 'Milano' → 'MI'; None when it is not an Italian province."""
    if not text:
        return None
    return _province_keys().get(_key(text))


def region_name(text: str | None) -> str | None:
    if not text:
        return None
    return _region_keys().get(_key(text))


def region_of(province: str | None) -> str | None:
    p = provinces().get(province or "")
    return p.region if p else None


def comune_for(*, cap: str | None = None, city: str | None = None) -> Comune | None:
    """The comune a CAP (and, when a CAP covers several comuni, the city name) points to."""
    if cap and (found := comuni_by_cap().get(cap.strip())):
        if len(found) == 1:
            return found[0]
        if city:
            for comune in found:
                if _key(comune.name) == _key(city):
                    return comune
        return None
    if city and (named := comuni_by_name().get(_key(city))) and len(named) == 1:
        return named[0]
    return None

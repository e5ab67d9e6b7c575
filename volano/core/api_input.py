"""What the API accepts, judged once for every route: input schemas bounded by the columns they
fill, and a guard on every parsed request.

The guard runs after django-ninja has parsed path, query and body and before the route's code:
a NUL character (PostgreSQL cannot store one), an integer past 64 bits (no column holds one),
a number that is not finite, or a date the database or a period around it cannot represent is refused with a
422 naming the field, on SQLite exactly as on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

import annotated_types
from django.db import models
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.pagination import PageNumberPagination
from pydantic import BaseModel, ConfigDict

from volano.core.errors import ValidationFailed

INT64_MAX = 2**63 - 1
MAX_PAGE = 10_000_000
# PostgreSQL keeps offsets up to ±15:59; real time zones stay within -12:00..+14:00.
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)
# A date a year from either end of the calendar still allows a period around it (the 90 days
# before an `end`, a time zone's day) without leaving the calendar.
MIN_YEAR, MAX_YEAR = 1000, 9998


class ApiInput(Schema):
    """Base of every request body: unknown fields are refused (a typo is named, never dropped),
    and each text field is bounded by the column it fills, so a 5,000-character name is a 422
    naming the field on both databases, and the OpenAPI schema says `maxLength`.

    `stored_in` is the model whose columns bound the fields of the same name; `input_lengths`
    overrides the bound for fields whose input is cleaned into a shorter stored value (a province
    given as "Milano" is stored as "MI")."""

    model_config = ConfigDict(extra="forbid")
    stored_in: ClassVar[type[models.Model] | None] = None
    input_lengths: ClassVar[dict[str, int]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        bounded = False
        for name, info in cls.model_fields.items():
            if info.annotation not in (str, str | None):
                continue
            if any(isinstance(m, annotated_types.MaxLen) for m in info.metadata):
                continue
            limit = cls.input_lengths.get(name) or _column_length(cls.stored_in, name)
            if limit:
                info.metadata.append(annotated_types.MaxLen(limit))
                bounded = True
        if bounded:
            cls.model_rebuild(force=True)


def column_length(model: type[models.Model], name: str) -> int:
    """The length of a text column, for an input bounded by a column of another name."""
    length = _column_length(model, name)
    assert length is not None, f"{model.__name__}.{name} has no max_length"
    return length


def _column_length(model: type[models.Model] | None, name: str) -> int | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist: the input has no column of that name
        return None
    return getattr(field, "max_length", None)


class Pages(PageNumberPagination):
    """django-ninja's page numbers, bounded: a page past `MAX_PAGE` is a 422, not an offset
    no database can use."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=INT64_MAX)


def input_guard(view: Callable) -> Callable:
    """Operation decorator for the whole API (see the module's docstring)."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        errors: list[dict] = []
        for name, value in kwargs.items():
            # A body or a group of query parameters names its fields by themselves.
            errors += unstorable(value, "" if isinstance(value, BaseModel) else name)
        if errors:
            raise ValidationFailed(errors)
        return view(request, *args, **kwargs)

    return guarded


def _join(where: str, name: object) -> str:
    return f"{where}.{name}" if where else str(name)


def unstorable(value: Any, where: str = "") -> list[dict]:
    """The parts of a parsed value no database column can hold, as {"field", "message"}: what
    the guard refuses, for code that reads a body itself (a batch judged item by item)."""
    errors: list[dict] = []
    _check(value, where, errors)
    return errors


MAX_NESTING = 64  # far deeper than any valid body (a condition nests at most 10 deep)


def storable_json(value: Any, depth: int = 0) -> bool:
    """True when a value as `json.loads` makes it (str, int, float, bool, None, list, dict)
    surely has nothing `unstorable` refuses; False means "ask `unstorable` for the reasons".
    No path is built for a value that has no problem: an event batch checks every item of a
    1,000-item request with this, several times cheaper than `unstorable` itself."""
    kind = type(value)
    if kind is str:
        return "\x00" not in value
    if kind is dict:
        if depth >= MAX_NESTING - 1:
            return False
        for key, item in value.items():
            if type(key) is not str or "\x00" in key:
                return False
            if type(item) is str:
                if "\x00" in item:
                    return False
            elif item is not None and not storable_json(item, depth + 1):
                return False
        return True
    if kind is list:
        if depth >= MAX_NESTING - 1:
            return False
        return all(storable_json(item, depth + 1) for item in value)
    if kind is int:
        return -INT64_MAX <= value <= INT64_MAX
    if kind is float:
        return math.isfinite(value) and abs(value) <= INT64_MAX
    return value is None or kind is bool


def _check(value: Any, where: str, errors: list[dict], depth: int = 0) -> None:
    if len(errors) >= 20:
        return
    field = where or "body"
    if depth > MAX_NESTING:
        errors.append(
            {
                "field": field,
                "message": _("nested more than %(limit)s levels deep") % {"limit": MAX_NESTING},
            }
        )
        return
    if isinstance(value, str):
        if "\x00" in value:
            errors.append({"field": field, "message": _("Null characters are not allowed.")})
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT64_MAX <= value <= INT64_MAX:
            errors.append({"field": field, "message": _("number out of range")})
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > INT64_MAX:
            errors.append({"field": field, "message": _("number out of range")})
    elif isinstance(value, Decimal):
        if not value.is_finite() or abs(value) > INT64_MAX:
            errors.append({"field": field, "message": _("number out of range")})
    elif isinstance(value, dt.datetime):
        offset = value.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            errors.append({"field": field, "message": _("time zone offset out of range")})
        elif not MIN_YEAR <= value.year <= MAX_YEAR:
            errors.append({"field": field, "message": _("date out of range (years 1000 to 9998)")})
    elif isinstance(value, dt.date):
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            errors.append({"field": field, "message": _("date out of range (years 1000 to 9998)")})
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _check(getattr(value, name), _join(where, name), errors, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                errors.append({"field": field, "message": _("Null characters are not allowed.")})
            _check(item, _join(where, key), errors, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _check(item, _join(where, index), errors, depth + 1)

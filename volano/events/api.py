"""POST /api/v1/events: batch ingestion. Each item is judged on its own; the valid ones are stored.
/api/v1/forms: the embeddable forms the workspace declares.

The body is read as a plain JSON list (not one strict schema) so that one bad item cannot reject
the whole batch; the item format is still described in the OpenAPI schema.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict

from volano.core.errors import ApplicationError
from volano.events import webforms
from volano.events.models import Channel
from volano.events.services import INGESTIBLE_TYPES, MAX_BATCH_ITEMS, UTM_KEYS, events_ingest

router = Router(tags=["events"])


class Rejection(Schema):
    index: int
    field: str
    message: str


class Duplicate(Schema):
    index: int
    dedup_key: str


class IngestOut(Schema):
    accepted: int
    rejected: list[Rejection]
    duplicates: list[Duplicate]
    contacts_created: int


_STRING = {"type": "string"}
EVENT_ITEM_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "occurred_at"],
    "properties": {
        "type": {"type": "string", "enum": sorted(INGESTIBLE_TYPES)},
        "occurred_at": {"type": "string", "format": "date-time"},
        "contact_id": {"type": "integer"},
        "email": {"type": "string", "format": "email"},
        "anonymous_id": {"type": "string", "maxLength": 64},
        "properties": {"type": "object"},
        "channel": {"type": "string", "enum": list(Channel.values)},
        "utm": {
            "type": "object",
            "additionalProperties": False,
            "properties": {key: _STRING for key in UTM_KEYS},
        },
        "campaign": {"type": "string", "maxLength": 100},
        "content": {"type": "string", "maxLength": 200},
        "dedup_key": {"type": "string", "maxLength": 100},
    },
}


def _json_list(request: HttpRequest) -> object:
    try:
        return json.loads(request.body)
    except UnicodeDecodeError:
        raise ApplicationError("the body is not UTF-8 text", field="body") from None
    except json.JSONDecodeError as error:
        raise ApplicationError(
            f"malformed JSON in the request body: {error.msg} "
            f"(line {error.lineno}, column {error.colno})",
            field="body",
        ) from None


@router.post(
    "/events",
    response={200: IngestOut, 207: IngestOut},
    summary="Ingest a batch of events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "maxItems": MAX_BATCH_ITEMS,
                        "items": EVENT_ITEM_SCHEMA,
                    }
                }
            },
        }
    },
)
def events_post(request: HttpRequest):
    """Up to 5,000 items. 200 when every item was stored (or was a known duplicate), 207 when
    some were rejected: `rejected` says which (`index` in the list), and why."""
    result = events_ingest(workspace=request.workspace, items=_json_list(request))  # type: ignore[attr-defined]
    return (207 if result.rejected else 200), result.as_dict()


class FormOut(Schema):
    slug: str
    name: str
    fields: list[str]
    asks_email_consent: bool
    consent_text: str
    double_opt_in: bool
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class FormIn(Schema):
    model_config = ConfigDict(extra="forbid")

    slug: str
    name: str
    fields: list[str] = []
    asks_email_consent: bool = False
    consent_text: str = ""
    double_opt_in: bool = True
    is_active: bool = True


class FormChange(Schema):
    model_config = ConfigDict(extra="forbid")

    slug: str | None = None
    name: str | None = None
    fields: list[str] | None = None
    asks_email_consent: bool | None = None
    consent_text: str | None = None
    double_opt_in: bool | None = None
    is_active: bool | None = None


@router.get("/forms", response=list[FormOut], tags=["forms"], summary="List declared forms")
def forms_list(request: HttpRequest):
    return webforms.form_list(workspace=request.workspace)  # type: ignore[attr-defined]


@router.post("/forms", response={201: FormOut}, tags=["forms"], summary="Declare a form")
def forms_create(request: HttpRequest, payload: FormIn):
    """`fields` names what the form collects: `email` (always added), `first_name`,
    `last_name`, `phone`, `company`, `message`, or `custom.<key>` of a contact custom field."""
    form = webforms.form_create(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=request.api_token.user,  # type: ignore[attr-defined]
        data=payload.dict(),
    )
    return 201, form


@router.get("/forms/{slug}", response=FormOut, tags=["forms"], summary="One declared form")
def forms_get(request: HttpRequest, slug: str):
    return webforms.form_get(workspace=request.workspace, slug=slug)  # type: ignore[attr-defined]


@router.put("/forms/{slug}", response=FormOut, tags=["forms"], summary="Change a form")
def forms_put(request: HttpRequest, slug: str, payload: FormChange):
    """Attributes left out keep their value."""
    workspace = request.workspace  # type: ignore[attr-defined]
    return webforms.form_update(
        workspace=workspace,
        actor=request.api_token.user,  # type: ignore[attr-defined]
        form=webforms.form_get(workspace=workspace, slug=slug),
        data={k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None},
    )


@router.delete("/forms/{slug}", response={204: None}, tags=["forms"], summary="Delete a form")
def forms_delete(request: HttpRequest, slug: str):
    workspace = request.workspace  # type: ignore[attr-defined]
    webforms.form_delete(
        workspace=workspace,
        actor=request.api_token.user,  # type: ignore[attr-defined]
        form=webforms.form_get(workspace=workspace, slug=slug),
    )
    return 204, None

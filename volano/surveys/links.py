"""The signed, per-contact answer link: `/s/<token>/`, where the token is the survey, the contact
and the invitation (the mailing id, 0 for a link made by hand) signed with the installation's
secret (django.core.signing, its own salt). Changing any character of it makes it refuse."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "volano.surveys.answer"
# a link answers for a year after it was made (an NPS asked yearly stays answerable until the next)
MAX_AGE = 366 * 24 * 3600


class LinkRefused(Exception):
    """The token was changed, made with another secret, or is older than MAX_AGE."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why  # "tampered" or "expired"


def answer_token(*, survey_id: int, contact_id: int, wave: int = 0) -> str:
    return signing.dumps([survey_id, contact_id, wave], salt=SALT, compress=False)


def token_read(token: str) -> tuple[int, int, int]:
    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise LinkRefused("expired") from None
    except signing.BadSignature:
        raise LinkRefused("tampered") from None
    if not (isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value)):
        raise LinkRefused("tampered")
    return value[0], value[1], value[2]


def answer_url(*, survey_id: int, contact_id: int, wave: int = 0, score: int | None = None) -> str:
    """The absolute link; with `score`, the page opens with that score chosen (the email's
    0–10 buttons), recorded only when the contact sends the page (link scanners open links)."""
    path = reverse(
        "surveys:answer", args=[answer_token(survey_id=survey_id, contact_id=contact_id, wave=wave)]
    )
    query = f"?score={score}" if score is not None else ""
    return settings.VOLANO_BASE_URL.rstrip("/") + path + query

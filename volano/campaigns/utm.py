"""The UTM builder: consistent campaign links.

Values are lower-case and slugged (`Fiera Milano` → `fiera-milano`), so one campaign never shows
up as three spellings in the reports; the link's own query parameters are kept, its utm_* ones
replaced. Source/medium presets map to the channel groups of the default rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.campaigns.channels import channel_group_of
from volano.core.errors import ApplicationError, ValidationFailed


@dataclass(frozen=True)
class Preset:
    key: str
    label: object
    source: str
    medium: str

    @property
    def channel_group(self) -> str:
        return channel_group_of(self.source, self.medium)


PRESETS: tuple[Preset, ...] = (
    Preset("google_ads", gettext_lazy("Google Ads"), "google", "cpc"),
    Preset("bing_ads", gettext_lazy("Microsoft Ads"), "bing", "cpc"),
    Preset("meta_ads", gettext_lazy("Meta Ads (Facebook/Instagram)"), "facebook", "paid_social"),
    Preset("linkedin_ads", gettext_lazy("LinkedIn Ads"), "linkedin", "paid_social"),
    Preset("linkedin_post", gettext_lazy("LinkedIn post"), "linkedin", "social"),
    Preset("facebook_post", gettext_lazy("Facebook post"), "facebook", "social"),
    Preset("newsletter", gettext_lazy("Newsletter"), "newsletter", "email"),
    Preset("display", gettext_lazy("Display banner"), "gdn", "display"),
    Preset("fair_qr", gettext_lazy("Fair / print QR code"), "fiera", "offline"),
    Preset("partner", gettext_lazy("Partner site"), "partner", "referral"),
    Preset("affiliate", gettext_lazy("Affiliate"), "affiliate", "affiliate"),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}


def _slug(text: str) -> str:
    from volano.campaigns.services import utm_value

    return utm_value(text)


def utm_link(
    url: str,
    *,
    source: str,
    medium: str,
    campaign: str,
    content: str = "",
    term: str = "",
) -> str:
    """`url` with the UTM parameters set (slugged); its other parameters and fragment kept."""
    errors = []
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append({"field": "url", "message": _("expected a web address (https://…)")})
    values = {
        "utm_source": _slug(source),
        "utm_medium": _slug(medium),
        "utm_campaign": _slug(campaign),
        "utm_content": _slug(content),
        "utm_term": _slug(term),
    }
    for name in ("utm_source", "utm_medium", "utm_campaign"):
        if not values[name]:
            field = name.removeprefix("utm_")
            errors.append({"field": field, "message": _("this field is required")})
    if errors:
        raise ValidationFailed(errors)
    kept = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.startswith("utm_")
    ]
    added = [(k, v) for k, v in values.items() if v]
    query = urlencode(kept + added)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))


def utm_preview(link: str, *, width: int = 60) -> str:
    """A short preview of a link for a list: host and path, then the utm values."""
    parts = urlsplit(link)
    params = dict(parse_qsl(parts.query))
    tags = " · ".join(
        params[k] for k in ("utm_source", "utm_medium", "utm_content") if params.get(k)
    )
    where = f"{parts.netloc}{parts.path}"
    if len(where) > width:
        where = where[: width - 1] + "…"
    return f"{where} [{tags}]" if tags else where


def preset_get(key: str) -> Preset:
    preset = PRESETS_BY_KEY.get(key)
    if preset is None:
        raise ApplicationError(_("unknown preset %(key)s") % {"key": repr(key)}, field="preset")
    return preset

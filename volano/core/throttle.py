"""Counters of attempts per account and per address, in Django's cache.

With VOLANO_REDIS_URL the cache is Redis, so every web process shares the same counters; without
it each process counts for itself (the embedded default runs one). A window opens at the first
attempt and closes `window` seconds later; once `attempts` are spent, the caller refuses the
request before doing the expensive part (the password hasher, sending a mail).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    scope: str
    attempts: int
    window: int  # seconds


# Failed sign-ins: 5 per account (whoever tries) and 20 per address (whichever accounts).
LOGIN_PER_ACCOUNT = Limit("login-account", attempts=5, window=15 * 60)
LOGIN_PER_ADDRESS = Limit("login-address", attempts=20, window=15 * 60)
# Password reset requests, counted whether or not the address has an account.
RESET_PER_ACCOUNT = Limit("reset-account", attempts=3, window=60 * 60)
RESET_PER_ADDRESS = Limit("reset-address", attempts=10, window=60 * 60)


def _key(limit: Limit, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"volano:throttle:{limit.scope}:{digest}"


def client_address(request: HttpRequest) -> str:
    """The address attempts are counted under: REMOTE_ADDR, because a forwarded-for header is
    the client's word. Behind a proxy REMOTE_ADDR is the proxy's, and every user would share one
    count; then VOLANO_CLIENT_IP_HEADER names the header the proxy overwrites with the client's
    address (e.g. X-Real-IP), and only that header is read. An IPv6 client owns a whole /64, so
    it counts as one address."""
    text = request.META.get("REMOTE_ADDR") or "unknown"
    if header := settings.VOLANO_CLIENT_IP_HEADER:
        text = request.META.get(header, "").split(",")[-1].strip() or text
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def retry_after(limit: Limit, value: str) -> int | None:
    """Seconds until `value` may try again, or None if it still has attempts left."""
    key = _key(limit, value)
    count = cache.get(key) or 0
    if count < limit.attempts:
        return None
    started = cache.get(f"{key}:start") or time.time()
    return max(1, math.ceil(started + limit.window - time.time()))


def hit(limit: Limit, value: str) -> None:
    """Count one attempt of `value`."""
    key = _key(limit, value)
    cache.add(f"{key}:start", time.time(), limit.window)
    cache.add(key, 0, limit.window)
    try:
        cache.incr(key)
    except ValueError:  # the window closed between add and incr
        cache.set(key, 1, limit.window)
        cache.set(f"{key}:start", time.time(), limit.window)


def clear(limit: Limit, value: str) -> None:
    key = _key(limit, value)
    cache.delete_many([key, f"{key}:start"])


def minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))

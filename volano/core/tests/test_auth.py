"""Signing in under attack and getting back in: login throttling per account and per address,
and password reset by email (issue 10, authentication). Everything goes through the real views."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from volano.core import throttle
from volano.core.models import User

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
GIULIA = "giulia@officinarossi.it"


class CountingHasher(MD5PasswordHasher):
    """The test suite's fast hasher, counting how often a password is hashed or checked."""

    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)

    def verify(self, password, encoded):
        CountingHasher.calls += 1
        return super().verify(password, encoded)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


def sign_in(client, email_address, password, address="127.0.0.1"):
    return client.post(
        reverse("login"), {"username": email_address, "password": password}, REMOTE_ADDR=address
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and response.url == reverse("home")


def test_five_wrong_passwords_lock_the_account_without_running_the_hasher(
    client, giulia, marco, counting_hasher
):
    for _ in range(5):
        response = sign_in(client, GIULIA, "wrong-password")
        assert response.status_code == 200
        assert "correct email and password" in response.content.decode()
    hashed = counting_hasher.calls
    assert hashed >= 5

    # the right password no longer helps, and the hasher does not run at all
    response = sign_in(client, GIULIA, "giulia-pass-2026")
    assert response.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in response.content.decode()
    assert counting_hasher.calls == hashed
    assert "_auth_user_id" not in client.session

    # another account from the same address is not locked
    assert signed_in(sign_in(client, "marco@officinarossi.it", "marco-pass-2026"))


def test_the_account_lock_holds_from_every_address(client, giulia):
    for n in range(5):
        sign_in(client, GIULIA, "wrong-password", address=f"203.0.113.{n + 1}")
    response = sign_in(client, GIULIA, "giulia-pass-2026", address="198.51.100.7")
    assert response.status_code == 429


def test_twenty_failures_from_one_address_lock_the_address(client, giulia, counting_hasher):
    # four tries at each of five addresses stays under each account's limit
    for n in range(20):
        response = sign_in(client, f"guess{n % 5}@officinarossi.it", "wrong", address="192.0.2.9")
        assert response.status_code == 200
    hashed = counting_hasher.calls
    response = sign_in(client, GIULIA, "giulia-pass-2026", address="192.0.2.9")
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert counting_hasher.calls == hashed
    # Giulia, from her own address, is not affected
    assert signed_in(sign_in(client, GIULIA, "giulia-pass-2026", address="192.0.2.10"))


def test_an_ipv6_client_counts_as_its_whole_64(client, giulia):
    for n in range(20):
        sign_in(client, f"guess{n % 5}@officinarossi.it", "wrong", address=f"2001:db8:1:2::{n + 1}")
    response = sign_in(client, GIULIA, "giulia-pass-2026", address="2001:db8:1:2:ffff::1")
    assert response.status_code == 429
    assert signed_in(sign_in(client, GIULIA, "giulia-pass-2026", address="2001:db8:1:3::1"))


def test_a_successful_sign_in_resets_the_account_count(client, giulia):
    for _ in range(4):
        sign_in(client, GIULIA, "wrong-password")
    assert signed_in(sign_in(client, GIULIA, "giulia-pass-2026"))
    client.post(reverse("logout"))
    for _ in range(4):
        assert sign_in(client, GIULIA, "wrong-password").status_code == 200
    assert signed_in(sign_in(client, GIULIA, "giulia-pass-2026"))


def test_an_unknown_account_is_locked_like_a_known_one(client, db):
    """The lock says nothing about whether the account exists."""
    for _ in range(5):
        sign_in(client, "nobody@officinarossi.it", "wrong-password")
    response = sign_in(client, "nobody@officinarossi.it", "wrong-password")
    assert response.status_code == 429


@pytest.mark.broker
def test_the_counters_are_shared_between_processes_through_redis(
    client, giulia, settings, redis_url
):
    prefix = f"volano-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    for _ in range(5):
        sign_in(client, GIULIA, "wrong-password")
    # another Python process, with the same Redis, sees the lock
    script = (
        "import django, os; django.setup()\n"
        "from django.conf import settings\n"
        f"settings.CACHES['default']['KEY_PREFIX'] = {prefix!r}\n"
        "from volano.core import throttle\n"
        f"print(throttle.retry_after(throttle.LOGIN_PER_ACCOUNT, {GIULIA!r}))\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        env={
            "DJANGO_SETTINGS_MODULE": "volano.settings",
            "VOLANO_REDIS_URL": redis_url,
            "VOLANO_DATA_DIR": str(settings.DATA_DIR),
            "PATH": "/usr/bin:/bin",
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 0, other.stderr
    assert 0 < int(other.stdout.strip()) <= 15 * 60


def test_the_wait_is_counted_from_the_first_failure(giulia):
    for _ in range(5):
        throttle.hit(throttle.LOGIN_PER_ACCOUNT, GIULIA)
    wait = throttle.retry_after(throttle.LOGIN_PER_ACCOUNT, GIULIA)
    assert wait is not None and 14 * 60 < wait <= 15 * 60
    throttle.clear(throttle.LOGIN_PER_ACCOUNT, GIULIA)
    assert throttle.retry_after(throttle.LOGIN_PER_ACCOUNT, GIULIA) is None


# --- password reset ---------------------------------------------------------------------------


def outbox_mails(settings) -> list[email.message.EmailMessage]:
    """Every message the outbox mailer wrote, wherever in the outbox folder it filed it."""
    folder = Path(settings.MAILERS["default"]["OPTIONS"]["directory"])
    paths = sorted(folder.rglob("*.eml")) if folder.exists() else []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in paths
    ]


def reset_link(message, settings) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    base = re.escape(settings.VOLANO_BASE_URL.rstrip("/"))
    found = re.search(base + r"(/password/reset/[^/\s]+/[^/\s]+/)", body)
    assert found, body
    return found.group(1)


def request_reset(client, email_address, address="127.0.0.1"):
    return client.post(reverse("password_reset"), {"email": email_address}, REMOTE_ADDR=address)


def test_forgotten_password_reset_by_email_then_sign_in(client, giulia, settings):
    settings.VOLANO_BASE_URL = "https://volano.officinarossi.it"
    login_page = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in login_page

    response = request_reset(client, "Giulia@OfficinaRossi.it")
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert "Check your email" in client.get(response.url).content.decode()

    [message] = outbox_mails(settings)
    assert message["To"] == GIULIA
    assert "Reset your Volano password" in message["Subject"]
    link = reset_link(message, settings)

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    assert "set-password" in set_url  # the token left the address bar
    done = client.post(
        set_url, {"new_password1": "nuova-Password-2027", "new_password2": "nuova-Password-2027"}
    )
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")

    assert not signed_in(sign_in(client, GIULIA, "giulia-pass-2026"))
    assert signed_in(sign_in(client, GIULIA, "nuova-Password-2027"))

    # the link worked once
    client.post(reverse("logout"))
    again = client.get(link, follow=True).content.decode()
    assert "This link no longer works" in again


def test_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, giulia, settings):
    known = request_reset(client, GIULIA)
    unknown = request_reset(client, "chi@nessuno.it")
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert [m["To"] for m in outbox_mails(settings)] == [GIULIA]


def test_a_weak_new_password_is_refused_next_to_the_field(client, giulia, settings):
    request_reset(client, GIULIA)
    [message] = outbox_mails(settings)
    form_page = client.get(reset_link(message, settings), follow=True)
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert User.objects.get(email=GIULIA).check_password("giulia-pass-2026")


def test_reset_requests_are_throttled_per_account_silently(client, giulia, settings):
    for n in range(5):
        response = request_reset(client, GIULIA, address=f"203.0.113.{n + 1}")
        assert response.status_code == 302 and response.url == reverse("password_reset_done")
    # three mails reach her inbox, the rest are dropped with the same reply
    assert len(outbox_mails(settings)) == throttle.RESET_PER_ACCOUNT.attempts == 3


def test_reset_requests_are_throttled_per_address(client, giulia, settings):
    for n in range(throttle.RESET_PER_ADDRESS.attempts):
        assert request_reset(client, f"someone{n}@cliente.it").status_code == 302
    response = request_reset(client, GIULIA)
    assert response.status_code == 429
    assert "Too many attempts. Try again in" in response.content.decode()
    assert outbox_mails(settings) == []


def test_a_reset_unlocks_the_account(client, giulia, settings):
    for _ in range(5):
        sign_in(client, GIULIA, "wrong-password", address="192.0.2.66")
    assert sign_in(client, GIULIA, "giulia-pass-2026").status_code == 429
    request_reset(client, GIULIA)
    [message] = outbox_mails(settings)
    form_page = client.get(reset_link(message, settings), follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "nuova-Password-2027", "new_password2": "nuova-Password-2027"},
    )
    assert signed_in(sign_in(client, GIULIA, "nuova-Password-2027"))


def test_the_reset_mail_goes_through_a_real_smtp_server(client, giulia, settings, monkeypatch):
    from aiosmtpd.controller import Controller

    from volano.core.tests.test_mail import Collector, free_port
    from volano.settings import mailers_from_env

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.setenv("VOLANO_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
        settings.MAILERS = mailers_from_env()
        assert request_reset(client, GIULIA).status_code == 302
        for _ in range(100):
            if handler.messages:
                break
            time.sleep(0.05)
    finally:
        controller.stop()
    [message] = handler.messages
    assert message["To"] == GIULIA
    assert "/password/reset/" in message.get_payload(decode=True).decode()


def test_behind_a_proxy_attempts_count_per_client_header(client, giulia, settings):
    settings.VOLANO_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    for n in range(20):
        client.post(
            reverse("login"),
            {"username": f"guess{n % 5}@officinarossi.it", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_REAL_IP="192.0.2.50",
        )
    locked = client.post(
        reverse("login"),
        {"username": GIULIA, "password": "giulia-pass-2026"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_REAL_IP="192.0.2.50",
    )
    assert locked.status_code == 429
    # another client through the same proxy signs in
    other = client.post(
        reverse("login"),
        {"username": GIULIA, "password": "giulia-pass-2026"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_REAL_IP="192.0.2.51",
    )
    assert signed_in(other)


def test_no_outbox_page_lists_a_reset_link(client, giulia, bruno, settings):
    """Giulia asks a reset for Bruno (another workspace's admin): the link must not reach her."""
    request_reset(client, "bruno@ferramentabianchi.it")
    [message] = outbox_mails(settings)
    link = reset_link(message, settings)
    client.force_login(giulia)
    page = client.get(reverse("outbox")).content.decode()
    assert link not in page and "Reset your Volano password" not in page
    client.force_login(bruno)
    page = client.get(reverse("outbox")).content.decode()
    assert link not in page

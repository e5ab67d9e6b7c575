from __future__ import annotations

import pytest

from volano.emails.tests.conftest import SmtpServer


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) as the default mailer."""
    server = SmtpServer()
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    settings.VOLANO_BASE_URL = "https://volano.example.it"
    yield server
    server.stop()

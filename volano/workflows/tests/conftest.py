from __future__ import annotations

import pytest

from volano.contacts import services as contact_services
from volano.emails.templating.services import template_save
from volano.emails.tests.conftest import smtp

__all__ = ["smtp"]


def _template(workspace, actor, slug: str, subject: str, link: str):
    return template_save(
        workspace=workspace,
        actor=actor,
        slug=slug,
        name=subject,
        subject=subject,
        html=(
            "<html><body><p>Ciao {{ contact.first_name }},</p>"
            f'<p><a href="{link}">Approfondisci</a></p></body></html>'
        ),
    )


@pytest.fixture
def templates(officina, giulia):
    """Three saved templates of the seed's new-contact workflow."""
    return {
        "grazie": _template(officina, giulia, "grazie", "Grazie", "https://x.it/report"),
        "secondo": _template(officina, giulia, "secondo", "Ancora per te", "https://x.it/video"),
        "newsletter": _template(
            officina, giulia, "newsletter", "Iscriviti", "https://x.it/newsletter"
        ),
        "social": _template(officina, giulia, "social", "Seguici", "https://x.it/social"),
    }


@pytest.fixture
def person(officina):
    def make(email: str, first: str = "", consent: bool = True):
        contact = contact_services.contact_create(
            workspace=officina, actor=None, data={"email": email, "first_name": first}
        )
        if consent:
            contact_services.consent_set(
                workspace=officina,
                actor=None,
                contact=contact,
                purpose="email_marketing",
                status="granted",
                source="test",
            )
        return contact

    return make

"""Two contacts merged: the duplicate's messages and opt-in confirmations move to the survivor,
so what the person was sent still counts, and a message both were to get reaches them once."""

from __future__ import annotations

import pytest

from volano.conftest import worker_run_once
from volano.contacts.merge import contact_merge
from volano.contacts.models import Contact
from volano.emails.models import Delivery, OptInConfirmation
from volano.emails.sending.services import mailing_add_audience, mailing_create, mailing_send

pytestmark = pytest.mark.django_db(transaction=True)


def _mailing(officina, people, name):
    return mailing_create(
        workspace=officina, actor=None, kind="broadcast", renderer="test-plain", params={},
        audience_queryset=Contact.objects.for_workspace(officina).filter(
            pk__in=[p.pk for p in people]
        ),
        name=name,
    )  # fmt: skip


def test_a_merge_keeps_what_each_was_sent_and_sends_a_shared_message_once(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    anna, bruno = audience["anna"], audience["bruno"]  # Bruno turns out to be Anna
    sent_to_bruno = _mailing(officina, [bruno], "Già inviata")
    with django_capture_on_commit_callbacks(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=sent_to_bruno)
    worker_run_once()
    assert len(smtp.inbox.to("bruno@example.it")) == 1
    # Anna is then added to the same mailing (still queued), and both to a new one
    mailing_add_audience(
        workspace=officina, actor=None, mailing=sent_to_bruno,
        audience_queryset=Contact.objects.for_workspace(officina).filter(pk=anna.pk),
    )  # fmt: skip
    both = _mailing(officina, [anna, bruno], "Per entrambi")
    OptInConfirmation.objects.create(workspace=officina, contact=bruno, purpose="email_marketing")

    contact_merge(workspace=officina, actor=None, survivor=anna, duplicate=bruno)

    rows = Delivery.objects.for_workspace(officina)
    assert list(rows.filter(mailing=sent_to_bruno).values_list("contact_id", "status")) == [
        (anna.pk, "sent")
    ]
    assert list(rows.filter(mailing=both).values_list("contact_id", "status")) == [
        (anna.pk, "queued")
    ]
    assert OptInConfirmation.objects.for_workspace(officina).get().contact_id == anna.pk

    smtp.inbox.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=sent_to_bruno)
        mailing_send(workspace=officina, actor=None, mailing=both)
    worker_run_once()
    # the one already sent is not sent again; the shared one reaches the person once
    assert [str(m["To"]) for m in smtp.inbox.messages] == ["anna@example.it"]

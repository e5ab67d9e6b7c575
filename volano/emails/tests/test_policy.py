"""The workspace's sending policy through the real worker and a real SMTP server: the frequency
cap skips (and counts) a contact who had enough marketing email and sends again once the window
has passed; quiet hours hold a marketing send (not drop it) until they end, in the workspace's
time zone, while transactional mail goes out; the settings page saves and names its errors."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.core.errors import ValidationFailed
from volano.core.models import Activity
from volano.emails.models import Delivery, EmailPolicy, Mailing
from volano.emails.policy import email_policy_get, email_policy_save, quiet_until
from volano.emails.sending.services import (
    mailing_counts,
    mailing_create,
    mailing_deliver,
    mailing_send,
    mailings_stalled_sweep,
)

pytestmark = pytest.mark.django_db(transaction=True)

TASK = "volano.emails.tasks.mailing_deliver_task"
ROME = "Europe/Rome"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


# -- quiet hours, the clock arithmetic ----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (utc(2026, 12, 2, 19, 59), None),  # 20:59 in Rome: not yet
        (utc(2026, 12, 2, 20, 0), utc(2026, 12, 3, 7, 0)),  # 21:00: until 08:00 tomorrow
        (utc(2026, 12, 2, 23, 30), utc(2026, 12, 3, 7, 0)),  # past midnight in Rome
        (utc(2026, 12, 3, 6, 59), utc(2026, 12, 3, 7, 0)),  # 07:59: one more minute
        (utc(2026, 12, 3, 7, 0), None),  # 08:00: over
        # the night clocks go forward (29 March 2026): 21:00 CET to 08:00 CEST is 10 hours
        (utc(2026, 3, 28, 20, 0), utc(2026, 3, 29, 6, 0)),
        # the night clocks go back (25 October 2026): 21:00 CEST to 08:00 CET is 12 hours
        (utc(2026, 10, 24, 19, 0), utc(2026, 10, 25, 7, 0)),
    ],
)
def test_quiet_hours_across_midnight_and_summer_time(now, until):
    assert quiet_until(start=dt.time(21), end=dt.time(8), time_zone=ROME, now=now) == until


def test_quiet_hours_within_a_day_and_at_a_missing_or_repeated_hour():
    # 12:00–14:00 in New York (EDT in July, UTC-4)
    noon = dict(start=dt.time(12), end=dt.time(14), time_zone="America/New_York")
    assert quiet_until(now=utc(2026, 7, 1, 17, 0), **noon) == utc(2026, 7, 1, 18, 0)
    assert quiet_until(now=utc(2026, 7, 1, 18, 0), **noon) is None
    assert quiet_until(now=utc(2026, 7, 1, 15, 59), **noon) is None
    # ending at 02:30 on the night 02:30 does not exist in Rome: at the change, 03:00 CEST
    night = dict(start=dt.time(1), end=dt.time(2, 30), time_zone=ROME)
    assert quiet_until(now=utc(2026, 3, 29, 0, 30), **night) == utc(2026, 3, 29, 1, 0)
    # ending at 02:30 on the night it happens twice: the first time
    assert quiet_until(now=utc(2026, 10, 25, 0, 0), **night) == utc(2026, 10, 25, 0, 30)


# -- the policy: defaults, validation, the trail ------------------------------------------------


def test_a_workspace_starts_with_three_in_seven_days_and_quiet_nights(officina, settings):
    settings.VOLANO_EMAIL_POLICY_DEFAULTS = {}  # production's defaults, not the tests'
    policy = email_policy_get(workspace=officina)
    assert (policy.cap_enabled, policy.cap_messages, policy.cap_days) == (True, 3, 7)
    assert (policy.quiet_enabled, policy.quiet_start, policy.quiet_end) == (
        True,
        dt.time(21),
        dt.time(8),
    )
    assert email_policy_get(workspace=officina).pk == policy.pk  # one per workspace


def test_a_bad_policy_names_every_field_and_changes_nothing(officina, giulia):
    before = email_policy_get(workspace=officina)
    with pytest.raises(ValidationFailed) as failure:
        email_policy_save(
            workspace=officina,
            actor=giulia,
            data={"cap_messages": 0, "cap_days": "sette", "quiet_start": "25:00", "quiet_end": "8"},
        )
    fields = {e["field"]: e["message"] for e in failure.value.errors}
    assert fields == {
        "cap_messages": "expected a number from 1 to 100",
        "cap_days": "expected a whole number",
        "quiet_start": "expected a time such as 21:00",
        "quiet_end": "expected a time such as 21:00",
    }
    with pytest.raises(ValidationFailed) as failure:
        email_policy_save(
            workspace=officina, actor=giulia, data={"quiet_start": "22:00", "quiet_end": "22:00"}
        )
    assert failure.value.errors == [
        {"field": "quiet_end", "message": "quiet hours must end at another time than they start"}
    ]
    after = EmailPolicy.objects.for_workspace(officina).get()
    assert (after.cap_messages, after.quiet_start) == (before.cap_messages, before.quiet_start)
    assert not Activity.objects.for_workspace(officina).filter(verb="email_policy.save").exists()


def test_a_change_is_recorded_with_who_and_what(officina, giulia):
    email_policy_save(
        workspace=officina,
        actor=giulia,
        data={"cap_enabled": True, "cap_messages": 2, "quiet_start": "22:30"},
    )
    row = Activity.objects.for_workspace(officina).get(verb="email_policy.save")
    assert row.actor_user_id == giulia.pk
    assert row.changes["cap_messages"] == [3, 2]
    assert row.changes["cap_enabled"] == [False, True]
    assert row.changes["quiet_start"] == ["21:00", "22:30"]


# -- through the worker ---------------------------------------------------------------------------


def _mailing(officina, contacts, *, kind="broadcast", name="Novità"):
    return mailing_create(
        workspace=officina,
        actor=None,
        kind=kind,
        renderer="test-plain",
        audience_queryset=Contact.objects.for_workspace(officina).filter(
            pk__in=[c.pk for c in contacts]
        ),
        name=name,
    )


def _send(mailing, capture) -> None:
    with capture(execute=True):
        mailing_send(workspace=mailing.workspace, actor=None, mailing=mailing)
    worker_run_once()


def test_the_cap_skips_and_counts_and_sends_again_once_the_window_passed(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    email_policy_save(
        workspace=officina, actor=None, data={"cap_enabled": True, "cap_messages": 2, "cap_days": 7}
    )
    anna, bruno = audience["anna"], audience["bruno"]
    # a transactional message is not marketing: it neither counts nor is capped
    _send(_mailing(officina, [anna], kind="transactional"), django_capture_on_commit_callbacks)
    _send(_mailing(officina, [anna, bruno], name="Uno"), django_capture_on_commit_callbacks)
    _send(_mailing(officina, [anna], name="Due"), django_capture_on_commit_callbacks)
    assert len(smtp.inbox.to("anna@example.it")) == 3
    assert len(smtp.inbox.to("bruno@example.it")) == 1

    third = _mailing(officina, [anna, bruno], name="Tre")
    _send(third, django_capture_on_commit_callbacks)
    assert len(smtp.inbox.to("anna@example.it")) == 3  # two marketing emails this week: capped
    assert len(smtp.inbox.to("bruno@example.it")) == 2
    counts = mailing_counts(mailing=third)
    assert (counts["sent"], counts["skipped"], counts["skipped_by"]["capped"]) == (1, 1, 1)
    assert Delivery.all_workspaces.get(mailing=third, contact=anna).reason == "capped"

    # a week and a day later the window holds none of them: the worker sends again
    later = timezone.now() + dt.timedelta(days=8)
    fourth = _mailing(officina, [anna, bruno], name="Quattro")
    with django_capture_on_commit_callbacks(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=fourth)
    assert mailing_deliver(mailing_id=fourth.pk, now=later) is None
    assert len(smtp.inbox.to("anna@example.it")) == 4
    assert len(smtp.inbox.to("bruno@example.it")) == 3
    assert mailing_counts(mailing=fourth)["sent"] == 2


def test_the_cap_switched_off_sends_to_everyone(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    email_policy_save(
        workspace=officina, actor=None, data={"cap_enabled": False, "cap_messages": 1}
    )
    for name in ("Uno", "Due", "Tre"):
        _send(_mailing(officina, [audience["anna"]], name=name), django_capture_on_commit_callbacks)
    assert len(smtp.inbox.to("anna@example.it")) == 3


def _quiet_around_now(officina, time_zone: str) -> dt.datetime:
    """Quiet hours from an hour ago to an hour from now in `time_zone`; returns their end."""
    officina.time_zone = time_zone
    officina.save(update_fields=["time_zone"])
    local = timezone.now().astimezone(ZoneInfo(time_zone)).replace(second=0, microsecond=0)
    start, end = local - dt.timedelta(hours=1), local + dt.timedelta(hours=1)
    email_policy_save(
        workspace=officina,
        actor=None,
        data={"quiet_enabled": True, "quiet_start": start.strftime("%H:%M"),
              "quiet_end": end.strftime("%H:%M")},
    )  # fmt: skip
    return end.astimezone(dt.UTC)


def test_quiet_hours_hold_the_send_and_it_goes_out_when_they_end(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    # New York's quiet hours, not Rome's: six hours apart, so the wrong zone would send now
    end = _quiet_around_now(officina, "America/New_York")
    mailing = _mailing(officina, [audience["anna"], audience["bruno"], audience["carla"]])
    _send(mailing, django_capture_on_commit_callbacks)

    assert smtp.inbox.messages == []
    rows = Delivery.all_workspaces.filter(mailing=mailing)
    assert {(r.status, r.next_attempt_at) for r in rows} == {("queued", end)}  # held, not dropped
    mailing.refresh_from_db()
    assert mailing.status == "sending"
    # the worker put the send back on its queue for the end of the quiet hours
    waiting = DBTaskResult.objects.filter(task_path=TASK, status="READY")
    assert [(t.args_kwargs["args"], t.run_after, t.queue_name) for t in waiting] == [
        ([mailing.pk], end, "email")
    ]

    # that task, run when the quiet hours are over
    assert mailing_deliver(mailing_id=mailing.pk, now=end + dt.timedelta(seconds=1)) is None
    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == [
        "anna@example.it",
        "bruno@example.it",
    ]
    counts = mailing_counts(mailing=mailing)
    assert (counts["sent"], counts["skipped_by"]["no_consent"]) == (2, 1)


def test_a_held_send_whose_task_was_lost_is_picked_up_by_the_sweeper(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    end = _quiet_around_now(officina, ROME)
    mailing = _mailing(officina, [audience["anna"]])
    _send(mailing, django_capture_on_commit_callbacks)
    DBTaskResult.objects.filter(task_path=TASK).delete()  # the worker's task is gone

    assert mailings_stalled_sweep(now=end - dt.timedelta(minutes=1)) == 0  # still quiet
    assert mailings_stalled_sweep(now=end + dt.timedelta(minutes=1)) == 1
    assert DBTaskResult.objects.filter(task_path=TASK, status="READY").count() == 1
    assert Mailing.all_workspaces.get(pk=mailing.pk).status == "sending"


def test_transactional_mail_ignores_quiet_hours(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    _quiet_around_now(officina, ROME)
    _send(
        _mailing(officina, [audience["carla"]], kind="transactional"),
        django_capture_on_commit_callbacks,
    )
    _send(_mailing(officina, [audience["anna"]], kind="test"), django_capture_on_commit_callbacks)
    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == [
        "anna@example.it",
        "carla@example.it",
    ]


def test_quiet_hours_switched_off_send_at_once(
    officina, audience, smtp, django_capture_on_commit_callbacks
):
    _quiet_around_now(officina, ROME)
    email_policy_save(workspace=officina, actor=None, data={"quiet_enabled": False})
    _send(_mailing(officina, [audience["anna"]]), django_capture_on_commit_callbacks)
    assert len(smtp.inbox.to("anna@example.it")) == 1


# -- the settings page ------------------------------------------------------------------------------


def test_the_settings_page_saves_and_shows_errors(client, officina, giulia):
    client.force_login(giulia)
    page = client.get("/email/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="cap_messages"' in html and 'value="21:00"' in html and "Europe/Rome" in html

    reply = client.post(
        "/email/settings/",
        {"cap_enabled": "on", "cap_messages": "0", "cap_days": "7",
         "quiet_enabled": "on", "quiet_start": "21:00", "quiet_end": "21:00"},
    )  # fmt: skip
    assert reply.status_code == 422
    html = reply.content.decode()
    assert "The policy was not saved" in html
    assert "Ensure this value is greater than or equal to 1." in html
    reply = client.post(
        "/email/settings/",
        {"cap_enabled": "on", "cap_messages": "4", "cap_days": "10",
         "quiet_enabled": "on", "quiet_start": "21:00", "quiet_end": "21:00"},
    )  # fmt: skip
    assert reply.status_code == 422
    assert "quiet hours must end at another time than they start" in reply.content.decode()

    reply = client.post(
        "/email/settings/",
        {"cap_enabled": "on", "cap_messages": "4", "cap_days": "10",
         "quiet_start": "22:00", "quiet_end": "07:30"},
    )  # fmt: skip
    assert reply.status_code == 302
    policy = EmailPolicy.objects.for_workspace(officina).get()
    assert (policy.cap_enabled, policy.cap_messages, policy.cap_days) == (True, 4, 10)
    assert (policy.quiet_enabled, policy.quiet_start, policy.quiet_end) == (
        False,
        dt.time(22),
        dt.time(7, 30),
    )
    assert "Sending policy saved." in client.get("/email/settings/").content.decode()
    assert (
        Activity.objects.for_workspace(officina)
        .filter(verb="email_policy.save", actor_user=giulia)
        .exists()
    )


def test_a_viewer_sees_the_policy_but_cannot_change_it(client, officina):
    from volano.core import services as core_services
    from volano.core.models import Role

    viewer = core_services.user_create(email="v@officinarossi.it", password="viewer-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    page = client.get("/email/settings/")
    assert page.status_code == 200
    assert "Administrators and marketers change the sending policy." in page.content.decode()
    assert "Save policy" not in page.content.decode()
    reply = client.post("/email/settings/", {"cap_messages": "1", "cap_days": "1",
                                             "quiet_start": "01:00", "quiet_end": "02:00"})  # fmt: skip
    assert reply.status_code == 403
    assert EmailPolicy.objects.for_workspace(officina).get().cap_messages == 3

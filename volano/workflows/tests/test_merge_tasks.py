"""A merge keeps the duplicate's workflow tasks: they name the survivor, still open for the rep
(without the ContactsMerging reaction the CASCADE of the duplicate's delete took them)."""

from __future__ import annotations

from volano.contacts.merge import contact_merge
from volano.contacts.services import contact_create
from volano.workflows.models import RepTask, TaskStatus


def test_a_merge_moves_the_duplicates_tasks_to_the_survivor(officina, giulia):
    anna = contact_create(workspace=officina, actor=None, data={"email": "anna@example.it"})
    bis = contact_create(workspace=officina, actor=None, data={"email": "anna.bis@example.it"})
    RepTask.objects.create(
        workspace=officina, contact=bis, assignee=giulia, dedup_key="t-1", title="Richiamare"
    )
    contact_merge(workspace=officina, actor=None, survivor=anna, duplicate=bis)
    task = RepTask.objects.for_workspace(officina).get(dedup_key="t-1")
    assert task.contact_id == anna.pk and task.status == TaskStatus.OPEN

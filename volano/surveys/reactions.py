"""What the surveys do when something happens elsewhere (see volano.core.reactions)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from volano.core.facts import ContactsMerging
from volano.core.reactions import reacts_to
from volano.surveys.models import SurveyResponse


@reacts_to(ContactsMerging, phase="transaction", handles=("surveys.SurveyResponse.contact",))
def responses_merge(fact: ContactsMerging) -> dict:
    """The duplicates' answers go to the survivor; where both answered the same invitation,
    the survivor's answer is kept (one answer per contact and invitation)."""
    responses = SurveyResponse.objects.for_workspace(fact.workspace_id)
    clash = responses.filter(
        contact_id=fact.survivor_id, survey_id=OuterRef("survey_id"), wave=OuterRef("wave")
    )
    duplicates = responses.filter(contact_id__in=fact.duplicate_ids)
    duplicates.filter(Exists(clash)).delete()
    moved = duplicates.update(contact_id=fact.survivor_id)
    return {"survey_answers_moved": moved}

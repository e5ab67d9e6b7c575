"""The condition language learns `score.<slug>` from the field-source registry that scoring
fills from its AppConfig.ready: conditions never imports scoring (the layer contract)."""

from __future__ import annotations

import pytest

from volano.conditions import sources
from volano.conditions.parse import condition_parse
from volano.conditions.selectors import condition_count
from volano.conditions.types import ConditionError
from volano.contacts.models import Contact
from volano.scoring.models import Score, ScoreModel


@pytest.fixture
def without_score_source():
    saved = dict(sources._SOURCES)
    sources._SOURCES.pop("score")
    yield
    sources._SOURCES.clear()
    sources._SOURCES.update(saved)


def test_scoring_registers_the_score_source(officina):
    source = sources.field_source("score")
    assert source is not None and source.compile.__module__ == "volano.scoring.sources"
    model = ScoreModel.objects.create(workspace=officina, slug="fit", name="Fit")
    hot = Contact.objects.create(workspace=officina, email="hot@example.it")
    Contact.objects.create(workspace=officina, email="cold@example.it")
    Score.objects.create(workspace=officina, model=model, contact=hot, points=60)
    definition = {"field": "score.fit", "op": "gte", "value": 50}
    assert (
        condition_count(
            workspace=officina, condition=condition_parse(definition, workspace=officina)
        )
        == 1
    )
    with pytest.raises(ConditionError, match="unknown score model 'nope'"):
        condition_parse({"field": "score.nope", "op": "gte", "value": 1}, workspace=officina)


@pytest.mark.usefixtures("without_score_source")
def test_without_the_registered_source_score_is_an_unknown_field(officina):
    ScoreModel.objects.create(workspace=officina, slug="fit", name="Fit")
    with pytest.raises(ConditionError):
        condition_parse({"field": "score.fit", "op": "gte", "value": 1}, workspace=officina)

"""The builder's catalogue names every event property it suggests, in the user's language."""

from __future__ import annotations

from django.utils import translation

from volano.conditions.catalogue import EVENT_PROPERTIES, builder_catalogue


def test_every_suggested_property_has_a_label_not_its_code(officina):
    with translation.override("en"):
        catalogue = builder_catalogue(workspace=officina)
    labels = catalogue["property_labels"]
    suggested = {p for properties in EVENT_PROPERTIES.values() for p in properties}
    assert suggested <= set(labels)
    assert labels["url"] == "Page address"
    assert all(labels[p] != p for p in suggested)

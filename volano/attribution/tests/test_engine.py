"""The seven models against independent computations on known journeys, and their properties
(sums, Markov removal never raising the conversion probability, collapsing repeated touches,
Shapley's efficiency, symmetry and null player)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volano.attribution import engine
from volano.attribution.engine import MODELS, attribute, paths_from_lists

CHANNELS = ["email", "paid_search", "organic_search", "direct", "referral"]

journey = st.tuples(
    st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=5),
)
journeys = st.lists(journey, min_size=1, max_size=12).filter(lambda js: any(c for _, c, _ in js))


def by_key(paths, values) -> dict[str, float]:
    return {key: round(float(v), 9) for key, v in zip(paths.keys, values, strict=True)}


KNOWN = [
    (["paid_search", "email", "email", "direct"], 2, 0),
    (["organic_search"], 1, 3),
    (["paid_search", "organic_search"], 1, 1),
]


def test_first_last_linear_position_by_hand():
    paths = paths_from_lists(KNOWN, ages=[[10, 7, 3, 0], [0], [14, 0]])
    assert by_key(paths, attribute(paths, "first")) == {
        "direct": 0,
        "email": 0,
        "organic_search": 1,
        "paid_search": 3,
    }
    assert by_key(paths, attribute(paths, "last")) == {
        "direct": 2,
        "email": 0,
        "organic_search": 2,
        "paid_search": 0,
    }
    # a channel touched twice gets two shares
    assert by_key(paths, attribute(paths, "linear")) == {
        "direct": 0.5,
        "email": 1.0,
        "organic_search": 1.5,
        "paid_search": 1.0,
    }
    # 40/20/40: the two email touches share the middle 20 %; two touches split 50/50
    assert by_key(paths, attribute(paths, "position")) == {
        "direct": 0.8,
        "email": 0.4,
        "organic_search": 1.5,
        "paid_search": 1.3,
    }
    weighted = by_key(paths, attribute(paths, "position", first=0.3, last=0.6))
    assert weighted["paid_search"] == round(0.6 + 1 / 3, 9)


def test_time_decay_by_hand():
    paths = paths_from_lists([(["a", "b"], 1, 0)], ages=[[7, 0]])
    # half-life 7 days: the touch a week earlier weighs half as much
    assert by_key(paths, attribute(paths, "time_decay", half_life=7)) == {
        "a": round(1 / 3, 9),
        "b": round(2 / 3, 9),
    }


def test_markov_by_hand():
    # start → a → conv; start → b → null; start → a → b → conv
    paths = paths_from_lists([(["a"], 1, 0), (["b"], 0, 1), (["a", "b"], 1, 0)])
    p, effects = engine.markov_removal_effects(paths)
    # from start: a 2/3, b 1/3; a: conv 1/2, b 1/2; b: conv 1/2, null 1/2
    # x_b = 1/2, x_a = 1/2 + 1/2 * 1/2 = 3/4, p = 2/3 * 3/4 + 1/3 * 1/2 = 2/3
    assert p == pytest.approx(2 / 3)
    # without a: only start → b, p = 1/3 · 1/2 = 1/6; without b: 2/3 · 1/2 = 1/3
    assert effects == pytest.approx([1 - (1 / 6) / (2 / 3), 1 - (1 / 3) / (2 / 3)])
    credit = attribute(paths, "markov")
    assert credit == pytest.approx(np.array([0.75, 0.5]) / 1.25 * 2)


def shapley_by_definition(paths) -> list[float]:
    keys = range(len(paths.keys))
    sets = [
        (frozenset(paths.touches[paths.offsets[i] : paths.offsets[i + 1]]), paths.value[i])
        for i in range(len(paths.lengths))
    ]

    def v(coalition: frozenset) -> float:
        return sum(value for touched, value in sets if touched <= coalition)

    n = len(paths.keys)
    result = []
    for player in keys:
        others = [k for k in keys if k != player]
        total = 0.0
        for size in range(n):
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                total += weight * (v(s | {player}) - v(s))
        result.append(total)
    return result


@settings(max_examples=60, deadline=None)
@given(journeys)
def test_every_model_sums_to_the_conversions(data):
    paths = paths_from_lists(data)
    for model in MODELS:
        assert attribute(paths, model).sum() == pytest.approx(paths.total), model


@settings(max_examples=60, deadline=None)
@given(journeys)
def test_removal_effects_match_solving_each_chain(data):
    paths = paths_from_lists(data)
    p, effects = engine.markov_removal_effects(paths)
    assert p == pytest.approx(engine.markov_conversion_probability(paths))
    for index in range(len(paths.keys)):
        without = engine.markov_conversion_probability(paths, removed=index)
        # removing a channel never raises the conversion probability
        assert without <= p + 1e-12
        assert effects[index] == pytest.approx(1 - without / p)


def collapse(touches: list[str]) -> list[str]:
    return [t for i, t in enumerate(touches) if i == 0 or touches[i - 1] != t]


@settings(max_examples=60, deadline=None)
@given(journeys)
def test_collapsing_repeated_touches_keeps_removal_effects(data):
    paths = paths_from_lists(data)
    collapsed = paths_from_lists([(collapse(t), c, n) for t, c, n in data])
    assert collapsed.keys == paths.keys
    _, effects = engine.markov_removal_effects(paths)
    _, collapsed_effects = engine.markov_removal_effects(collapsed)
    assert effects == pytest.approx(collapsed_effects)


@settings(max_examples=40, deadline=None)
@given(journeys)
def test_shapley_equals_the_definition(data):
    paths = paths_from_lists(data)
    assert attribute(paths, "shapley") == pytest.approx(shapley_by_definition(paths))


def test_shapley_symmetry_and_null_player():
    # a and b are interchangeable; c only appears in journeys that never convert
    paths = paths_from_lists(
        [(["a", "b"], 2, 1), (["a"], 1, 0), (["b"], 1, 0), (["c", "a"], 0, 4), (["c"], 0, 2)]
    )
    credit = by_key(paths, attribute(paths, "shapley"))
    assert credit["a"] == credit["b"] == 2.0
    assert credit["c"] == 0.0
    assert sum(credit.values()) == paths.total


def test_revenue_values_are_shared_not_counts():
    paths = paths_from_lists([(["a", "b"], 1, 0), (["b"], 1, 0)], value=[1000.0, 500.0])
    for model in MODELS:
        assert attribute(paths, model).sum() == pytest.approx(1500.0)
    assert by_key(paths, attribute(paths, "first")) == {"a": 1000.0, "b": 500.0}


def test_bad_parameters_are_refused():
    paths = paths_from_lists(KNOWN)
    with pytest.raises(ValueError):
        attribute(paths, "time_decay", half_life=0)
    with pytest.raises(ValueError):
        attribute(paths, "position", first=0.7, last=0.5)
    with pytest.raises(ValueError):
        attribute(paths, "magic")


def test_shapley_with_more_keys_than_a_bit_mask_holds():
    many = [f"k{i:02d}" for i in range(70)]
    paths = paths_from_lists([(many[:40] + many[:5], 2, 0), (many[30:], 1, 1)])
    credit = by_key(paths, attribute(paths, "shapley"))
    assert credit["k00"] == round(2 / 40, 9)
    assert credit["k35"] == round(2 / 40 + 1 / 40, 9)
    assert credit["k69"] == round(1 / 40, 9)
    assert sum(credit.values()) == pytest.approx(3)

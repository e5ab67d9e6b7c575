"""The seven attribution models, as pure functions on distinct paths (no database here).

A `Paths` holds the distinct journeys the SQL in `volano.attribution.journeys` aggregated: each
path is the ordered touches (indices into `keys`) with how long before the conversion each
happened (`ages`, in days), and how many journeys followed it: `converted` (that converted),
`value` (what they are worth: their number for counted conversions, the revenue for revenue)
and `nulls` (that never converted). Every model gives each key a share of `value`; the shares
add up to `value.sum()` (the `total` of the API).

Definitions (docs/attribution.md):

- first / last: the whole value to the first / last touch;
- linear: equal shares per touch (a channel touched twice gets two shares);
- time decay: shares proportional to 2^(-age / half_life);
- position: `first` and `last` weights to the first and last touch, the rest evenly over the
  touches between (two touches: split in proportion first : last);
- markov: first-order chain over touches with start, conversion and null states; a key's
  credit is proportional to its removal effect, 1 - P(conversion without it) / P(conversion),
  computed exactly from the absorbing chain's fundamental matrix (a linear system, no
  simulation);
- shapley: v(S) = the value of the journeys whose touched keys all lie in S (Zhao et al.
  2018); its Shapley value shares each journey's value equally among its distinct keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MODELS = ("first", "last", "linear", "time_decay", "position", "markov", "shapley")


@dataclass
class Paths:
    keys: list[str]
    offsets: (
        np.ndarray
    )  # int64, len = paths + 1: path i's touches are touches[offsets[i]:offsets[i+1]]
    touches: np.ndarray  # int64 key index per touch
    ages: np.ndarray  # float64 days from the touch to the conversion, per touch
    converted: np.ndarray  # float64 per path
    value: np.ndarray  # float64 per path
    nulls: np.ndarray  # float64 per path
    _path_of_touch: np.ndarray | None = field(default=None, repr=False)
    _distinct: Paths | None = field(default=None, repr=False)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def path_of_touch(self) -> np.ndarray:
        if self._path_of_touch is None:
            self._path_of_touch = np.repeat(np.arange(len(self.lengths)), self.lengths)
        return self._path_of_touch

    @property
    def total(self) -> float:
        return float(self.value.sum())

    def distinct(self) -> Paths:
        """The same journeys with identical touch sequences merged (their counts and values
        added, ages dropped): what every model but time decay reads. Found by a 64-bit hash of
        each sequence, then checked touch by touch; on a collision, the paths as they are."""
        if self._distinct is None:
            self._distinct = _distinct(self)
        return self._distinct


def _distinct(paths: Paths) -> Paths:
    n = len(paths.lengths)
    if n == 0 or len(paths.touches) == 0:
        return paths
    lengths = paths.lengths
    position = np.arange(len(paths.touches)) - np.repeat(paths.offsets[:-1], lengths)
    with np.errstate(over="ignore"):
        mixed = (paths.touches.astype(np.uint64) + np.uint64(1)) * (
            np.uint64(0x9E3779B97F4A7C15)
            ^ (position.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))
        )
        mixed ^= mixed >> np.uint64(31)
        hashes = np.zeros(n, dtype=np.uint64)
        nonempty = lengths > 0
        hashes[nonempty] = np.add.reduceat(mixed, paths.offsets[:-1][nonempty])
        hashes ^= lengths.astype(np.uint64) * np.uint64(0x94D049BB133111EB)
    _, first, group = np.unique(hashes, return_index=True, return_inverse=True)
    representative = first[group]
    # every touch equal to its representative's at the same position, or no merging
    same_length = lengths == lengths[representative]
    rep_touch = np.repeat(paths.offsets[:-1][representative], lengths) + position
    if not (same_length.all() and np.array_equal(paths.touches[rep_touch], paths.touches)):
        return paths
    kept = first
    k = len(kept)
    new_lengths = lengths[kept]
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(new_lengths, out=offsets[1:])
    index = np.arange(offsets[-1], dtype=np.int64) - np.repeat(
        offsets[:-1] - paths.offsets[:-1][kept], new_lengths
    )
    return Paths(
        keys=paths.keys,
        offsets=offsets,
        touches=paths.touches[index],
        ages=np.zeros(len(index)),
        converted=np.bincount(group, weights=paths.converted, minlength=k),
        value=np.bincount(group, weights=paths.value, minlength=k),
        nulls=np.bincount(group, weights=paths.nulls, minlength=k),
    )


def paths_from_lists(
    journeys: list[tuple[list[str], float, float]],
    *,
    ages: list[list[float]] | None = None,
    value: list[float] | None = None,
) -> Paths:
    """Paths from Python lists: (touch keys in order, converted, nulls) per path; `value`
    defaults to `converted`. For tests and the benchmark's comparisons."""
    keys = sorted({key for touches, _, _ in journeys for key in touches})
    index = {key: i for i, key in enumerate(keys)}
    lengths = [len(touches) for touches, _, _ in journeys]
    offsets = np.zeros(len(journeys) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    flat = np.array([index[key] for touches, _, _ in journeys for key in touches], dtype=np.int64)
    flat_ages = (
        np.array([a for row in ages for a in row], dtype=np.float64)
        if ages is not None
        else np.zeros(len(flat))
    )
    converted = np.array([c for _, c, _ in journeys], dtype=np.float64)
    return Paths(
        keys=keys,
        offsets=offsets,
        touches=flat,
        ages=flat_ages,
        converted=converted,
        value=np.array(value, dtype=np.float64) if value is not None else converted.copy(),
        nulls=np.array([n for _, _, n in journeys], dtype=np.float64),
    )


def _spread(paths: Paths, weights: np.ndarray) -> np.ndarray:
    """Per key: the sum over touches of weight × the path's value, weights summing to 1 within
    each path."""
    per_touch = weights * paths.value[paths.path_of_touch]
    return np.bincount(paths.touches, weights=per_touch, minlength=len(paths.keys))


def _nonempty(paths: Paths) -> np.ndarray:
    return paths.lengths > 0


def first_touch(paths: Paths) -> np.ndarray:
    starts = paths.offsets[:-1][_nonempty(paths)]
    return np.bincount(
        paths.touches[starts], weights=paths.value[_nonempty(paths)], minlength=len(paths.keys)
    )


def last_touch(paths: Paths) -> np.ndarray:
    ends = paths.offsets[1:][_nonempty(paths)] - 1
    return np.bincount(
        paths.touches[ends], weights=paths.value[_nonempty(paths)], minlength=len(paths.keys)
    )


def linear(paths: Paths) -> np.ndarray:
    lengths = paths.lengths[paths.path_of_touch].astype(np.float64)
    return _spread(paths, 1.0 / lengths)


def time_decay(paths: Paths, *, half_life: float = 7.0) -> np.ndarray:
    if half_life <= 0:
        raise ValueError("half_life must be positive")
    raw = np.exp2(-np.maximum(paths.ages, 0.0) / half_life)
    sums = np.bincount(paths.path_of_touch, weights=raw, minlength=len(paths.lengths))
    return _spread(paths, raw / sums[paths.path_of_touch])


def position_based(paths: Paths, *, first: float = 0.4, last: float = 0.4) -> np.ndarray:
    if first < 0 or last < 0 or first + last > 1 or first + last == 0:
        raise ValueError("first and last must be ≥ 0 with 0 < first + last ≤ 1")
    middle = 1.0 - first - last
    n = paths.lengths[paths.path_of_touch]
    position = np.arange(len(paths.touches)) - paths.offsets[:-1][paths.path_of_touch]
    weights = middle / np.maximum(n - 2, 1).astype(np.float64)  # the touches between
    weights = np.where(position == 0, first, weights)
    weights = np.where(position == n - 1, last, weights)
    weights = np.where(n == 2, weights / (first + last), weights)  # first : last
    weights = np.where(n == 1, 1.0, weights)
    return _spread(paths, weights)


def transition_counts(paths: Paths) -> np.ndarray:
    """The (k + 3) × (k + 3) transition counts: state 0 is start, 1..k the keys, k + 1
    conversion, k + 2 null. Every journey adds start → first touch, each touch → the next,
    and the last touch → conversion (its converted journeys) or null (its nulls)."""
    k = len(paths.keys)
    size = k + 3
    conv, null = k + 1, k + 2
    keep = _nonempty(paths)
    journeys = paths.converted + paths.nulls
    states = paths.touches + 1
    counts = np.zeros(size * size, dtype=np.float64)
    starts = paths.offsets[:-1][keep]
    ends = paths.offsets[1:][keep] - 1
    counts += np.bincount(states[starts], weights=journeys[keep], minlength=size * size)[
        : size * size
    ]  # start (row 0) → first touch
    inner = np.ones(len(paths.touches), dtype=bool)
    inner[ends] = False
    src = states[inner]
    dst = states[np.flatnonzero(inner) + 1]
    counts += np.bincount(
        src * size + dst, weights=journeys[paths.path_of_touch[inner]], minlength=size * size
    )
    counts += np.bincount(
        states[ends] * size + conv, weights=paths.converted[keep], minlength=size * size
    )
    counts += np.bincount(
        states[ends] * size + null, weights=paths.nulls[keep], minlength=size * size
    )
    return counts.reshape(size, size)


def markov_removal_effects(paths: Paths) -> tuple[float, np.ndarray]:
    """(P(conversion), removal effect per key), exactly.

    With Q the transitions among transient states (start and keys) and N = (I - Q)^-1, the
    probability to convert from each state is x = N r (r: one step into conversion). Removing
    key c sends every journey reaching c to null, so P(conversion without c) = x_start -
    P(reach c) · x_c, where P(reach c from start) = N[start, c] / N[c, c]."""
    k = len(paths.keys)
    counts = transition_counts(paths)
    out = counts.sum(axis=1)
    probabilities = np.divide(
        counts, out[:, None], out=np.zeros_like(counts), where=out[:, None] > 0
    )
    transient = k + 1
    q = probabilities[:transient, :transient]
    r = probabilities[:transient, k + 1]
    if not r.any():
        return 0.0, np.zeros(k)
    fundamental = np.linalg.inv(np.eye(transient) - q)
    x = fundamental @ r
    p = float(x[0])
    diagonal = np.diag(fundamental)[1:]
    reach = np.divide(fundamental[0, 1:], diagonal, out=np.zeros(k), where=diagonal > 0)
    without = p - reach * x[1:]
    effects = 1.0 - without / p if p > 0 else np.zeros(k)
    return p, np.clip(effects, 0.0, 1.0)


def markov_conversion_probability(paths: Paths, *, removed: int | None = None) -> float:
    """P(conversion) of the chain, with key `removed` (an index) redirected to null: solved
    directly as a linear system (the independent computation the tests compare with)."""
    k = len(paths.keys)
    counts = transition_counts(paths)
    out = counts.sum(axis=1)
    probabilities = np.divide(
        counts, out[:, None], out=np.zeros_like(counts), where=out[:, None] > 0
    )
    transient = k + 1
    q = probabilities[:transient, :transient].copy()
    r = probabilities[:transient, k + 1].copy()
    if removed is not None:
        q[:, removed + 1] = 0.0
        q[removed + 1, :] = 0.0
        r[removed + 1] = 0.0
    x = np.linalg.solve(np.eye(transient) - q, r)
    return float(x[0])


def markov(paths: Paths) -> np.ndarray:
    _, effects = markov_removal_effects(paths)
    total = effects.sum()
    if total <= 0:
        return np.zeros(len(paths.keys))
    return effects / total * paths.total


def shapley(paths: Paths) -> np.ndarray:
    """Zhao et al. 2018: with v(S) the value of journeys whose keys all lie in S, a journey's
    value is shared equally among its distinct keys."""
    k = len(paths.keys)
    if len(paths.touches) == 0:
        return np.zeros(k)
    if k <= 63:
        # each path's set of keys as a bit mask (OR over its touches): no sort needed
        keep = _nonempty(paths)
        bits = np.left_shift(np.int64(1), paths.touches)
        masks = np.bitwise_or.reduceat(bits, paths.offsets[:-1][keep])
        value = paths.value[keep]
        distinct = np.zeros(len(masks), dtype=np.float64)
        for bit in range(k):
            distinct += (masks >> bit) & 1
        share = value / distinct
        return np.array([share[((masks >> bit) & 1) == 1].sum() for bit in range(k)])
    pairs = np.unique(paths.path_of_touch * np.int64(k) + paths.touches)
    path = pairs // k
    key = pairs % k
    distinct = np.bincount(path, minlength=len(paths.lengths)).astype(np.float64)
    return np.bincount(key, weights=paths.value[path] / distinct[path], minlength=k)


def attribute(
    paths: Paths,
    model: str,
    *,
    half_life: float = 7.0,
    first: float = 0.4,
    last: float = 0.4,
) -> np.ndarray:
    """Each key's credit under `model` (one of MODELS)."""
    if len(paths.keys) == 0:
        return np.zeros(0)
    if model == "time_decay":
        return time_decay(paths, half_life=half_life)
    paths = paths.distinct()
    if model == "first":
        return first_touch(paths)
    if model == "last":
        return last_touch(paths)
    if model == "linear":
        return linear(paths)
    if model == "time_decay":
        return time_decay(paths, half_life=half_life)
    if model == "position":
        return position_based(paths, first=first, last=last)
    if model == "markov":
        return markov(paths)
    if model == "shapley":
        return shapley(paths)
    raise ValueError(f"unknown model {model!r}")

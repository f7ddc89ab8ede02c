"""Compiled prediction of tree ensembles for designs made of known choices (QuickScorer).

Used by :class:`archgym.proxy.predictors.CompiledForest` when every tree has at most 64 leaves
and every design parameter has a finite table of choices (:meth:`CompiledForest.enable_choices`).
Each tree's leaves are numbered left to right; per choice (or per combination of a group of
consecutive parameters' choices) a bit mask per tree keeps the leaves the choice leaves
possible. A design's leaf in a tree is the lowest bit of the AND of its groups' masks
(Lucchese et al., "QuickScorer", SIGIR 2015): no walk, no branch per level, and the same leaf
as the walk. The outputs' trees are interleaved so their sums advance side by side, each in
scikit-learn's order (the predictions equal scikit-learn's bit for bit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

#: consecutive parameters with at most this many combinations of choices share one leaf mask per
#: combination (:meth:`CompiledForest.enable_choices`)
GROUP_CHOICES = 64


def _group_masks(per_choice: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-choice leaf masks -> one mask per combination of each group of consecutive parameters.

    Groups are greedy runs of parameters with at most :data:`GROUP_CHOICES` combinations (a
    wider parameter is a group alone). Returns the group masks (combinations in mixed radix,
    the group's last parameter fastest), ``weights`` (per choice row: its share of its group's
    mask row, so a group's row is the sum of its parameters' weights) and the plan, per group:
    first parameter, end parameter, the divisor and size that pick its combination out of a
    design number (the whole space in mixed radix, last parameter fastest), and its first row.
    """
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    groups: list[list[int]] = []
    for p, n in enumerate(sizes):
        if groups and math.prod(sizes[q] for q in groups[-1]) * n <= GROUP_CHOICES:
            groups[-1].append(p)
        else:
            groups.append([p])
    weights = np.zeros(len(per_choice), dtype=np.int64)
    blocks, plan, offset = [], [], 0
    for members in groups:
        block = per_choice[starts[members[0]]: starts[members[0]] + sizes[members[0]]]
        for p in members[1:]:
            block = (block[:, None, :] & per_choice[None, starts[p]: starts[p] + sizes[p]]).reshape(-1, per_choice.shape[1])
        inner = 1
        for p in reversed(members):
            weights[starts[p]: starts[p] + sizes[p]] = np.arange(sizes[p]) * inner
            inner *= sizes[p]
        weights[starts[members[0]]: starts[members[0]] + sizes[members[0]]] += offset
        divisor = math.prod(sizes[members[-1] + 1:])
        plan.append([members[0], members[-1] + 1, min(divisor, 2**62), inner, offset])
        blocks.append(block)
        offset += inner
    return np.ascontiguousarray(np.concatenate(blocks)), weights, np.array(plan, dtype=np.int64)



# -- compiled kernels -------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _finish_row(out, post):  # pragma: no cover - compiled
    """One row's sums -> metrics: divide (a forest's mean), inverse link, exp of a log target, clip."""
    for m in range(post.shape[0]):
        y = out[m] / post[m, 1]
        if post[m, 2] != 0:
            y = np.exp(y)
        if post[m, 3] != 0:
            y = np.exp(y)
        if y < post[m, 4]:
            y = post[m, 4]
        out[m] = y


@njit(cache=True, nogil=True)
def _leaf_counts(left, offsets):  # pragma: no cover - compiled
    """Leaves per tree."""
    counts = np.zeros(len(offsets) - 1, dtype=np.int64)
    for t in range(len(offsets) - 1):
        for i in range(offsets[t], offsets[t + 1]):
            if left[i] == -1:
                counts[t] += 1
    return counts


@njit(cache=True, nogil=True)
def _choice_masks(left, right, feature, threshold, value, offsets, rows, masks, leaf_values):  # pragma: no cover
    """Per choice row and tree, the bit mask of leaves (numbered left to right) the choice leaves possible.

    Relies on validation (children after parents, one parent each) and on at most 64 leaves a tree.
    """
    n = len(left)
    count = np.zeros(n, dtype=np.int64)  # leaves under each node
    first = np.zeros(n, dtype=np.int64)  # number of the leftmost leaf under each node
    for i in range(n - 1, -1, -1):
        count[i] = 1 if left[i] == -1 else count[left[i]] + count[right[i]]
    all_ones = ~np.uint64(0)
    for t in range(len(offsets) - 1):
        for k in range(rows.shape[0]):
            masks[k, t] = all_ones
        for i in range(offsets[t], offsets[t + 1]):
            if left[i] == -1:
                leaf_values[t, first[i]] = value[i]
                continue
            first[left[i]] = first[i]
            first[right[i]] = first[i] + count[left[i]]
            ruled_out = ((np.uint64(1) << np.uint64(count[left[i]])) - np.uint64(1)) << np.uint64(first[i])
            keep = ~ruled_out
            for k in range(rows.shape[0]):
                v = rows[k, feature[i]]
                if v > threshold[i]:  # NaN (another parameter's column) is never greater
                    masks[k, t] &= keep


#: outputs whose sums :func:`_choice_sums` keeps in registers (more take a slower loop)
_REGISTER_SUMS = 8


@njit(cache=True, nogil=True, inline="always")
def _choice_sums(alive, leaf_values, width, post, out):  # pragma: no cover - compiled
    """``out[m]``: output ``m``'s baseline plus its trees' leaves, the leaf of each tree being the
    lowest bit of ``alive`` (columns interleaved by output: see :meth:`CompiledForest.enable_choices`;
    ``leaf_values`` flat, ``width`` leaves a tree). Unsigned index arithmetic: no negative-index
    wrap-around check per leaf."""
    n_outputs = post.shape[0]
    n = alive.shape[0]
    stride = np.uint64(width)
    if n_outputs <= _REGISTER_SUMS:
        sums = np.zeros(_REGISTER_SUMS)  # a fixed size: the compiler keeps the sums in registers
        for m in range(n_outputs):
            sums[m] = post[m, 0]  # the baseline (0 for a forest), then the output's trees in scikit-learn's order
        for j in range(0, n, n_outputs):
            for m in range(_REGISTER_SUMS):
                if m < n_outputs:  # independent sums: the CPU overlaps their additions
                    sums[m] += leaf_values[np.uint64(j + m) * stride + np.uint64(trailing_zeros(alive[j + m]))]
        for m in range(n_outputs):
            out[m] = sums[m]
    else:
        for m in range(n_outputs):
            out[m] = post[m, 0]
        for j in range(0, n, n_outputs):
            for m in range(n_outputs):
                out[m] += leaf_values[np.uint64(j + m) * stride + np.uint64(trailing_zeros(alive[j + m]))]


@njit(cache=True, nogil=True, inline="always")
def _and_masks(masks, rows, n_rows):  # pragma: no cover - compiled
    """The AND of ``masks[rows[k]]`` for ``k < n_rows``: each tree's leaves the design leaves possible."""
    alive = masks[rows[0]].copy()
    for k in range(1, n_rows):
        row = masks[rows[k]]
        for t in range(alive.shape[0]):
            alive[t] &= row[t]
    return alive


@njit(cache=True, nogil=True, inline="always")
def _number_outputs(number, plan, masks, leaf_values, width, post, out):  # pragma: no cover - compiled
    """One design's outputs from its number into ``out``: each group's mask row is a digit of the
    number (see :func:`_group_masks`)."""
    rows = np.empty(plan.shape[0], dtype=np.int64)
    for k in range(plan.shape[0]):
        rows[k] = (number // plan[k, 2]) % plan[k, 3] + plan[k, 4]
    alive = _and_masks(masks, rows, plan.shape[0])
    _choice_sums(alive, leaf_values, width, post, out)
    _finish_row(out, post)


@njit(cache=True, nogil=True)
def _forest_choices_number(number, plan, masks, leaf_values, width, post):  # pragma: no cover - compiled
    """One design's outputs from its number, as an array."""
    out = np.empty(post.shape[0])
    _number_outputs(number, plan, masks, leaf_values, width, post, out)
    return out


@njit(cache=True, nogil=True)
def _forest_choices_number_tuple(number, plan, masks, leaf_values, width, post):  # pragma: no cover - compiled
    """One design's outputs from its number as a tuple of :data:`_REGISTER_SUMS` floats, the first
    ``post.shape[0]`` of them the outputs (at most that many): a tuple of floats crosses back to
    Python in about half the time of an array."""
    out = np.zeros(_REGISTER_SUMS)
    _number_outputs(number, plan, masks, leaf_values, width, post, out)
    return (out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7])


@njit(cache=True, nogil=True)
def _forest_choices_index(index, weights, plan, masks, leaf_values, width, post):  # pragma: no cover - compiled
    """One design's outputs from its choice rows ``index`` (a tuple): each group's mask row is the sum of its
    parameters' weights."""
    rows = np.empty(plan.shape[0], dtype=np.int64)
    for k in range(plan.shape[0]):
        row = 0
        for p in range(plan[k, 0], plan[k, 1]):
            row += weights[index[p]]
        rows[k] = row
    alive = _and_masks(masks, rows, plan.shape[0])
    out = np.empty(post.shape[0])
    _choice_sums(alive, leaf_values, width, post, out)
    _finish_row(out, post)
    return out


@njit(cache=True, nogil=True)
def _forest_predict_choices(groups, masks, leaf_values, width, post, out):  # pragma: no cover - compiled
    """Each row's outputs from its groups' mask rows ``groups[r]``."""
    for r in range(groups.shape[0]):
        alive = _and_masks(masks, groups[r], groups.shape[1])
        _choice_sums(alive, leaf_values, width, post, out[r])
        _finish_row(out[r], post)

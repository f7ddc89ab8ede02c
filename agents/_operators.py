"""Variation operators shared by the evolutionary agents (``ga``, ``evolution``) and others.

Everything here works on any :class:`~archgym.spaces.DesignSpace` parameter — categorical,
ordered value lists, integers and reals (linear or log) — and draws randomness only from the
``rng`` it is given, so agents stay reproducible through their own seeded generator.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from archgym.spaces import Design, DesignSpace, Parameter, Real

#: default width of a local step on a real parameter, as a fraction of its (log) range
REAL_STEP = 0.1


def sample_value(parameter: Parameter, rng: np.random.Generator) -> Any:
    """A random value of one parameter, drawn exactly as :meth:`DesignSpace.sample` draws it."""
    return DesignSpace([parameter]).sample(rng)[parameter.name]


def mutable(space: DesignSpace) -> list[Parameter]:
    """The parameters that can change at all (a parameter with one choice cannot)."""
    return [p for p in space.parameters if p.n > 1]


def other_value(parameter: Parameter, value: Any, rng: np.random.Generator) -> Any:
    """A uniformly random value of ``parameter`` different from ``value``.

    Reals get a fresh draw from their range (different with probability 1); a parameter with a
    single choice returns ``value`` unchanged.
    """
    if isinstance(parameter, Real):
        return sample_value(parameter, rng)
    n = parameter.n
    if n < 2:
        return value
    current = parameter.index(value)
    j = int(rng.integers(n - 1))
    return parameter.value(j + 1 if j >= current else j)


def step_value(parameter: Parameter, value: Any, rng: np.random.Generator, real_step: float = REAL_STEP) -> Any:
    """A local move: an adjacent value for ordered parameters, any other choice for categorical.

    Discrete ordered parameters move one index up or down (the only direction at either end).
    Reals take a Gaussian step of ``real_step`` × their range (in log space for ``log``
    parameters), clipped to the bounds.
    """
    if isinstance(parameter, Real):
        if parameter.log:
            low, high, x = math.log(parameter.low), math.log(parameter.high), math.log(value)
        else:
            low, high, x = parameter.low, parameter.high, float(value)
        x = float(np.clip(x + rng.normal(0.0, real_step * (high - low)), low, high))
        x = math.exp(x) if parameter.log else x
        return float(min(max(x, parameter.low), parameter.high))
    if not parameter.ordered:
        return other_value(parameter, value, rng)
    n = parameter.n
    if n < 2:
        return value
    i = parameter.index(value)
    if i == 0:
        return parameter.value(1)
    if i == n - 1:
        return parameter.value(n - 2)
    return parameter.value(i + (1 if rng.random() < 0.5 else -1))


def mutate_value(
    parameter: Parameter, value: Any, rng: np.random.Generator, local_probability: float = 0.0
) -> Any:
    """A different value: a local :func:`step_value` with ``local_probability`` on ordered
    parameters, otherwise a uniformly random :func:`other_value`."""
    if parameter.ordered and local_probability > 0.0 and rng.random() < local_probability:
        return step_value(parameter, value, rng)
    return other_value(parameter, value, rng)


def mutate_one(
    space: DesignSpace, design: Mapping[str, Any], rng: np.random.Generator, local_probability: float = 0.0
) -> Design:
    """``design`` with exactly one randomly chosen (changeable) parameter set to another value.

    This is the mutation of regularized evolution (Real et al., 2019); a space where nothing can
    change returns a copy of ``design``.
    """
    child = dict(design)
    candidates = mutable(space)
    if candidates:
        parameter = candidates[int(rng.integers(len(candidates)))]
        child[parameter.name] = mutate_value(parameter, child[parameter.name], rng, local_probability)
    return child


def mutate_genes(
    space: DesignSpace,
    design: Mapping[str, Any],
    rng: np.random.Generator,
    probability: float,
    local_probability: float = 0.0,
) -> Design:
    """Per-gene mutation: every parameter independently changes with ``probability``."""
    child = dict(design)
    for parameter in space.parameters:
        if rng.random() < probability:
            child[parameter.name] = mutate_value(parameter, child[parameter.name], rng, local_probability)
    return child


def uniform_crossover(
    space: DesignSpace, first: Mapping[str, Any], second: Mapping[str, Any], rng: np.random.Generator
) -> Design:
    """Uniform crossover (Syswerda, 1989): each parameter comes from either parent with p = 1/2."""
    take_first = rng.random(len(space)) < 0.5
    return {p.name: (first if t else second)[p.name] for p, t in zip(space.parameters, take_first)}


def design_key(space: DesignSpace, design: Mapping[str, Any]) -> tuple[Any, ...]:
    """A hashable identity of a design (values in the space's parameter order)."""
    return tuple(design[name] for name in space.names)

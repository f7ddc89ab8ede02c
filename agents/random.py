"""Random search: the baseline every other agent is measured against."""

from __future__ import annotations

from archgym.agents.base import Agent
from archgym.spaces import Design


class RandomSearch(Agent):
    """Uniform random sampling of the design space (seeded), without replacement.

    A draw that repeats a design already proposed is redrawn (up to
    :data:`~archgym.agents.base.FRESH_TRIES` times; only a nearly exhausted space repeats), as
    random-search baselines on NAS benchmarks sample. ``ask(n)`` gives ``n`` distinct designs.

    Reference: Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 2012;
    ArchGym's random-walker baseline (Krishnan et al., ISCA 2023) samples the same way.
    """

    name = "random"

    def propose_one(self) -> Design:
        return self.fresh(lambda: self.design_space.sample(self.rng))

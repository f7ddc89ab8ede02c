"""Random search: the baseline every other agent is measured against."""

from __future__ import annotations

from archgym.agents.base import Agent
from archgym.spaces import Design


class RandomSearch(Agent):
    """Uniform random sampling of the design space (seeded).

    Reference: Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 2012;
    ArchGym's random-walker baseline (Krishnan et al., ISCA 2023) samples the same way.
    """

    name = "random"

    def ask(self) -> Design:
        return self.design_space.sample(self.rng)

"""``archgym/Synthetic-v0``: a known-optimum design problem for testing and comparing agents."""

from __future__ import annotations

from typing import Any, Mapping

from archgym.env import DSEEnv
from archgym.registration import EnvMetadata
from archgym.objectives import Objective, ObjectiveSpec
from archgym.simulators.synthetic import SeparableSimulator
from archgym.spaces import Categorical, DesignSpace, Integer


def synthetic_design_space(n_categorical: int = 5, n_integer: int = 5, n_values: int = 4) -> DesignSpace:
    """``n_categorical`` categorical and ``n_integer`` integer parameters of ``n_values`` values each."""
    parameters: list[Any] = [
        Categorical(f"cat{i}", tuple(f"c{j}" for j in range(n_values))) for i in range(n_categorical)
    ]
    parameters += [Integer(f"int{i}", 0, n_values - 1) for i in range(n_integer)]
    return DesignSpace(parameters)


def metadata(n_categorical: int = 5, n_integer: int = 5, n_values: int = 4) -> EnvMetadata:
    """Design space, metrics and default objective of ``archgym/Synthetic-v0``."""
    return EnvMetadata(synthetic_design_space(n_categorical, n_integer, n_values), SeparableSimulator.metrics,
                       "normalized_excess", {"cost": 1.0}, ("cost",), objectives=SyntheticEnv.DEFAULT_OBJECTIVES)


class SyntheticEnv(DSEEnv):
    """A separable cost function with a known optimum (cost 1).

    ## Description
    :class:`~archgym.simulators.synthetic.SeparableSimulator` over 5 categorical and 5 integer
    parameters of 4 values each (1,048,576 designs). Because the optimum is known, it measures
    how close an agent gets, which no real simulator can.

    ## Action Space
    ``MultiDiscrete([4] * 10)``; ``step`` also takes a design dict.

    ## Observation Space
    ``Box(-1, 1, (1,))``: the last design's cost, squashed as in :class:`archgym.env.DSEEnv`.

    ## Rewards
    Default ``normalized_excess`` with target cost 1: ``reward = −(cost − 1) = −regret``, 0 at
    the optimum. Other objectives via ``reward=``/``targets=``.

    ## Episode End
    Truncated after ``max_episode_steps`` (100 by registration).

    ## Arguments
    ``function_seed`` draws the cost tables; ``n_categorical``, ``n_integer``, ``n_values`` size the
    space; ``reward``, ``targets``, ``weights``, ``cache``, ``render_mode`` as :class:`archgym.env.DSEEnv`.

    ## Multi-objective
    One objective, the cost (minimise); ``reward="vector"`` returns its log-ratio to the
    all-defaults design as a length-1 vector (:class:`archgym.env.DSEEnv`).

    ## Version History
    * v0: initial release.
    """

    DEFAULT_OBJECTIVES = (ObjectiveSpec("cost", "minimize", "units"),)

    def __init__(
        self,
        function_seed: int = 0,
        n_categorical: int = 5,
        n_integer: int = 5,
        n_values: int = 4,
        reward: str | Objective = "normalized_excess",
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        cache: bool = True,
        render_mode: str | None = None,
        objectives: Any = None,
    ) -> None:
        space = synthetic_design_space(n_categorical, n_integer, n_values)
        simulator = SeparableSimulator(
            {p.name: p.choices for p in space},
            {p.name: isinstance(p, Integer) for p in space},
            function_seed=function_seed,
        )
        super().__init__(
            simulator,
            space,
            "synthetic",
            reward=reward,
            # log_ratio/vector: reference = the all-defaults design (the env's baseline), as every env
            targets={"cost": 1.0} if targets is None and reward not in ("log_ratio", "vector") else targets,
            weights=weights,
            observed_metrics=("cost",),
            cache=cache,
            render_mode=render_mode,
            objectives=objectives,
        )

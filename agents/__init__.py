"""Search agents. ``make_agent(name, design_space, seed, **hyperparameters)`` builds one by name.

Agents are imported lazily (RL agents pull in torch), so listing them is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from archgym.agents.base import Agent, Outcome, RunResult, Suggestion, design_space_of
from archgym.spaces import DesignSpace

#: registry name -> "module:Class"
AGENTS: dict[str, str] = {
    "random": "archgym.agents.random:RandomSearch",
    "random_walk": "archgym.agents.random_walk:RandomWalk",
    "ga": "archgym.agents.genetic:GeneticAlgorithm",
    "evolution": "archgym.agents.evolution:RegularizedEvolution",
    "aco": "archgym.agents.aco:AntColony",
    "bo": "archgym.agents.bayesian:BayesianOptimization",
    "ppo": "archgym.agents.rl:PPOAgent",
    "a2c": "archgym.agents.rl:A2CAgent",
    "dqn": "archgym.agents.rl:DQNAgent",
    "marl": "archgym.agents.marl:MultiAgentRL",
    # Optuna's samplers (optional extra: pip install 'archgym[optuna]')
    "optuna_tpe": "archgym.agents.optuna_samplers:OptunaTPE",
    "optuna_cmaes": "archgym.agents.optuna_samplers:OptunaCMAES",
    "optuna_gp": "archgym.agents.optuna_samplers:OptunaGP",
    "optuna_qmc": "archgym.agents.optuna_samplers:OptunaQMC",
    "optuna_nsga2": "archgym.agents.optuna_samplers:OptunaNSGA2",
}


def agent_class(name: str) -> type[Agent]:
    """The class registered as ``name``; unknown names list the valid ones."""
    try:
        target = AGENTS[name]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; expected one of {', '.join(sorted(AGENTS))}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def make_agent(name: str, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> Agent:
    return agent_class(name)(design_space, seed=seed, **hyperparameters)


#: agents that need an optional extra (``pip install 'archgym[optuna]'``)
OPTIONAL_AGENTS = frozenset(name for name, target in AGENTS.items() if ".optuna_samplers:" in target)


def list_agents(optional: bool = True) -> list[str]:
    """Registered agent names; ``optional=False`` leaves out those needing an optional extra."""
    return sorted(name for name in AGENTS if optional or name not in OPTIONAL_AGENTS)


__all__ = ["AGENTS", "OPTIONAL_AGENTS", "Agent", "Outcome", "RunResult", "Suggestion", "agent_class", "design_space_of", "list_agents", "make_agent"]

"""Search agents. ``make_agent(name, design_space, seed, **hyperparameters)`` builds one by name.

Each agent is registered with static metadata (:class:`AgentInfo`: family, one-line summary,
reference, the extra it needs), so ``archgym list agents`` shows them all without importing
any agent module; the class itself (RL agents pull in torch) is imported on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from archgym.agents.base import Agent, Outcome, RunResult, Suggestion, design_space_of
from archgym.errors import UserError, import_optional
from archgym.spaces import DesignSpace


@dataclass(frozen=True)
class AgentInfo:
    """What is known about a registered agent without importing it."""

    name: str
    #: ``"module:Class"``, imported lazily
    target: str
    family: str
    summary: str
    reference: str
    #: the ``pip install 'archgym[extra]'`` it needs, or ``None`` for the core install
    extra: str | None = None


_INFO: tuple[AgentInfo, ...] = (
    AgentInfo("random", "archgym.agents.random:RandomSearch", "baseline",
              "uniform random sampling of the design space", "Bergstra & Bengio, JMLR 2012"),
    AgentInfo("random_walk", "archgym.agents.random_walk:RandomWalk", "local search",
              "random walk from a random design to random neighbours", "ArchGym (Krishnan et al., ISCA 2023)"),
    AgentInfo("ga", "archgym.agents.genetic:GeneticAlgorithm", "evolutionary",
              "genetic algorithm as ArchGym tunes it", "Holland 1975; Goldberg 1989"),
    AgentInfo("evolution", "archgym.agents.evolution:RegularizedEvolution", "evolutionary",
              "regularized (aging) evolution", "Real et al., AAAI 2019"),
    AgentInfo("aco", "archgym.agents.aco:AntColony", "swarm",
              "ant colony optimisation over the parameter graph", "Dorigo & Stuetzle 2004"),
    AgentInfo("bo", "archgym.agents.bayesian:BayesianOptimization", "model-based",
              "Bayesian optimisation: mixed-kernel GP, log-EI over unseen designs with neighbour local search",
              "Snoek et al., NeurIPS 2012; Ru et al., ICML 2020 (CoCaBO)", extra="bo"),
    AgentInfo("ppo", "archgym.agents.rl:PPOAgent", "reinforcement learning",
              "proximal policy optimisation (stable-baselines3)", "Schulman et al. 2017", extra="rl"),
    AgentInfo("a2c", "archgym.agents.rl:A2CAgent", "reinforcement learning",
              "advantage actor-critic (stable-baselines3)", "Mnih et al., ICML 2016", extra="rl"),
    AgentInfo("dqn", "archgym.agents.rl:DQNAgent", "reinforcement learning",
              "deep Q-network over an enumeration of the designs (stable-baselines3)", "Mnih et al., Nature 2015",
              extra="rl"),
    AgentInfo("marl", "archgym.agents.marl:MultiAgentRL", "reinforcement learning",
              "independent policy-gradient learners, one per parameter", "Krishnan et al., arXiv:2211.16385, 2022",
              extra="marl"),
    # Optuna's samplers through one adapter (archgym.agents.optuna_samplers)
    AgentInfo("optuna_tpe", "archgym.agents.optuna_samplers:OptunaTPE", "model-based",
              "Optuna's tree-structured Parzen estimator", "Bergstra et al., NeurIPS 2011; Akiba et al., KDD 2019",
              extra="optuna"),
    AgentInfo("optuna_cmaes", "archgym.agents.optuna_samplers:OptunaCMAES", "evolutionary",
              "Optuna's CMA-ES sampler", "Hansen & Ostermeier 2001; Akiba et al., KDD 2019", extra="optuna"),
    AgentInfo("optuna_gp", "archgym.agents.optuna_samplers:OptunaGP", "model-based",
              "Optuna's Gaussian-process sampler", "Akiba et al., KDD 2019", extra="optuna"),
    AgentInfo("optuna_qmc", "archgym.agents.optuna_samplers:OptunaQMC", "baseline",
              "Optuna's quasi-Monte-Carlo (Sobol) sampler", "Bergstra & Bengio, JMLR 2012", extra="optuna"),
    AgentInfo("optuna_nsga2", "archgym.agents.optuna_samplers:OptunaNSGA2", "evolutionary",
              "Optuna's NSGA-II (single- or multi-objective)", "Deb et al., IEEE TEVC 2002", extra="optuna"),
)

#: registry name -> "module:Class" (add an entry to plug in an agent; :data:`AGENT_INFO` is optional)
AGENTS: dict[str, str] = {info.name: info.target for info in _INFO}
#: registry name -> static metadata
AGENT_INFO: dict[str, AgentInfo] = {info.name: info for info in _INFO}


def agent_info(name: str) -> AgentInfo:
    """The metadata of agent ``name``, without importing it.

    An agent added to :data:`AGENTS` without metadata is imported once to read its docstring.
    """
    if name not in AGENTS:
        raise UserError(f"unknown agent {name!r}; expected one of {', '.join(sorted(AGENTS))}")
    info = AGENT_INFO.get(name)
    if info is None or info.target != AGENTS[name]:
        doc = (agent_class(name).__doc__ or "").strip().splitlines()
        info = AgentInfo(name, AGENTS[name], "plug-in", doc[0] if doc else "", "")
    return info


def agent_class(name: str) -> type[Agent]:
    """The class registered as ``name``; unknown names list the valid ones, a missing extra names
    its ``pip install``."""
    if name not in AGENTS:
        raise UserError(f"unknown agent {name!r}; expected one of {', '.join(sorted(AGENTS))}")
    module, _, cls = AGENTS[name].partition(":")
    info = AGENT_INFO.get(name)
    if info is not None and info.extra is not None:
        return getattr(import_optional(module, info.extra, f"the {name!r} agent"), cls)
    return getattr(importlib.import_module(module), cls)


def make_agent(name: str, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> Agent:
    return agent_class(name)(design_space, seed=seed, **hyperparameters)


#: agents that need an optional extra (``pip install 'archgym[optuna]'``)
OPTIONAL_AGENTS = frozenset(info.name for info in _INFO if info.extra == "optuna")


def list_agents(optional: bool = True) -> list[str]:
    """Registered agent names; ``optional=False`` leaves out those needing the ``optuna`` extra."""
    return sorted(name for name in AGENTS if optional or name not in OPTIONAL_AGENTS)


__all__ = ["AGENTS", "AGENT_INFO", "OPTIONAL_AGENTS", "Agent", "AgentInfo", "Outcome", "RunResult", "Suggestion",
           "agent_class", "agent_info", "design_space_of", "list_agents", "make_agent"]

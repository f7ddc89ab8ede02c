"""Split a design space among agents: which agent owns which parameters.

Used by the multi-agent formulation of design space exploration (the PettingZoo env
:mod:`archgym.envs.multi_agent` and the ``marl`` agent), where every agent picks the values of
the parameters it owns and all of them share the reward of the joint design. Kept free of
PettingZoo and torch so both sides can import it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from archgym.errors import UserError
from archgym.spaces import DesignSpace, Real

#: agent name -> the parameters it owns, in the order its actions list them
Groups = dict[str, tuple[str, ...]]


def partition(design_space: DesignSpace, groups: Mapping[str, Sequence[str] | str] | None = None) -> Groups:
    """Validated ownership of ``design_space``'s parameters.

    ``groups`` maps an agent name to the parameter(s) it owns (a name or a sequence of names);
    ``None`` gives one agent per parameter, named like the parameter, in design-space order.
    Every parameter must be owned by exactly one agent; unknown names, parameters owned twice
    or by nobody, and empty groups raise ``ValueError`` naming them.
    """
    if groups is None:
        return {name: (name,) for name in design_space.names}
    if not isinstance(groups, Mapping):
        raise TypeError(
            f"groups must map agent names to parameter names, e.g. {{'agent': ['ParamA', 'ParamB']}}; "
            f"got {type(groups).__name__}"
        )
    result: Groups = {}
    owner: dict[str, str] = {}
    unknown: list[str] = []
    twice: list[str] = []
    for agent, params in groups.items():
        if not isinstance(agent, str) or not agent:
            raise UserError(f"agent names must be non-empty strings, got {agent!r}")
        names = (params,) if isinstance(params, str) else tuple(params)
        if not names:
            raise UserError(f"agent {agent!r} owns no parameter; give it at least one of {', '.join(design_space.names)}")
        for name in names:
            if name not in design_space.names:
                unknown.append(repr(name))
            elif name in owner:
                twice.append(f"{name!r} ({owner[name]!r} and {agent!r})")
            else:
                owner[name] = agent
        result[agent] = names
    if unknown:
        raise UserError(f"unknown parameter(s) {', '.join(unknown)} in groups; expected: {', '.join(design_space.names)}")
    if twice:
        raise UserError(f"parameter(s) owned by more than one agent: {', '.join(twice)}; each must be owned exactly once")
    orphans = [name for name in design_space.names if name not in owner]
    if orphans:
        raise UserError(f"parameter(s) owned by no agent: {', '.join(orphans)}; every parameter must be owned exactly once")
    return result


def require_discrete(design_space: DesignSpace, who: str) -> None:
    """Raise ``ValueError`` naming the real-valued parameters, which ``who`` cannot choose among."""
    reals = [p.name for p in design_space if isinstance(p, Real)]
    if reals:
        raise UserError(
            f"{who} supports discrete parameters only (Categorical, Values, PowerOfTwo, Integer); "
            f"real-valued: {', '.join(reals)} — discretise them with Values(...) first"
        )

"""The NAS-Bench-201 cell search space as plain data: operations, edges, arch strings, isomorphism.

NAS-Bench-201 (Dong & Yang, ICLR 2020) searches one cell, a 4-node DAG whose 6 edges each carry
one of 5 operations (:data:`OP_NAMES`); 5^6 = 15,625 cells. Node ``j`` is the sum over ``i < j``
of ``op_(j,i)(node i)``; node 0 is the cell input, node 3 its output. The edges, in the order the
benchmark's arch strings list them, are (1←0), (2←0), (2←1), (3←0), (3←1), (3←2)
(:data:`EDGES`), named ``edge_1_0`` ... ``edge_3_2`` (:data:`EDGE_NAMES`) as design parameters.

Representations of one cell (all round-trip):

* the arch string, ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (:func:`parse_arch`, :func:`format_arch`);
* a tuple of 6 op names in edge order (what every function here takes, :data:`Arch`);
* a design dict ``{"edge_1_0": op, ...}`` (:func:`arch_to_design`, :func:`design_to_arch`);
* the *space index* in ``[0, 15625)``: the mixed-radix number whose digits are the op indices,
  edge (1←0) most significant (:func:`arch_index`, :func:`arch_from_index`). This is the order of
  :func:`all_archs`, not the benchmark's own row index (see :mod:`.tabular`).

Isomorphism
-----------
Different strings can compute the same function: an edge fed by a node that is always zero
contributes nothing, ``skip_connect`` merely forwards a sum, and a sum does not depend on the
order of its terms. :func:`canonical_key` maps every cell to one expression of its output:

* node 0 is ``x``; every node is a *multiset* of terms (its sum);
* ``none``, and any operation applied to a node that is always zero, contributes nothing;
* ``skip_connect`` contributes the terms of its source node unchanged (sums are flattened);
* any other operation contributes the single term ``op(<sorted terms of its source>)``.

Two cells with the same key compute the same function of the input (with their own weights),
so edges not on an input→output path drop out. Like NAS-Bench-201's own rule, an operation on an
all-zero input counts as zero (strictly, a trained BatchNorm would add a constant there). This
key gives **4,930** classes over the 15,625 cells; :func:`nb201_unique_str` reproduces the
benchmark's ``to_unique_str(consider_zero=True)``, which keeps ``0`` summands and gives the
paper's **6,466** "unique topologies". The benchmark trained every one of the 15,625 strings
separately, so the tables (and the envs) keep one entry per string; the keys are for analysis
and de-duplicating search. :func:`is_connected` tells whether the output depends on the input
at all (``canonical_key(arch) != "0"``).
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any, Iterable, Iterator, Mapping, Sequence

from archgym.errors import UserError

__all__ = [
    "OP_NAMES",
    "PARAMETRIC_OPS",
    "EDGES",
    "EDGE_NAMES",
    "NUM_NODES",
    "NUM_ARCHS",
    "RESNET_ARCH",
    "Arch",
    "ArchError",
    "check_arch",
    "parse_arch",
    "format_arch",
    "arch_index",
    "arch_from_index",
    "all_archs",
    "arch_to_design",
    "design_to_arch",
    "canonical_key",
    "nb201_unique_str",
    "is_connected",
    "op_counts",
    "count_classes",
]

#: NAS-Bench-201's operations, in the benchmark's order
OP_NAMES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: the operations with weights (ReLU → conv → BatchNorm)
PARAMETRIC_OPS: tuple[str, ...] = ("nor_conv_1x1", "nor_conv_3x3")
#: the cell's edges as (to, from) node pairs, in arch-string order
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
#: design-parameter name of each edge, ``edge_<to>_<from>``
EDGE_NAMES: tuple[str, ...] = tuple(f"edge_{to}_{src}" for to, src in EDGES)
NUM_NODES = 4
NUM_ARCHS = len(OP_NAMES) ** len(EDGES)

#: a cell: one op name per edge, in :data:`EDGES` order
Arch = tuple[str, ...]

#: NAS-Bench-201's ResNet cell, ``|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|``:
#: output = x + conv3x3(conv3x3(x)), a basic residual block (the benchmark paper's ResNet baseline)
RESNET_ARCH: Arch = ("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "skip_connect")

_OP_INDEX = {op: i for i, op in enumerate(OP_NAMES)}
_NODE_RE = re.compile(r"\|([^|~]+)~(\d+)")
_EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


class ArchError(UserError):
    """A cell that is not in the NAS-Bench-201 space: bad string, op name, length or index."""


def check_arch(ops: Sequence[str]) -> Arch:
    """``ops`` as an :data:`Arch` (tuple of 6 known op names); raise :class:`ArchError` otherwise."""
    if isinstance(ops, str):
        raise ArchError(f"expected a sequence of {len(EDGES)} op names, got the string {ops!r} (use parse_arch)")
    ops = tuple(ops)
    if len(ops) != len(EDGES):
        raise ArchError(f"a NAS-Bench-201 cell has {len(EDGES)} edges, got {len(ops)} ops: {ops!r}")
    for edge, op in zip(EDGE_NAMES, ops):
        if op not in _OP_INDEX:
            raise ArchError(f"unknown operation {op!r} on {edge}; expected one of {', '.join(OP_NAMES)}")
    return ops


def parse_arch(text: str) -> Arch:
    """Parse an arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` into an :data:`Arch`.

    Every node's inputs must be listed in order (``~0``, ``~1``, ...); anything else raises
    :class:`ArchError` naming the problem and showing the expected format.
    """
    if not isinstance(text, str):
        raise ArchError(f"an arch string must be a str, got {type(text).__name__}")
    nodes = text.strip().split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ArchError(f"arch string {text!r} has {len(nodes)} node groups separated by '+'; expected "
                        f"{NUM_NODES - 1}, e.g. {_EXAMPLE}")
    ops: list[str] = []
    for node, group in enumerate(nodes, start=1):
        pairs = _NODE_RE.findall(group)
        rebuilt = "".join(f"|{op}~{src}" for op, src in pairs) + "|"
        if not pairs or rebuilt != group:
            raise ArchError(f"arch string {text!r}: node {node} group {group!r} is malformed; expected "
                            f"'|op~0|...|op~{node - 1}|', e.g. {_EXAMPLE}")
        sources = [int(src) for _, src in pairs]
        if sources != list(range(node)):
            raise ArchError(f"arch string {text!r}: node {node} must list inputs ~0..~{node - 1} in order, got "
                            f"{', '.join(f'~{s}' for s in sources)}")
        ops.extend(op for op, _ in pairs)
    return check_arch(ops)


def format_arch(ops: Sequence[str]) -> str:
    """The arch string of ``ops`` (inverse of :func:`parse_arch`)."""
    ops = check_arch(ops)
    groups = []
    for node in range(1, NUM_NODES):
        groups.append("".join(f"|{op}~{src}" for (to, src), op in zip(EDGES, ops) if to == node) + "|")
    return "+".join(groups)


def arch_index(ops: Sequence[str]) -> int:
    """The space index of ``ops``: op indices as base-5 digits, edge (1←0) most significant."""
    index = 0
    for op in check_arch(ops):
        index = index * len(OP_NAMES) + _OP_INDEX[op]
    return index


def arch_from_index(index: int) -> Arch:
    """The cell with space index ``index`` (inverse of :func:`arch_index`)."""
    if isinstance(index, bool) or not isinstance(index, int) and not hasattr(index, "__index__"):
        raise ArchError(f"an arch index must be an integer, got {index!r}")
    index = int(index)
    if not 0 <= index < NUM_ARCHS:
        raise ArchError(f"arch index {index} is out of range; expected 0 <= index < {NUM_ARCHS}")
    digits = []
    for _ in EDGES:
        index, digit = divmod(index, len(OP_NAMES))
        digits.append(OP_NAMES[digit])
    return tuple(reversed(digits))


def all_archs() -> Iterator[Arch]:
    """Every cell, in space-index order."""
    return itertools.product(OP_NAMES, repeat=len(EDGES))


def arch_to_design(ops: Sequence[str]) -> dict[str, str]:
    """``{"edge_1_0": op, ...}`` for ``ops``."""
    return dict(zip(EDGE_NAMES, check_arch(ops)))


def design_to_arch(design: Mapping[str, Any]) -> Arch:
    """The cell of a design dict holding (at least) the six ``edge_*`` parameters."""
    missing = [name for name in EDGE_NAMES if name not in design]
    if missing:
        raise ArchError(f"design lacks the cell parameter(s) {', '.join(missing)}; expected {', '.join(EDGE_NAMES)}")
    return check_arch([design[name] for name in EDGE_NAMES])


def op_counts(ops: Sequence[str]) -> dict[str, int]:
    """How many edges carry each operation."""
    ops = check_arch(ops)
    return {op: ops.count(op) for op in OP_NAMES}


@functools.lru_cache(maxsize=NUM_ARCHS)
def _canonical(ops: Arch) -> str:
    nodes: list[tuple[str, ...]] = [("x",)]
    for node in range(1, NUM_NODES):
        terms: list[str] = []
        for (to, src), op in zip(EDGES, ops):
            if to != node or op == "none" or not nodes[src]:
                continue
            if op == "skip_connect":
                terms.extend(nodes[src])
            else:
                terms.append(f"{op}({'+'.join(nodes[src])})")
        nodes.append(tuple(sorted(terms)))
    return "+".join(nodes[-1]) or "0"


def canonical_key(ops: Sequence[str]) -> str:
    """The output expression that identifies ``ops``' isomorphism class (module doc); ``"0"``
    when the output does not depend on the input."""
    return _canonical(check_arch(ops))


def nb201_unique_str(ops: Sequence[str]) -> str:
    """NAS-Bench-201's ``CellStructure.to_unique_str(consider_zero=True)``: ``#`` marks a zero
    summand, which (unlike :func:`canonical_key`) is kept, so ``x + 0`` and ``x`` differ."""
    ops = check_arch(ops)
    nodes = ["0"]
    for node in range(1, NUM_NODES):
        parts = []
        for (to, src), op in zip(EDGES, ops):
            if to != node:
                continue
            if op == "none" or nodes[src] == "#":
                parts.append("#")
            elif op == "skip_connect":
                parts.append(nodes[src])
            else:
                parts.append(f"({nodes[src]})@{op}")
        nodes.append("+".join(sorted(parts)))
    return nodes[-1]


def is_connected(ops: Sequence[str]) -> bool:
    """Whether some path of non-``none`` edges leads from the input to the output."""
    return canonical_key(ops) != "0"


def count_classes(archs: Iterable[Sequence[str]], key=canonical_key) -> int:
    """Number of distinct ``key`` values over ``archs`` (e.g. ``count_classes(all_archs())``)."""
    return len({key(ops) for ops in archs})

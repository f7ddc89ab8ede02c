"""Neural-architecture search on NAS-Bench-201: the cell space, the tabular benchmark, layer tables.

* :mod:`.nb201` — the search space as plain data: operations, edges, arch strings, space
  indices, isomorphism keys;
* :mod:`.tabular` — :class:`NB201Tabular`, exact lookups of accuracy, training time and device
  latency for all 15,625 cells (shipped data, MIT-licensed sources);
* :mod:`.layers` — a network as the accelerator's layer table, with its parameters and FLOPs;
* :mod:`.codesign` — :class:`CoDesignSimulator`, a cell plus an accelerator costed together;
* :mod:`.model` (torch) — the network itself, used by the supernet and the zero-cost proxies.

This package imports no torch and reads no data on import: the torch modules are imported
only by whoever uses them, and the table is loaded on the first lookup.
"""

from .layers import DATASET_SHAPES, NetworkLayer, Skeleton, count_flops, count_params, network_layers, network_workload
from .nb201 import (EDGE_NAMES, EDGES, NUM_ARCHS, OP_NAMES, RESNET_ARCH, Arch, ArchError, all_archs, arch_from_index,
                    arch_index, arch_to_design, canonical_key, design_to_arch, format_arch, is_connected,
                    nb201_unique_str, parse_arch)
from .tabular import DATASETS, DEFAULT_DEVICE, DEVICES, NB201Table, NB201Tabular, default_epochs, load_table

__all__ = [
    "OP_NAMES",
    "EDGES",
    "EDGE_NAMES",
    "NUM_ARCHS",
    "RESNET_ARCH",
    "Arch",
    "ArchError",
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
    "DATASETS",
    "DEVICES",
    "DEFAULT_DEVICE",
    "NB201Table",
    "NB201Tabular",
    "default_epochs",
    "load_table",
    "DATASET_SHAPES",
    "Skeleton",
    "NetworkLayer",
    "network_layers",
    "count_params",
    "count_flops",
    "network_workload",
]

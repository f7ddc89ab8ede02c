"""IDD-based DRAM energy model from command counts, as DRAMPower (which DRAMSys runs) computes it.

Assumptions: every chip of a rank sees every command of its rank, so each per-chip energy below
is multiplied by ``devices_per_rank`` (``bus_width / device_width``). Currents are per chip in
mA, voltages in V, times in ns (cycles x ``tCK``), so ``mA x V x ns = pJ``; results are in nJ.
There is no power-down or self-refresh: a rank is in active standby (IDD3N) while any of its
banks is open or refreshing and in precharge standby (IDD2N) otherwise.

Per chip:

==================  =========================================================================
component           energy
==================  =========================================================================
background          ``VDD * (IDD3N * active_cycles + IDD2N * (window - active_cycles)) * tCK``
                    per rank, where ``active_cycles`` = cycles with >= 1 bank open or refreshing
                    (a refresh counts tRFC - tRP) and ``window`` the energy window (below)
ACT                 ``(VDD * (IDD0 - IDD3N) + VPP * IPP0) * tRAS * tCK`` per ACT
PRE                 ``(VDD * (IDD0 - IDD2N) + VPP * IPP0) * (tRC - tRAS) * tCK`` per precharge
                    of an open bank (PRE, auto-precharge, each bank a PREA closes); an ACT and
                    its PRE sum to the datasheet's ``IDD0 * tRC`` row cycle (the VPP pump
                    current over one row cycle; the VPP rail's standby current is not modelled
                    separately, so it is attributed here)
RD burst            ``VDD * (IDD4R - IDD3N) * burst_cycles * tCK`` per RD/RDA
WR burst            ``VDD * (IDD4W - IDD3N) * burst_cycles * tCK`` per WR/WRA
REF (all-bank)      ``VDD * (IDD5AB - IDD3N) * tRFC * tCK`` per REF
REF (per-bank)      the all-bank refresh energy / ``banks_per_rank`` per REFpb (it refreshes one
                    bank's share of the rows; DDR3/DDR4 datasheets give no IDD5PB)
==================  =========================================================================

Negative increments (a datasheet with IDD0 below the standby mix) are clamped to zero.

**The energy window** is DRAMPower's: it runs from cycle 0 to where the last command of the
channel completes (DRAMPower's ``timeToCompletion``: RD + RL + BL/2, WR + WL + BL/2 + tWR, ACT +
tRCD, PRE + tRP, an auto-precharge at its own time), not to the last response; banks left open
at the end are never precharged, so their PRE energy is not counted. Average power is the
energy over that window, as DRAMSys reports it. This is what makes archgym's energy and power
match DRAMSys 4.0 per design (``benchmarks/dram_vs_dramsys.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .device import DeviceSpec

__all__ = ["EnergyBreakdown", "energy"]


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one simulation in nJ, by component, and the average power."""

    background_nj: float
    activate_nj: float
    precharge_nj: float
    read_nj: float
    write_nj: float
    refresh_nj: float
    sim_time_ns: float

    @property
    def total_nj(self) -> float:
        return (self.background_nj + self.activate_nj + self.precharge_nj + self.read_nj
                + self.write_nj + self.refresh_nj)

    @property
    def average_power_mw(self) -> float:
        """Total energy over the energy window (nJ / ns = W, reported in mW); 0 if none."""
        if self.sim_time_ns <= 0:
            return 0.0
        return self.total_nj / self.sim_time_ns * 1e3


def _per_act_pj(d: DeviceSpec) -> float:
    return (max(d.VDD * (d.IDD0 - d.IDD3N), 0.0) + d.VPP * d.IPP0) * d.tRAS * d.tCK


def _per_pre_pj(d: DeviceSpec) -> float:
    return (max(d.VDD * (d.IDD0 - d.IDD2N), 0.0) + d.VPP * d.IPP0) * (d.tRC - d.tRAS) * d.tCK


def energy(device: DeviceSpec, *, sim_cycles: int | Sequence[int],
           active_cycles: Sequence[int], activates: int, reads: int, writes: int,
           refreshes_all_bank: int, refreshes_per_bank: int,
           precharges: int | None = None) -> EnergyBreakdown:
    """Energy of a simulation from its command counts (see the module docstring).

    ``sim_cycles``: the energy window in cycles, one for every rank or one entry per rank;
    ``active_cycles`` has one entry per rank (over all channels); ``reads``/``writes`` count
    column commands (RD+RDA, WR+WRA); ``precharges`` counts banks closed (``None``: one per
    ACT, every row closed again).
    """
    d = device
    chips = d.devices_per_rank
    tck = d.tCK
    ranks = len(active_cycles)
    windows = ([int(sim_cycles)] * ranks if isinstance(sim_cycles, (int, np.integer))
               else [int(w) for w in sim_cycles])
    if len(windows) != ranks:
        raise ValueError(f"sim_cycles has {len(windows)} entries for {ranks} ranks")
    active = float(sum(active_cycles))
    idle = float(sum(windows)) - active
    background = d.VDD * (d.IDD3N * active + d.IDD2N * max(idle, 0.0)) * tck
    act = activates * _per_act_pj(d)
    pre = (activates if precharges is None else precharges) * _per_pre_pj(d)
    burst_ns = d.burst_cycles * tck
    rd = reads * max(d.IDD4R - d.IDD3N, 0.0) * d.VDD * burst_ns
    wr = writes * max(d.IDD4W - d.IDD3N, 0.0) * d.VDD * burst_ns
    ref_ab = max(d.IDD5AB - d.IDD3N, 0.0) * d.VDD * d.tRFC * tck
    ref = refreshes_all_bank * ref_ab + refreshes_per_bank * ref_ab / d.banks_per_rank
    scale = chips / 1000.0  # pJ per chip -> nJ per rank
    return EnergyBreakdown(
        background_nj=background * scale,
        activate_nj=act * scale,
        precharge_nj=pre * scale,
        read_nj=rd * scale,
        write_nj=wr * scale,
        refresh_nj=ref * scale,
        sim_time_ns=max(windows, default=0) * tck,
    )

"""IDD-based DRAM energy model (Micron TN-41-01 / DRAMPower style) from command counts.

Assumptions: every chip of a rank sees every command of its rank, so each per-chip energy below
is multiplied by ``devices_per_rank`` (``bus_width / device_width``). Currents are per chip in
mA, voltages in V, times in ns (cycles x ``tCK``), so ``mA x V x ns = pJ``; results are in nJ.
There is no power-down or self-refresh: a rank is in active standby (IDD3N) while any of its
banks is open or refreshing and in precharge standby (IDD2N) otherwise.

Per chip:

==================  =========================================================================
component           energy
==================  =========================================================================
background          ``VDD * (IDD3N * active_cycles + IDD2N * (sim_cycles - active_cycles)) * tCK``
                    per rank, where ``active_cycles`` = cycles with >= 1 bank open or refreshing
ACT + PRE pair      ``VDD * (IDD0 * tRC - (IDD3N * tRAS + IDD2N * (tRC - tRAS))) * tCK
                    + VPP * IPP0 * tRC * tCK`` per ACT (the pump current over one row cycle;
                    the VPP rail's standby current is not modelled separately, so it is
                    attributed here)
RD burst            ``VDD * (IDD4R - IDD3N) * burst_cycles * tCK`` per RD/RDA
WR burst            ``VDD * (IDD4W - IDD3N) * burst_cycles * tCK`` per WR/WRA
REF (all-bank)      ``VDD * (IDD5AB - IDD3N) * tRFC * tCK`` per REF
REF (per-bank)      the all-bank refresh energy / ``banks_per_rank`` per REFpb (it refreshes one
                    bank's share of the rows; DDR3/DDR4 datasheets give no IDD5PB)
==================  =========================================================================

Negative increments (a datasheet with IDD0 below the standby mix) are clamped to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from .device import DeviceSpec

__all__ = ["EnergyBreakdown", "energy"]


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one simulation in nJ, by component, and the average power."""

    background_nj: float
    activate_nj: float
    read_nj: float
    write_nj: float
    refresh_nj: float
    sim_time_ns: float

    @property
    def total_nj(self) -> float:
        return (self.background_nj + self.activate_nj + self.read_nj + self.write_nj
                + self.refresh_nj)

    @property
    def average_power_mw(self) -> float:
        """Total energy over the simulated time (nJ / ns = W, reported in mW); 0 if no time."""
        if self.sim_time_ns <= 0:
            return 0.0
        return self.total_nj / self.sim_time_ns * 1e3


def _per_act_pj(d: DeviceSpec) -> float:
    vdd = d.VDD * (d.IDD0 * d.tRC - (d.IDD3N * d.tRAS + d.IDD2N * (d.tRC - d.tRAS))) * d.tCK
    vpp = d.VPP * d.IPP0 * d.tRC * d.tCK
    return max(vdd, 0.0) + vpp


def energy(device: DeviceSpec, *, sim_cycles: int, active_cycles: list[int] | tuple[int, ...],
           activates: int, reads: int, writes: int, refreshes_all_bank: int,
           refreshes_per_bank: int) -> EnergyBreakdown:
    """Energy of a simulation from its command counts (see the module docstring).

    ``active_cycles`` has one entry per rank (over all channels); ``reads``/``writes`` count
    column commands (RD+RDA, WR+WRA).
    """
    d = device
    chips = d.devices_per_rank
    tck = d.tCK
    ranks = len(active_cycles)
    active = float(sum(active_cycles))
    idle = float(ranks * sim_cycles) - active
    background = d.VDD * (d.IDD3N * active + d.IDD2N * max(idle, 0.0)) * tck
    act = activates * _per_act_pj(d)
    burst_ns = d.burst_cycles * tck
    rd = reads * max(d.IDD4R - d.IDD3N, 0.0) * d.VDD * burst_ns
    wr = writes * max(d.IDD4W - d.IDD3N, 0.0) * d.VDD * burst_ns
    ref_ab = max(d.IDD5AB - d.IDD3N, 0.0) * d.VDD * d.tRFC * tck
    ref = refreshes_all_bank * ref_ab + refreshes_per_bank * ref_ab / d.banks_per_rank
    scale = chips / 1000.0  # pJ per chip -> nJ per rank
    return EnergyBreakdown(
        background_nj=background * scale,
        activate_nj=act * scale,
        read_nj=rd * scale,
        write_nj=wr * scale,
        refresh_nj=ref * scale,
        sim_time_ns=sim_cycles * tck,
    )

"""The IDD energy model: each component against its formula, scaling and consistency."""

from __future__ import annotations

import pytest

from archgym.simulators.dram.device import load_device
from archgym.simulators.dram.power import energy

DDR4 = "DDR4_8Gb_x8_2400"


def zero(**changes):
    args = dict(sim_cycles=0, active_cycles=[0, 0], activates=0, reads=0, writes=0,
                refreshes_all_bank=0, refreshes_per_bank=0)
    args.update(changes)
    return args


def test_idle_background_is_idd2n():
    d = load_device(DDR4)
    e = energy(d, **zero(sim_cycles=1000))
    chips = d.bus_width // d.device_width
    expected = 2 * d.VDD * d.IDD2N * 1000 * d.tCK * chips / 1000  # nJ, two ranks
    assert e.background_nj == pytest.approx(expected)
    assert e.total_nj == pytest.approx(expected)
    assert e.average_power_mw == pytest.approx(2 * d.VDD * d.IDD2N * chips)  # mA x V = mW


def test_active_background_is_idd3n():
    d = load_device(DDR4)
    idle = energy(d, **zero(sim_cycles=1000))
    busy = energy(d, **zero(sim_cycles=1000, active_cycles=[1000, 0]))
    chips = d.devices_per_rank
    assert busy.background_nj - idle.background_nj == pytest.approx(
        d.VDD * (d.IDD3N - d.IDD2N) * 1000 * d.tCK * chips / 1000)


def test_activate_and_precharge_energy_split_as_drampower():
    d = load_device(DDR4)
    e = energy(d, **zero(activates=10))  # every row closed again: one PRE per ACT
    chips = d.devices_per_rank
    act_pj = (d.VDD * (d.IDD0 - d.IDD3N) + d.VPP * d.IPP0) * d.tRAS * d.tCK
    pre_pj = (d.VDD * (d.IDD0 - d.IDD2N) + d.VPP * d.IPP0) * (d.tRC - d.tRAS) * d.tCK
    assert e.activate_nj == pytest.approx(10 * act_pj * chips / 1000)
    assert e.precharge_nj == pytest.approx(10 * pre_pj * chips / 1000)
    # an ACT and its PRE together: the datasheet's row cycle, IDD0 over tRC less the standby mix
    pair_pj = (d.VDD * (d.IDD0 * d.tRC - (d.IDD3N * d.tRAS + d.IDD2N * (d.tRC - d.tRAS))) * d.tCK
               + d.VPP * d.IPP0 * d.tRC * d.tCK)
    assert e.activate_nj + e.precharge_nj == pytest.approx(10 * pair_pj * chips / 1000)
    assert e.activate_nj > 0 and e.precharge_nj > 0


def test_rows_left_open_cost_no_precharge_energy():
    d = load_device(DDR4)
    closed = energy(d, **zero(activates=10))
    open_rows = energy(d, **zero(activates=10, precharges=7))
    assert open_rows.activate_nj == closed.activate_nj
    assert open_rows.precharge_nj == pytest.approx(closed.precharge_nj * 7 / 10)


def test_energy_window_per_rank():
    d = load_device(DDR4)
    both = energy(d, **zero(sim_cycles=[1000, 400]))
    assert both.background_nj == pytest.approx(
        d.VDD * d.IDD2N * 1400 * d.tCK * d.devices_per_rank / 1000)
    assert both.sim_time_ns == pytest.approx(1000 * d.tCK)
    with pytest.raises(ValueError, match="3 entries for 2 ranks"):
        energy(d, **zero(sim_cycles=[1, 2, 3]))


def test_read_write_burst_energy():
    d = load_device(DDR4)
    e = energy(d, **zero(reads=3, writes=5))
    burst_ns = d.burst_cycles * d.tCK
    chips = d.devices_per_rank
    assert e.read_nj == pytest.approx(3 * (d.IDD4R - d.IDD3N) * d.VDD * burst_ns * chips / 1000)
    assert e.write_nj == pytest.approx(5 * (d.IDD4W - d.IDD3N) * d.VDD * burst_ns * chips / 1000)


def test_refresh_energy_all_bank_and_per_bank_scaled():
    d = load_device(DDR4)
    ab = energy(d, **zero(refreshes_all_bank=4)).refresh_nj
    assert ab == pytest.approx(4 * (d.IDD5AB - d.IDD3N) * d.VDD * d.tRFC * d.tCK
                               * d.devices_per_rank / 1000)
    pb = energy(d, **zero(refreshes_per_bank=4 * d.banks_per_rank)).refresh_nj
    assert pb == pytest.approx(ab)  # a full round of per-bank refreshes = one all-bank refresh


def test_ddr3_without_vpp():
    d = load_device("MICRON_1Gb_DDR3-1600_8bit_G")
    e = energy(d, sim_cycles=500, active_cycles=[200], activates=2, reads=2, writes=1,
               refreshes_all_bank=1, refreshes_per_bank=0)
    assert d.VPP == 0
    assert all(x >= 0 for x in (e.background_nj, e.activate_nj, e.precharge_nj, e.read_nj,
                               e.write_nj, e.refresh_nj))
    assert e.total_nj > 0 and e.average_power_mw > 0


def test_no_time_no_power():
    assert energy(load_device(DDR4), **zero()).average_power_mw == 0.0

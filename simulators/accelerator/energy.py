"""Per-access energy and per-component area of the accelerator template, 45 nm reference.

All energies are for 8-bit data at 45 nm and 0.9 V, anchored on Horowitz, "Computing's energy
problem (and what we can do about it)", ISSCC 2014 (the table every Eyeriss/Timeloop-style
model starts from), with its relative costs cross-checked against the normalised energies of
Eyeriss (Chen, Emer, Sze, ISCA 2016: RF 1x, NoC 2x, GLB 6x, DRAM 200x a MAC):

=========================  ==========================================  =============================================
item                       value                                       source / reasoning
=========================  ==========================================  =============================================
MAC (8x8 mult, 32-b acc)   0.3 pJ                                      Horowitz: 8-b mult 0.2 pJ + 32-b add 0.1 pJ
SRAM / RF read or write    1.25 pJ/B x sqrt(capacity / 8 KiB)          fit to Horowitz's 64-bit SRAM reads: 8 KB
                                                                       10 pJ, 32 KB 20 pJ, 1 MB 100 pJ (sqrt law:
                                                                       bit-line/word-line length ~ sqrt(size));
                                                                       a 512-B RF gives 0.31 pJ/B ~ 1x MAC (Eyeriss)
GLB access                 the SRAM law at one *bank's* capacity       banking shortens the arrays an access drives
NoC transfer               0.6 pJ/B x sqrt(PEs / 256)                  Eyeriss: 2x a MAC at its array size; wire
                                                                       length grows with the array's side
DRAM read or write         162.5 pJ/B                                  Horowitz: 1.3 nJ per 64-bit DDR3 access
                                                                       (lower end of 1.3-2.6 nJ)
=========================  ==========================================  =============================================

On-chip dynamic energy (everything but DRAM) scales with the supply voltage squared. The
clock sets the voltage by a first-order DVFS assumption (not from a source): 0.7 V at 200 MHz
rising linearly to 0.9 V (the reference) at 1 GHz, so the factor is ``(V / 0.9 V)^2`` (0.60 at
200 MHz, 1 at 1 GHz). Leakage is not modelled.

Areas (45 nm):

=========================  ==========================================  =============================================
item                       value                                       source / reasoning
=========================  ==========================================  =============================================
PE datapath                0.001 mm2 per PE                            Horowitz areas: 8-b mult 282 um2 + 32-b add
                                                                       137 um2, x2.4 for operand/psum registers,
                                                                       muxes and control
PE register file           40 um2 per byte                             flip-flop/latch array: 8 x ~4.5 um2 cells
                                                                       (NanGate 45 nm DFF) plus read mux
GLB SRAM                   0.005 mm2 per KiB                           45 nm 6T cell 0.346 um2 (8192 bits = 0.0028
                                                                       mm2) at ~57 % array efficiency
GLB bank                   0.02 mm2 per bank                           per-bank decoders, sense amps, port logic
NoC                        40 um2 per byte-lane per PE hop,            a pipelined multicast bus along every row
                           hops = rows + cols                          and column: one 8-bit register per hop
DRAM interface (PHY)       0.05 mm2 per byte/cycle of dram_bw          coarse: a 16-B/cycle interface is 0.8 mm2,
                                                                       the order of a 32-bit LPDDR PHY
=========================  ==========================================  =============================================

The functions take numpy arrays or scalars, so the analytical model can evaluate many designs
at once.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "TECHNOLOGY",
    "MAC_PJ",
    "DRAM_PJ_PER_BYTE",
    "sram_pj_per_byte",
    "noc_pj_per_byte",
    "voltage_scale",
    "supply_voltage",
    "area_breakdown_mm2",
]

TECHNOLOGY = "45 nm, 0.9 V (Horowitz ISSCC 2014)"

#: one 8-bit x 8-bit multiply with a 32-bit accumulate: 0.2 pJ + 0.1 pJ
MAC_PJ = 0.3
#: SRAM read/write energy per byte at the reference capacity (8 KiB): 10 pJ per 64 bits
SRAM_REF_PJ_PER_BYTE = 1.25
SRAM_REF_BYTES = 8 * 1024
#: NoC energy per byte delivered, at a 256-PE array (2x a MAC, after Eyeriss)
NOC_REF_PJ_PER_BYTE = 0.6
NOC_REF_PES = 256
#: off-chip DRAM energy per byte: 1.3 nJ per 64-bit access
DRAM_PJ_PER_BYTE = 1300.0 / 8

#: voltage/frequency points of the DVFS assumption
V_NOMINAL, F_NOMINAL_MHZ = 0.9, 1000.0
V_MIN, F_MIN_MHZ = 0.7, 200.0

# area constants, mm2 (45 nm)
PE_LOGIC_MM2 = 0.001
RF_MM2_PER_BYTE = 40e-6
GLB_MM2_PER_KIB = 0.005
GLB_BANK_MM2 = 0.02
NOC_MM2_PER_LANE_HOP = 40e-6
DRAM_PHY_MM2_PER_BYTE_PER_CYCLE = 0.05


def sram_pj_per_byte(capacity_bytes):
    """Energy per byte read or written in an SRAM/RF of ``capacity_bytes``: 1.25 pJ x sqrt(cap / 8 KiB)."""
    return SRAM_REF_PJ_PER_BYTE * np.sqrt(np.asarray(capacity_bytes, dtype=np.float64) / SRAM_REF_BYTES)


def noc_pj_per_byte(num_pes):
    """Energy per byte moved between the GLB and the PE array: 0.6 pJ x sqrt(PEs / 256)."""
    return NOC_REF_PJ_PER_BYTE * np.sqrt(np.asarray(num_pes, dtype=np.float64) / NOC_REF_PES)


def supply_voltage(clock_mhz):
    """The DVFS assumption: 0.7 V at 200 MHz, linear to 0.9 V at 1 GHz (0.7 V floor below 200 MHz)."""
    f = np.asarray(clock_mhz, dtype=np.float64)
    v = V_MIN + (V_NOMINAL - V_MIN) * (f - F_MIN_MHZ) / (F_NOMINAL_MHZ - F_MIN_MHZ)
    return np.maximum(v, V_MIN)


def voltage_scale(clock_mhz):
    """Factor on on-chip dynamic energy at ``clock_mhz``: ``(V / 0.9 V)^2``."""
    return (supply_voltage(clock_mhz) / V_NOMINAL) ** 2


def area_breakdown_mm2(pe_rows, pe_cols, rf_bytes, glb_kib, glb_banks, noc_bw, dram_bw) -> dict[str, np.ndarray]:
    """Area of each component in mm2 (see the module table); sum them for the chip."""
    pes = np.asarray(pe_rows, dtype=np.float64) * pe_cols
    return {
        "pe_logic": pes * PE_LOGIC_MM2,
        "rf": pes * np.asarray(rf_bytes, dtype=np.float64) * RF_MM2_PER_BYTE,
        "glb": np.asarray(glb_kib, dtype=np.float64) * GLB_MM2_PER_KIB + np.asarray(glb_banks) * GLB_BANK_MM2,
        "noc": np.asarray(noc_bw, dtype=np.float64) * (np.asarray(pe_rows) + pe_cols) * NOC_MM2_PER_LANE_HOP,
        "dram_phy": np.asarray(dram_bw, dtype=np.float64) * DRAM_PHY_MM2_PER_BYTE_PER_CYCLE,
    }

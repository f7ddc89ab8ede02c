"""The cycle-level DDR memory-controller model: an event-skipping core, numba-compiled or plain Python.

This module replaces the C++ DRAMSys controller ArchGym drives. It models the behaviour of
DRAMSys 4.0 (bank machines, schedulers, buffer counters, response queues, refresh managers,
arbiters, timing checkers) as read in its source; :mod:`.config` names the DRAMSys file and
function behind each knob. It is archgym's own code, not a translation.

Model and assumptions
=====================

**Clock.** Everything is counted in memory-controller clock cycles (the DRAM command clock,
``tCK``). The simulation starts at cycle 0; trace cycles are absolute. The engine jumps from one
event to the next (a command becoming legal, a request arriving, a response becoming due, a
refresh trigger), so idle cycles cost nothing.

**Front end (trace player and arbiter).** One initiator replays the trace in order and offers
request *i* at ``max(trace cycle, acceptance of request i-1 + 1)``: at most one request per cycle
and never out of order. If the memory system cannot take it, the initiator waits
(**back-pressure**) and every later request is delayed with it; the delay is reported as
``backpressure`` (mean of acceptance cycle minus trace cycle), not as latency.

* ``Arbiter=Simple``: the request goes straight to the controller, which accepts it when its
  buffer counter has space (see ``SchedulerBuffer``: DRAMSys' rule ignores the incoming
  request). No limit on requests in flight.
* ``Arbiter=Fifo``: the arbiter accepts the request at once if fewer than
  ``MaxActiveTransactions`` requests are in flight (accepted but not yet answered), queues it and
  forwards the queue to the controller in order, one per cycle, as buffer space allows.
* ``Arbiter=Reorder``: as Fifo, and responses reach the initiator in request order.

Order within a cycle follows DRAMSys' SystemC delta cycles: a request handed to the controller
with zero delay in cycle *t* (the trace player's request through the Simple arbiter, the Fifo
arbiter forwarding from an empty queue) is stored after the command the controller issues in
*t*, and competes in *t* only when no command was issued; a request the arbiter forwards one
cycle after the previous one's acceptance arrives before the command selection. A backpressured
request is stored right after the column command that frees space.

**Controller** (per channel). A request accepted by the controller is stored in its bank's
queue (buffers are *counted* per bank, per direction or shared, as DRAMSys' buffer counters do,
but requests always sit in per-bank lists). Each bank has a *bank machine* that picks its next
request (``Scheduler``), and derives the next command: ACT if the bank is precharged, PRE on a
row miss, else RD/WR or, by ``PagePolicy``, RDA/WRA. Once a bank machine has activated a row for
a request it keeps that request (it may only switch to another hit on the same row) until its
column command, so it never thrashes. Every cycle the command bus of the channel carries at
most one command: among the commands whose timing constraints are all met, a pending refresh
command first, otherwise the one of the oldest request (DRAMSys' "oldest" command multiplexer).
Column commands to the same address are never reordered (FR-FCFS picks the oldest row hit;
FrFcfsGrp skips a hit with an older same-address request before it), so a read after a write to
the same address is served after it, in order, from the DRAM.

**Timing** (per bank / bank group / rank / channel, in cycles): ACT->ACT same bank tRC, same
bank group tRRD_L, same rank tRRD_S, at most four ACTs per tFAW; ACT->RD/WR tRCD; ACT->PRE tRAS;
PRE->ACT tRP; RD->PRE tRTP; WR->PRE CWL+BL/2+tWR; RD->RD/WR->WR tCCD_L (same group) or tCCD_S;
RD->WR CL+BL/2+2-CWL; WR->RD CWL+BL/2+tWTR_L/S; across ranks the data bus needs tRTRS between
bursts of different ranks (RD->RD, WR->WR BL/2+tRTRS; RD->WR CL+BL/2+tRTRS-CWL; WR->RD
CWL+BL/2+tRTRS-CL). RDA/WRA precharge internally at ``max(CAS + tRTP or CWL+BL/2+tWR, ACT +
tRAS)``. REFab needs every bank of the rank precharged (tRP elapsed) and blocks ACT for tRFC;
REFpb needs its bank precharged, blocks it for tRFCpb and keeps tRRD_S to ACTs of the rank.
Read data occupies the bus during [RD+CL, RD+CL+BL/2), write data during [WR+CWL, WR+CWL+BL/2).

**Responses and latency.** A request's data is complete at its last data beat (CAS + CL or CWL +
BL/2). The controller returns one response per cycle per channel (``RespQueue=Fifo``: in
completion order; ``Reorder``: in the order the controller accepted the requests) and the
initiator takes one response per cycle (in request order with ``Arbiter=Reorder``). **Latency is
measured from the request's acceptance by the memory system (the controller with the Simple
arbiter, the arbiter otherwise) to the cycle its response reaches the initiator**; without
contention on the response path that is exactly the last data beat, so a read to an idle bank
takes tRCD+CL+BL/2 and a row hit CL+BL/2. Writes get a response too (DRAMSys answers writes
after their data burst). Latencies go into a fixed-size histogram (1-cycle bins up to 16,383
cycles, 64-cycle bins up to ~1.06 M cycles), so memory does not grow with the trace.

**Refresh** (per rank, triggers staggered across ranks). A flexibility counter ``f`` counts
postponed minus pulled-in refreshes, ``-RefreshMaxPulledin <= f <= RefreshMaxPostponed``. At a
trigger (every tREFI; tREFI/banks for per-bank refresh): if ``f`` reached RefreshMaxPostponed
the refresh is forced (the rank's / bank's machines stop issuing, open banks are precharged,
REF issued); else if the rank (bank) has pending requests the refresh is postponed (``f+1``,
next trigger); else it is issued (after a precharge-all if rows are open). After a refresh, while
the rank stays idle, further refreshes are pulled in (``f-1`` each) until ``f`` reaches
``-RefreshMaxPulledin``. The number of refreshes therefore equals the number of triggers minus
``f`` (within the slack). PerBank refresh refreshes the banks round-robin, each round visiting
every bank once and preferring idle banks.

**Energy** is computed afterwards from the counters (see :mod:`.power`). Per-rank background
time with at least one bank open (or refreshing) is tracked exactly as the union of bank open
intervals.

**Progress guarantee.** The oldest request of a bank is always eligible, refresh blocking is
released by the refresh itself, and the front end only waits for events that must happen, so
every knob combination drains. As a safety net the engine stops with an error status when no
response reaches the initiator for ``watchdog`` cycles while requests are in flight, or when
no further event exists while work is pending; :mod:`.simulator` turns both into
:class:`~archgym.simulator.SimulationError`.

Multi-rank timing applies the other-rank constraints (tRTRS) after every earlier column
command; DRAMSys' checkers look only at the channel's last RD/WR (identical for one rank).

**Kernels.** The event loop (:mod:`._kernel`) runs numba-compiled or, from the same source, as
plain Python (:mod:`._pykernel`): the latter spares a short run the ~0.6 s of importing and
initialising numba. See :class:`Engine` and :data:`AUTO_PYTHON_REQUESTS`.

Known simplifications: no power-down or self-refresh (a rank is always in active or precharge
standby), no additive latency, no write data masking, no ECC; every request is one burst (the
trace reader splits longer ones); DRAMSys' per-request pipeline delays (``thinkDelay``,
``phyDelay``, ``arbitrationDelay``) are zero; the trace player has no outstanding-request limit
of its own (DRAMSys' ``maxPendingReadRequests``).
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np

from archgym.simulator import SimulationError

from . import _pykernel
from ._pykernel import *  # noqa: F401,F403  (the state layout, command and knob codes; no numba)
from .traces import MAX_TRACE_CYCLE

if TYPE_CHECKING:
    from .config import ControllerConfig
    from .device import DeviceSpec
    from .mapping import AddressMapping
    from .traces import TraceChunk

# --------------------------------------------------------------------------------------------
# The two kernels: numba-compiled (:mod:`._kernel`) and plain Python (:mod:`._pykernel`)
# --------------------------------------------------------------------------------------------
#: accepted values of the ``kernel`` option
KERNELS = ("auto", "compiled", "python")

#: ``kernel="auto"`` simulates at most this many requests per process in plain Python, and
#: only while numba is not imported; everything after that (and any run known to be longer) uses
#: the compiled kernel. Importing numba, initialising its target and loading the kernel from its
#: disk cache costs about 0.62 s of CPU once per process; the Python kernel costs 0.09-0.38 ms
#: of CPU per request more than the compiled one (depending on the traffic), so they break even
#: at 1,650 (dense random traffic) to 6,800 requests (``benchmarks/kernel_breakeven.py``);
#: the budget sits just below the smallest. It is per process, not per run: an environment
#: that evaluates a short trace many times spends at most about the break-even time in Python
#: before it switches, so ``auto`` costs at most about twice the better choice in hindsight.
AUTO_PYTHON_REQUESTS = 1500

_budget_lock = threading.Lock()
_python_requests = 0  # requests this process simulated in Python under kernel="auto"


def check_kernel(kernel: str) -> str:
    """Validate a ``kernel`` option: ``"auto"``, ``"compiled"`` or ``"python"``."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel = {kernel!r}: expected one of {', '.join(KERNELS)}")
    return kernel


def _take_python_budget(requests: int) -> bool:
    """Whether ``kernel="auto"`` may simulate ``requests`` more requests in Python (and book
    them): numba is not imported yet and the process stays within :data:`AUTO_PYTHON_REQUESTS`."""
    global _python_requests
    if "numba" in sys.modules:
        return False
    with _budget_lock:
        if _python_requests + requests > AUTO_PYTHON_REQUESTS:
            return False
        _python_requests += requests
        return True


def resolve_kernel(kernel: str, requests: int | None = None) -> str:
    """The kernel a run gets up front: ``kernel`` itself unless ``"auto"``; for ``"auto"``,
    ``"compiled"`` when numba is imported or ``requests`` (the run's known size, ``None`` if
    unknown) exceeds the Python budget left, else ``"auto"`` (decided chunk by chunk).
    Books nothing."""
    check_kernel(kernel)
    if kernel != "auto":
        return kernel
    if "numba" in sys.modules or (
            requests is not None and _python_requests + requests > AUTO_PYTHON_REQUESTS):
        return "compiled"
    return "auto"


def kernel_function(kernel: str) -> Callable[..., Any]:
    """The ``run`` function of the ``"compiled"`` or ``"python"`` kernel (imports numba for the
    compiled one, on first use)."""
    if kernel == "python":
        return _pykernel.run
    if kernel == "compiled":
        from ._kernel import run

        return run
    raise ValueError(f"kernel = {kernel!r}: expected compiled or python")


# --------------------------------------------------------------------------------------------
# Python side: state allocation, chunk feeding, results
# --------------------------------------------------------------------------------------------
_PAGE = {"Open": PAGE_OPEN, "OpenAdaptive": PAGE_OPEN_ADAPTIVE, "Closed": PAGE_CLOSED,
         "ClosedAdaptive": PAGE_CLOSED_ADAPTIVE}
_SCHED = {"Fifo": SCHED_FIFO, "FrFcfs": SCHED_FRFCFS, "FrFcfsGrp": SCHED_FRFCFS_GRP}
_SBUF = {"Bankwise": BUF_BANKWISE, "ReadWrite": BUF_READWRITE, "Shared": BUF_SHARED}
_RESPQ = {"Fifo": RESP_FIFO, "Reorder": RESP_REORDER}
_REFPOL = {"NoRefresh": REF_NONE, "AllBank": REF_ALLBANK, "PerBank": REF_PERBANK}
_ARB = {"Simple": ARB_SIMPLE, "Fifo": ARB_FIFO, "Reorder": ARB_REORDER}

#: dtype of the command log returned with ``record_commands``; ``command`` indexes
#: :data:`COMMAND_NAMES`; ``bankgroup``/``bank`` are -1 for rank commands (REF, PREA), ``row``
#: is -1 where it does not apply and ``column`` (burst index) is -1 except for RD/WR/RDA/WRA.
COMMAND_DTYPE = np.dtype([("cycle", np.int64), ("command", np.int8), ("channel", np.int16),
                          ("rank", np.int16), ("bankgroup", np.int16), ("bank", np.int16),
                          ("row", np.int64), ("column", np.int64)])

#: default command-log capacity when ``record_commands=True``
DEFAULT_LOG_CAPACITY = 1 << 18
#: in-flight requests whose responses the controller can hold beyond its scheduler buffers
RESPONSE_BUFFER = 1024


def check_write_drain(write_drain: tuple[int, int]) -> tuple[int, int]:
    """Validate a ``(high, low)`` write-drain watermark pair: integers, 0 <= low < high."""
    try:
        high, low = (int(v) for v in write_drain)
        ok = all(float(v) == int(v) and not isinstance(v, bool) for v in write_drain)
    except (TypeError, ValueError):
        ok = False
    if not ok or not 0 <= low < high:
        raise ValueError(f"write_drain = {write_drain!r}: expected (high, low) buffered-write "
                         "watermarks, integers with 0 <= low < high, or None")
    return high, low


def first_refresh_trigger(interval: int, rank: int, ranks: int) -> int:
    """Cycle of a rank's first refresh trigger: DRAMSys' ``RefreshManagerIF::
    getTimeForFirstTrigger`` staggers the ranks of a channel over one interval in bit-reversed
    rank order (``interval - reverse(rank) * interval / ranks``, rounded up)."""
    bits = max(int(ranks).bit_length() - 1, 0)
    reverse = 0
    for i in range(bits):
        if (rank >> i) & 1:
            reverse |= 1 << (bits - 1 - i)
    return -((-(interval * ranks - reverse * interval)) // ranks)


def _make_hist_bin_edges() -> np.ndarray:
    fine = np.arange(HIST_FINE, dtype=np.int64)
    coarse = HIST_FINE + (np.arange(HIST_BINS - HIST_FINE, dtype=np.int64) << HIST_COARSE_SHIFT)
    edges = np.concatenate([fine, coarse])
    edges.flags.writeable = False
    return edges


#: built once: every evaluation reads a percentile, and rebuilding the edges was a tenth of the
#: Python-side cost of an evaluation in a population
_HIST_BIN_EDGES = _make_hist_bin_edges()


def hist_bin_edges() -> np.ndarray:
    """Lower edge (in cycles) of every latency-histogram bin (a read-only array)."""
    return _HIST_BIN_EDGES


def hist_percentile(hist: np.ndarray, q: float) -> float:
    """The ``q``-quantile (0 < q <= 1) of a latency histogram: the smallest latency L such that
    at least ``q`` of the samples are <= L (exact below 16,384 cycles, the bin's lower edge
    above). 0.0 for an empty histogram."""
    total = int(hist.sum())
    if total == 0:
        return 0.0
    need = int(np.ceil(q * total - 1e-9))
    idx = int(np.searchsorted(np.cumsum(hist), max(need, 1)))
    return float(hist_bin_edges()[idx])


def used_bins(max_latency: int) -> int:
    """How many histogram bins reach up to the bin of ``max_latency``: every later bin of a
    run whose largest latency is ``max_latency`` is empty."""
    return int(np.searchsorted(hist_bin_edges(), max_latency, side="right"))


class _ArrayPool:
    """Zeroed int64 arrays of finished engines, kept for the next engine of the same shape.

    A fresh ``np.zeros`` of the larger state arrays (histograms 512 KiB, slots and rings
    ~80-90 KB for large buffers) costs 50-100 microseconds of page faults each, about 5 % of a
    10,000-request simulation, and a population allocates them once per design. An engine
    hands them back, zeroed, when it finishes (:meth:`Engine.finish`). Thread-safe (list
    ``append``/``pop`` are atomic); at most ``per_shape`` arrays kept per shape.
    """

    def __init__(self, per_shape: int = 16) -> None:
        self.per_shape = per_shape
        self._free: dict[tuple[int, ...], list[np.ndarray]] = {}

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        """An all-zero int64 array of ``shape``: a kept one, else a new one."""
        free = self._free.get(shape)
        if free:
            try:
                return free.pop()
            except IndexError:  # another thread took the last one
                pass
        return np.zeros(shape, np.int64)

    def give(self, array: np.ndarray) -> None:
        """Keep ``array`` (all zero again: the caller's duty) for a later :meth:`take`."""
        free = self._free.setdefault(array.shape, [])
        if len(free) < self.per_shape:
            free.append(array)


_POOL = _ArrayPool()


class EngineResult:
    """Raw counters of a finished simulation (cycles unless stated)."""

    def __init__(self, S: np.ndarray, HIST: np.ndarray, active_cycles: np.ndarray,
                 commands: np.ndarray | None, dropped: int, window_cycles: np.ndarray,
                 open_banks: int) -> None:
        self.sim_cycles = int(S[S_END])
        self.reads = int(S[S_READS])
        self.writes = int(S[S_WRITES])
        self.read_latency_sum = int(S[S_RLAT_SUM])
        self.write_latency_sum = int(S[S_WLAT_SUM])
        self.read_latency_max = int(S[S_RLAT_MAX])
        self.write_latency_max = int(S[S_WLAT_MAX])
        self.backpressure_sum = int(S[S_BP_SUM])
        self.read_backpressure_sum = int(S[S_BP_RD_SUM])
        self.activates = int(S[S_ACTS])
        #: explicit PRE commands plus the auto-precharges of RDA/WRA (PREA counted apart)
        self.precharges = int(S[S_PRES])
        self.precharge_all = int(S[S_PREA])
        self.refreshes_all_bank = int(S[S_REFAB])
        self.refreshes_per_bank = int(S[S_REFPB])
        self.row_hits = int(S[S_ROWHITS])
        self.read_commands = int(S[S_RDCMD])
        self.write_commands = int(S[S_WRCMD])
        #: event steps the engine executed (simulation effort, for benchmarks)
        self.steps = int(S[S_STEPS])
        #: read / write latency counts per histogram bin (lower edges :func:`hist_bin_edges`),
        #: up to the bin of the largest latency (every later bin is empty): a copy of a few
        #: hundred bins, so the engine's 32,768-bin histogram goes back to the pool
        self.read_histogram = HIST[0, :used_bins(self.read_latency_max)].copy()
        self.write_histogram = HIST[1, :used_bins(self.write_latency_max)].copy()
        #: per (global) rank: cycles in [0, sim_cycles] with at least one bank open or refreshing
        self.active_cycles = active_cycles
        #: per (global) rank: cycles of DRAMPower's energy window, from 0 to where the last
        #: command of the rank's channel completes (see :meth:`Engine.finish`)
        self.window_cycles = window_cycles
        #: banks still open when the simulation ended (DRAMSys issues no final precharge)
        self.open_banks = open_banks
        #: the command log (:data:`COMMAND_DTYPE`) or ``None`` when not recorded
        self.commands = commands
        #: commands that did not fit into the log
        self.dropped_commands = dropped

    @property
    def requests(self) -> int:
        return self.reads + self.writes

    def read_latency_percentile(self, q: float) -> float:
        return hist_percentile(self.read_histogram, q)

    def write_latency_percentile(self, q: float) -> float:
        return hist_percentile(self.write_histogram, q)


def encode_config(config: "ControllerConfig") -> dict[str, int]:
    """Map a :class:`~.config.ControllerConfig` to the engine's integer codes."""
    return {
        "page": _PAGE[config.PagePolicy], "sched": _SCHED[config.Scheduler],
        "sbuf": _SBUF[config.SchedulerBuffer], "bufsz": int(config.RequestBufferSize),
        "respq": _RESPQ[config.RespQueue], "refpol": _REFPOL[config.RefreshPolicy],
        "maxpost": int(config.RefreshMaxPostponed), "maxpull": int(config.RefreshMaxPulledin),
        "arb": _ARB[config.Arbiter], "maxact": int(config.MaxActiveTransactions),
    }




def known_requests(chunks: Iterable["TraceChunk"], max_requests: int | None) -> int | None:
    """The number of requests a run over ``chunks`` simulates when known without consuming
    them (a list or tuple of chunks), else ``None``."""
    if not isinstance(chunks, (list, tuple)):
        return None
    total = sum(int(chunk.cycle.shape[0]) for chunk in chunks)
    return total if max_requests is None else min(total, max_requests)


def decode_chunk(device: "DeviceSpec", mapping: "AddressMapping", chunk: "TraceChunk",
                 last_cycle: int = -1) -> tuple[np.ndarray, ...]:
    """Check a chunk (cycles non-negative, non-decreasing after ``last_cycle``, at most
    :data:`MAX_TRACE_CYCLE`) and decode it into the engine's arrays: cycle, is_write, flat
    bank index, row, column (all ``int64``)."""
    cycle = np.ascontiguousarray(chunk.cycle, dtype=np.int64)
    is_write = np.ascontiguousarray(chunk.is_write, dtype=np.int64)
    if cycle.shape != is_write.shape or cycle.shape != np.shape(chunk.address):
        raise ValueError("trace chunk arrays must have the same length")
    if cycle.size:
        if cycle[0] < 0:
            raise ValueError(f"trace cycles must be non-negative, got {int(cycle[0])}")
        if cycle[0] < last_cycle or (cycle.size > 1 and np.any(np.diff(cycle) < 0)):
            raise ValueError("trace cycles must be non-decreasing (within and across chunks)")
        if cycle[-1] > MAX_TRACE_CYCLE:
            raise ValueError(f"trace cycle {int(cycle[-1])} is beyond the supported maximum "
                             f"{MAX_TRACE_CYCLE} (2**36)")
    ch, rank, bg, bank, row, col = mapping.decode(chunk.address)
    d = device
    flat = ((ch * d.ranks + rank) * d.bankgroups + bg) * d.banks_per_group + bank
    return (cycle, is_write, np.ascontiguousarray(flat, dtype=np.int64),
            np.ascontiguousarray(row, dtype=np.int64), np.ascontiguousarray(col, dtype=np.int64))


class Engine:
    """One simulation: feed trace chunks in order with :meth:`feed`, then call :meth:`finish`.

    State persists across chunks and memory is bounded by the controller's buffers, not by
    the trace. ``record_commands`` = ``True`` keeps the first :data:`DEFAULT_LOG_CAPACITY`
    commands (an ``int`` sets the capacity); the log is for tests and debugging.

    ``kernel``: ``"compiled"`` (numba), ``"python"`` (the same code as plain Python, no numba
    import; for short runs) or ``"auto"``: each chunk runs in Python while
    :func:`_take_python_budget` allows it, else compiled (and compiled from then on). Both
    kernels work on the same state arrays, so switching between chunks is exact, and they give
    identical results.
    """

    def __init__(self, device: "DeviceSpec", config: "ControllerConfig",
                 mapping: "AddressMapping", *, record_commands: bool | int = False,
                 write_drain: tuple[int, int] | None = None, kernel: str = "auto") -> None:
        self.kernel = check_kernel(kernel)
        #: the kernel of the last chunk ("python" or "compiled"; None before the first)
        self.kernel_used: str | None = None
        self.device = device
        self.config = config
        self.mapping = mapping
        d = device
        k = encode_config(config)
        nch, nr, bpr, bpg = d.channels, d.ranks, d.banks_per_rank, d.banks_per_group
        if bpr > 62:
            raise ValueError(f"device {d.name!r}: at most 62 banks per rank are supported")
        if k["sbuf"] == BUF_BANKWISE:
            qcap, cap = k["bufsz"], k["bufsz"] * nr * bpr
        elif k["sbuf"] == BUF_READWRITE:
            qcap, cap = 2 * k["bufsz"], 2 * k["bufsz"]
        else:
            qcap, cap = k["bufsz"], k["bufsz"]
        self._queue_capacity = qcap  # per bank queue, for :meth:`_allocate_state`
        pool = nch * cap + RESPONSE_BUFFER + (k["maxact"] if k["arb"] != ARB_SIMPLE else 0)
        if record_commands is True:
            logcap = DEFAULT_LOG_CAPACITY
        elif record_commands is False or record_commands is None:
            logcap = 0
        else:
            logcap = int(record_commands)
        self._logcap = logcap
        P = np.zeros(N_P, np.int64)
        P[P_CL], P[P_CWL], P[P_RCD], P[P_RP], P[P_RAS] = d.CL, d.CWL, d.tRCD, d.tRP, d.tRAS
        P[P_RC], P[P_RFC], P[P_REFI] = d.tRC, d.tRFC, d.tREFI
        P[P_RRDS], P[P_RRDL], P[P_WTRS], P[P_WTRL] = d.tRRD_S, d.tRRD_L, d.tWTR_S, d.tWTR_L
        P[P_FAW], P[P_WR], P[P_RTP], P[P_CCDS], P[P_CCDL] = d.tFAW, d.tWR, d.tRTP, d.tCCD_S, d.tCCD_L
        P[P_RTRS], P[P_RFCPB], P[P_BURST] = d.tRTRS, d.tRFCpb, d.burst_cycles
        P[P_NCH], P[P_NRANK], P[P_BPR], P[P_BPG] = nch, nr, bpr, bpg
        P[P_PAGE], P[P_SCHED], P[P_SBUF], P[P_BUFSZ] = k["page"], k["sched"], k["sbuf"], k["bufsz"]
        P[P_RESPQ], P[P_REFPOL], P[P_MAXPOST], P[P_MAXPULL] = (k["respq"], k["refpol"],
                                                              k["maxpost"], k["maxpull"])
        P[P_ARB], P[P_MAXACT], P[P_POOL], P[P_LOGCAP] = k["arb"], k["maxact"], pool, logcap
        if k["refpol"] == REF_PERBANK:  # counted in per-bank refreshes (RefreshManagerPerBank)
            P[P_MAXPOST], P[P_MAXPULL] = k["maxpost"] * bpr, k["maxpull"] * bpr
        P[P_REFI_PB] = max(1, d.tREFI // bpr)
        P[P_RTW] = d.CL + d.burst_cycles + 2 - d.CWL
        if write_drain is not None:
            P[P_WD_HI], P[P_WD_LO] = check_write_drain(write_drain)
        per_request = d.tRC + d.CL + d.CWL + d.burst_cycles + d.tWR + d.tRTRS + d.tCCD_L
        P[P_WATCHDOG] = (8 * (pool + 16) * per_request
                         + 4 * (k["maxpost"] + k["maxpull"] + 2) * (d.tREFI + d.tRFC))
        self.watchdog_cycles = int(P[P_WATCHDOG])
        self.P = P
        self._finished = False

    #: the simulation state arrays, allocated on first use (:meth:`_allocate_state`)
    STATE_ARRAYS = ("S", "SL", "FREE", "BK", "BQ", "GR", "RK", "CH", "RING", "RH", "RT", "HIST",
                    "LOG")

    def __getattr__(self, name: str) -> Any:
        # only reached for attributes not set yet: the state arrays before their allocation
        if name in Engine.STATE_ARRAYS and "P" in self.__dict__:
            if "_result" in self.__dict__:
                raise AttributeError(f"Engine.{name}: the state of a finished engine is released")
            self._allocate_state()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _allocate_state(self) -> None:
        """Allocate and initialise the state arrays (a function of ``P`` alone). Deferred to
        first use so that a population's engines are built cheaply in one thread (their ``P``
        decides which are merged) and allocate their ~0.6 MB of state in the worker thread
        that runs them, alongside the other threads' compiled runs."""
        P, d = self.P, self.device
        nch, nr, bpr, bpg = (int(P[P_NCH]), int(P[P_NRANK]), int(P[P_BPR]), int(P[P_BPG]))
        nb = nch * nr * bpr
        pool, logcap, qcap = int(P[P_POOL]), int(P[P_LOGCAP]), self._queue_capacity
        S = np.zeros(N_S, np.int64)
        S[S_NFREE] = pool
        S[S_LAST_INIT_ACC] = -1
        S[S_LAST_INIT_RESP] = -1
        S[S_INITQ] = nch * N_RQ
        S[S_FIRST] = -1
        S[S_LAST_TRACE_CYC] = -1
        self.S = S
        self.SL = _POOL.take((N_SL, pool))
        self.FREE = np.arange(pool - 1, -1, -1, dtype=np.int64)
        BK = np.zeros((N_BK, nb), np.int64)
        BK[BK_CUR] = -1
        BK[BK_CMD] = CMD_NONE
        banks = np.arange(nb, dtype=np.int64)
        BK[BK_RANK] = banks // bpr
        BK[BK_GROUP] = banks // bpg
        BK[BK_CHAN] = banks // (nr * bpr)
        BK[BK_BPOS] = -1
        self.BK = BK
        self.BQ = np.zeros((nb, qcap), np.int64)
        self.GR = np.zeros((N_GR, nch * nr * d.bankgroups), np.int64)
        nrk = nch * nr
        RK = np.zeros((N_RK, nrk), np.int64)
        RK[RK_FAW0:RK_FAW0 + 4] = NEG
        RK[RK_RCMD] = CMD_NONE
        RK[RK_SEGS] = -1
        RK[RK_REMAIN] = (1 << bpr) - 1
        interval = d.tREFI if P[P_REFPOL] != REF_PERBANK else int(P[P_REFI_PB])
        for r in range(nrk):
            RK[RK_REFT, r] = first_refresh_trigger(interval, r % nr, nr)
        self.RK = RK
        CH = np.zeros((N_CH, nch), np.int64)
        CH[CH_LASTCMD] = -1
        CH[CH_LASTACC] = -1
        CH[CH_LASTCRESP] = -1
        CH[CH_LASTBANK] = np.arange(nch, dtype=np.int64) * (nr * bpr)  # DRAMSys starts at bank 0
        CH[CH_EWT] = -1
        self.CH = CH
        nring = nch * N_RQ + 1
        # a power-of-two capacity: ring positions are masked, not divided
        self.RING = _POOL.take((nring, 1 << max(int(pool - 1).bit_length(), 0)))
        self.RH = np.zeros(nring, np.int64)
        self.RT = np.zeros(nring, np.int64)
        self.HIST = _POOL.take((2, HIST_BINS))
        self.LOG = np.zeros((logcap, LOG_FIELDS), np.int64)

    # -- feeding ---------------------------------------------------------------------------
    def _decode(self, chunk: "TraceChunk") -> tuple[np.ndarray, ...]:
        arrays = decode_chunk(self.device, self.mapping, chunk, int(self.S[S_LAST_TRACE_CYC]))
        if arrays[0].size:
            self.S[S_LAST_TRACE_CYC] = arrays[0][-1]
        return arrays

    def feed_decoded(self, arrays: tuple[np.ndarray, ...]) -> None:
        """:meth:`feed` for arrays from :func:`decode_chunk` (decoded once, shared by many
        engines of one batch; the caller keeps chunks in order)."""
        if self._finished:
            raise RuntimeError("Engine.feed_decoded() after finish()")
        if arrays[0].size:
            self.S[S_LAST_TRACE_CYC] = arrays[0][-1]
            self._run(arrays, final=False)

    def _choose(self, requests: int) -> str:
        """The kernel for the next chunk of ``requests`` requests (``0``: the final drain)."""
        if self.kernel != "auto":
            return self.kernel
        if self.kernel_used == "compiled":
            return "compiled"
        if requests == 0 and self.kernel_used == "python":
            return "python"  # the drain: bounded by the requests in flight, booked already
        return "python" if _take_python_budget(max(requests, 1)) else "compiled"

    def _run(self, arrays: tuple[np.ndarray, ...], final: bool) -> None:
        self.kernel_used = self._choose(int(arrays[0].size))
        run = kernel_function(self.kernel_used)
        status = run(self.P, self.S, self.SL, self.FREE, self.BK, self.BQ, self.GR, self.RK,
                     self.CH, self.RING, self.RH, self.RT, self.HIST, self.LOG, *arrays,
                     1 if final else 0)
        if status == ST_DEADLOCK:
            raise SimulationError(
                f"DRAM controller stalled at cycle {int(self.S[S_NOW])}: requests are in flight "
                f"but no command, response or arrival can ever happen ({self._describe()})"
            )
        if status == ST_WATCHDOG:
            raise SimulationError(
                f"DRAM controller made no progress for {self.watchdog_cycles} cycles (watchdog) at "
                f"cycle {int(self.S[S_NOW])} with {int(self.S[S_ACTIVE])} requests in flight "
                f"({self._describe()})"
            )

    def _describe(self) -> str:
        return f"device {self.device.name}, config {self.config.to_design()}"

    def feed(self, chunk: "TraceChunk") -> None:
        """Simulate until every request of ``chunk`` (a TraceChunk) has been accepted."""
        if self._finished:
            raise RuntimeError("Engine.feed() after finish()")
        if chunk.cycle.shape[0] == 0:
            return
        self._run(self._decode(chunk), final=False)

    def finish(self) -> EngineResult:
        """Drain every request still in flight and return the counters (the same result on
        every call). The large state arrays go back to a pool for the next engine."""
        if "_result" in self.__dict__:
            return self._result
        if not self._finished:
            empty_i = np.zeros(0, np.int64)
            self._run((empty_i, empty_i, empty_i, empty_i, empty_i), final=True)
            self._finished = True
        # DRAMPower's energy window (what DRAMSys reports energy and power over): per channel,
        # from cycle 0 to the completion of its last command (CH_EWEND); an idle channel has none
        CH, RK = self.CH, self.RK
        channel_end = np.where(CH[CH_EWT] >= 0, CH[CH_EWEND], 0)
        window = np.repeat(channel_end, int(self.P[P_NRANK])).astype(np.int64)
        active = RK[RK_ACTCYC].copy()
        for r in range(RK.shape[1]):
            end = int(window[r])
            start = int(RK[RK_SEGS, r])
            if start >= 0 and start < end:
                stop = end if RK[RK_NOPEN, r] > 0 else min(int(RK[RK_SEGE, r]), end)
                active[r] += max(0, stop - start)
            active[r] = min(int(active[r]), end)
        commands = None
        if self._logcap:
            n = int(self.S[S_LOGN])
            raw = self.LOG[:n]
            commands = np.zeros(n, COMMAND_DTYPE)
            for i, name in enumerate(COMMAND_DTYPE.names):
                commands[name] = raw[:, i]
        result = EngineResult(self.S, self.HIST, active, commands, int(self.S[S_LOGDROP]),
                              window, int(np.count_nonzero(self.BK[BK_OPEN])))
        self._release_state()
        self._result = result
        return result

    def _release_state(self) -> None:
        """Zero the large arrays a finished engine no longer reads and give them to the pool
        (the histograms only up to their largest latency's bin: nothing later was written)."""
        S, HIST = self.S, self.HIST
        HIST[0, :used_bins(int(S[S_RLAT_MAX]))] = 0
        HIST[1, :used_bins(int(S[S_WLAT_MAX]))] = 0
        self.SL.fill(0)
        self.RING.fill(0)
        for name in ("SL", "RING", "HIST"):
            _POOL.give(self.__dict__.pop(name))


def simulate_chunks(device: "DeviceSpec", config: "ControllerConfig", mapping: "AddressMapping",
                    chunks: Iterable["TraceChunk"], *, record_commands: bool | int = False,
                    max_requests: int | None = None,
                    write_drain: tuple[int, int] | None = None,
                    kernel: str = "auto") -> EngineResult:
    """Run one simulation over an iterable of trace chunks (at most ``max_requests``) with the
    given ``kernel`` (see :class:`Engine`; ``"auto"`` goes compiled at once when ``chunks``
    is a list or tuple known to be longer than the Python budget)."""
    kernel = resolve_kernel(kernel, known_requests(chunks, max_requests))
    engine = Engine(device, config, mapping, record_commands=record_commands,
                    write_drain=write_drain, kernel=kernel)
    left = max_requests
    for chunk in chunks:
        if left is not None:
            if left <= 0:
                break
            if chunk.cycle.shape[0] > left:
                chunk = type(chunk)(*(a[:left] for a in chunk))
            left -= chunk.cycle.shape[0]
        engine.feed(chunk)
    return engine.finish()


def simulate_decoded(device: "DeviceSpec", config: "ControllerConfig", mapping: "AddressMapping",
                     decoded: list[tuple[np.ndarray, ...]], *, record_commands: bool | int = False,
                     write_drain: tuple[int, int] | None = None,
                     kernel: str = "auto") -> EngineResult:
    """:func:`simulate_chunks` for a trace already checked and decoded (arrays from
    :func:`decode_chunk`, in order, limited to the requests to simulate): what
    :class:`~.simulator.DRAMSimulator` keeps for a workload it evaluates again and again."""
    kernel = resolve_kernel(kernel, sum(int(arrays[0].size) for arrays in decoded))
    engine = Engine(device, config, mapping, record_commands=record_commands,
                    write_drain=write_drain, kernel=kernel)
    for arrays in decoded:
        engine.feed_decoded(arrays)
    return engine.finish()

"""The compiled core of the DRAM controller model (see :mod:`.engine` for the model).

Everything numba compiles lives in this one file on purpose: numba's on-disk cache
(``cache=True``) checks only the timestamp of the file that defines a cached function, so a
cached :func:`run` would silently keep a stale copy of a helper or a constant edited in
another file. The same code also runs as plain Python (:mod:`._pykernel` executes this file
with ``njit`` the identity, without importing numba): one source, two kernels, identical
results (``tests/simulators/dram/test_pykernel.py``). Sections: state layout (index constants), rings and the busy-bank list,
controller buffers and the front end, responses, bank machines (scheduler, timing readiness),
refresh managers, command issue, and the event loop :func:`run`.

Compiled with ``_nrt=False``: the core allocates nothing, and without numba's reference
counting a helper call no longer pays an atomic increment and decrement per array argument
(which was about half of a run's time). The helpers called every cycle are inlined into
:func:`run` at numba IR level (``inline="always"``): a numba call passes every array as ~8
machine words and LLVM then cannot keep state in registers; inlining halved the time per
event again (2-3x on ArchGym's traces, measured interleaved) at the price of a longer one-time
compile (cached on disk). Cold paths (command log, write drain, refresh issue) stay calls.
"""

from __future__ import annotations

import numpy as np

if "njit" not in globals():  # :mod:`._pykernel` runs this file's code with an identity ``njit``
    from numba import njit

# --------------------------------------------------------------------------------------------
# Command codes (also the ``command`` column of the command log)
# --------------------------------------------------------------------------------------------
CMD_NONE = -1
ACT = 0
PRE = 1
RD = 2
WR = 3
RDA = 4
WRA = 5
REFAB = 6
REFPB = 7
PREA = 8
COMMAND_NAMES = ("ACT", "PRE", "RD", "WR", "RDA", "WRA", "REF", "REFpb", "PREA")

# knob encodings
PAGE_OPEN = 0
PAGE_OPEN_ADAPTIVE = 1
PAGE_CLOSED = 2
PAGE_CLOSED_ADAPTIVE = 3
SCHED_FIFO = 0
SCHED_FRFCFS = 1
SCHED_FRFCFS_GRP = 2
BUF_BANKWISE = 0
BUF_READWRITE = 1
BUF_SHARED = 2
RESP_FIFO = 0
RESP_REORDER = 1
REF_NONE = 0
REF_ALLBANK = 1
REF_PERBANK = 2
ARB_SIMPLE = 0
ARB_FIFO = 1
ARB_REORDER = 2

# what a channel issued in a cycle (decides which cached ready times must be recomputed)
ISS_NONE = 0
ISS_LOCAL = 1  # PRE / PREA / REF / refresh PRE: only banks marked dirty change
ISS_ACT = 2  # ACT / REFpb: ACT readiness of the rank's banks
ISS_CAS = 3  # RD / WR / RDA / WRA: column-command readiness of the channel's banks

# engine return codes
ST_NEED_MORE = 0
ST_DONE = 1
ST_DEADLOCK = 2
ST_WATCHDOG = 3

INF = 1 << 62
NEG = -(1 << 40)

# --------------------------------------------------------------------------------------------
# Parameter vector P (read-only)
# --------------------------------------------------------------------------------------------
P_CL = 0
P_CWL = 1
P_RCD = 2
P_RP = 3
P_RAS = 4
P_RC = 5
P_RFC = 6
P_REFI = 7
P_RRDS = 8
P_RRDL = 9
P_WTRS = 10
P_WTRL = 11
P_FAW = 12
P_WR = 13
P_RTP = 14
P_CCDS = 15
P_CCDL = 16
P_RTRS = 17
P_RFCPB = 18
P_BURST = 19
P_NCH = 20
P_NRANK = 21  # ranks per channel
P_BPR = 22  # banks per rank
P_BPG = 23  # banks per bank group
P_PAGE = 24
P_SCHED = 25
P_SBUF = 26
P_BUFSZ = 27
P_RESPQ = 28
P_REFPOL = 29
P_MAXPOST = 30
P_MAXPULL = 31
P_ARB = 32
P_MAXACT = 33
P_POOL = 34
P_LOGCAP = 35
P_WATCHDOG = 36
P_REFI_PB = 37
P_RTW = 38  # RD -> WR same rank
P_WD_HI = 39  # write drain (not a DRAMSys knob; 0 = off): enter at this many buffered writes
P_WD_LO = 40  # ... and leave at this many
N_P = 41

# --------------------------------------------------------------------------------------------
# Scalar state S
# --------------------------------------------------------------------------------------------
S_NOW = 0
S_NEXT_ID = 1  # controller acceptance order
S_HELD = 2  # the initiator holds a request it could not hand over yet
S_H_CYC = 3
S_H_WRITE = 4
S_H_BANK = 5
S_H_ROW = 6
S_H_COL = 7
S_H_OFFER = 8
S_LAST_INIT_ACC = 9
S_ACTIVE = 10  # accepted by the memory system, response not yet at the initiator
S_NFREE = 11
S_LAST_INIT_RESP = 12
S_LAST_PROGRESS = 13
S_END = 14  # cycle of the last response
S_READS = 15
S_WRITES = 16
S_RLAT_SUM = 17
S_WLAT_SUM = 18
S_RLAT_MAX = 19
S_WLAT_MAX = 20
S_BP_SUM = 21
S_ACTS = 22
S_PRES = 23
S_REFAB = 24
S_REFPB = 25
S_ROWHITS = 26
S_RDCMD = 27
S_WRCMD = 28
S_LOGN = 29
S_LOGDROP = 30
S_ACCEPTED = 31
S_INITQ = 32  # ring id of the initiator response queue
S_FIRST = 33
S_LAST_TRACE_CYC = 34
S_PREA = 35
S_STEPS = 36  # event steps executed (for benchmarks)
S_BP_RD_SUM = 37  # back-pressure wait of reads only
S_NBUSY = 38  # banks with buffered requests (length of the BK_BUSY list)
N_S = 39

# slot (in-flight request) fields
SL_ID = 0
SL_ACC = 1
SL_BANK = 2
SL_ROW = 3
SL_COL = 4
SL_WRITE = 5
SL_DONE = 6
SL_CRESP = 7
SL_TCYC = 8
SL_AVAIL = 9  # arbiter queue head: first cycle its BEGIN_REQ can reach the controller
SL_LATE = 10  # 1: in that cycle only after the controller chose its command (a later delta)
N_SL = 11

# bank fields
BK_OPEN = 0
BK_ROW = 1
BK_CUR = 2
BK_KEEP = 3
BK_BLOCK = 4
BK_NACT = 5
BK_NPRE = 6
BK_NRD = 7
BK_NWR = 8
BK_CMD = 9
BK_CSLOT = 10
BK_ACTT = 11
BK_DIRTY = 12
BK_QLEN = 13
BK_CASN = 14
BK_READY = 15
BK_NRDA = 16  # earliest RDA: its auto-precharge must respect the write recovery of a WR
BK_RANK = 17  # constant: the bank's global rank (precomputed: no divisions in the loop)
BK_GROUP = 18  # constant: the bank's global bank group
BK_CHAN = 19  # constant: the bank's channel
BK_BUSY = 20  # list (positions 0..S_NBUSY-1): the banks with buffered requests, any order;
#               only they can have a command, so the per-cycle scans visit only them
BK_BPOS = 21  # the bank's position in that list (-1: not in it)
N_BK = 22

# bank-group fields
GR_NACT = 0
GR_NRD = 1
GR_NWR = 2
N_GR = 3

# rank fields (ranks are global: channel * ranks_per_channel + rank)
RK_NACT = 0
RK_NRD = 1
RK_NWR = 2
RK_FAW0 = 3  # ..RK_FAW0+3: times of the last four ACTs
RK_FAWI = 7
RK_REFT = 8  # next refresh trigger
RK_FLEX = 9
RK_STATE = 10  # 0 regular, 1 pulled-in
RK_RCMD = 11
RK_RBANK = 12
RK_SKIP = 13
RK_REMAIN = 14  # per-bank refresh: bit mask of banks still to refresh in this round
RK_NOPEN = 15
RK_SEGS = 16  # start of the current "some bank open" interval (-1: none)
RK_SEGE = 17  # latest effective close time seen in the interval
RK_ACTCYC = 18
RK_PEND = 19  # requests in the scheduler buffers for this rank
RK_BLOCKED = 20
RK_NPREA = 21  # earliest PREA: the rank's last ACT + tRAS, RD(A) + tRTP, WR(A) + tWR recovery
N_RK = 22

# channel fields
CH_QTOTAL = 0
CH_QREAD = 1
CH_QWRITE = 2
CH_LASTCMD = 3
CH_LASTACC = 4
CH_LASTCRESP = 5
CH_LASTDIR = 6
CH_LASTBANK = 7  # bank of the request stored last (DRAMSys' BufferCounterBankwise::lastBankID)
CH_DRAIN = 8  # 1 while the channel drains its writes (write_drain option)
CH_ISSKIND = 9  # scratch: what the channel issued in the current cycle (ISS_*)
CH_ISSRANK = 10  # scratch: the rank it issued to
# DRAMPower's energy window (see _energy_window): the channel's last command in time order
CH_EWT = 11  # its cycle (-1: none yet)
CH_EWEND = 12  # the cycle its operation completes, DRAMPower's end of the window
CH_EWPRE = 13  # 1 if it is a precharge (PRE or an auto-precharge)
N_CH = 14

# rings per channel
RQ_ARB = 0
RQ_RD = 1
RQ_WR = 2
RQ_ACC = 3
N_RQ = 4

# histogram layout
HIST_FINE = 16384
HIST_COARSE_SHIFT = 6
HIST_BINS = 2 * HIST_FINE

LOG_FIELDS = 8  # cycle, command, channel, rank, bankgroup, bank, row, column


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _push(RING, RH, RT, k, v):
    RING[k, RT[k] & (RING.shape[1] - 1)] = v
    RT[k] += 1


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _pop(RING, RH, RT, k):
    v = RING[k, RH[k] & (RING.shape[1] - 1)]
    RH[k] += 1
    return v


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _head(RING, RH, k):
    return RING[k, RH[k] & (RING.shape[1] - 1)]


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _hist_bin(lat):
    if lat < HIST_FINE:
        return lat
    b = HIST_FINE + ((lat - HIST_FINE) >> HIST_COARSE_SHIFT)
    if b >= HIST_BINS:
        b = HIST_BINS - 1
    return b


@njit(cache=True, error_model="numpy", _nrt=False)
def _log(P, S, LOG, t, cmd, rank, bank, row, col):
    n = S[S_LOGN]
    if n < LOG.shape[0]:
        nr = P[P_NRANK]
        bpr = P[P_BPR]
        LOG[n, 0] = t
        LOG[n, 1] = cmd
        LOG[n, 2] = rank // nr
        LOG[n, 3] = rank % nr
        if bank >= 0:
            lb = bank % bpr
            LOG[n, 4] = lb // P[P_BPG]
            LOG[n, 5] = lb % P[P_BPG]
        else:
            LOG[n, 4] = -1
            LOG[n, 5] = -1
        LOG[n, 6] = row
        LOG[n, 7] = col
        S[S_LOGN] = n + 1
    elif LOG.shape[0] > 0:
        S[S_LOGDROP] += 1


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _rank_open(RK, r, t):
    if RK[RK_NOPEN, r] == 0:
        if RK[RK_SEGS, r] >= 0 and t <= RK[RK_SEGE, r]:
            pass
        else:
            if RK[RK_SEGS, r] >= 0:
                RK[RK_ACTCYC, r] += RK[RK_SEGE, r] - RK[RK_SEGS, r]
            RK[RK_SEGS, r] = t
            RK[RK_SEGE, r] = t
    RK[RK_NOPEN, r] += 1


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _rank_close(RK, r, te):
    RK[RK_NOPEN, r] -= 1
    if te > RK[RK_SEGE, r]:
        RK[RK_SEGE, r] = te


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _energy_window(CH, ch, t, end, is_pre):
    """Track DRAMPower's energy window of channel ``ch``: DRAMPower ends it where the last
    command of the channel (in time order; an auto-precharge is a PRE at its own time, and a
    PRE sorts before any other command of its cycle) completes, ``end`` (its
    ``timeToCompletion`` - 1 cycles after the command)."""
    last = CH[CH_EWT, ch]
    if t > last or (t == last and (is_pre == 0 or CH[CH_EWPRE, ch] == 1)):
        CH[CH_EWT, ch] = t
        CH[CH_EWEND, ch] = end
        CH[CH_EWPRE, ch] = is_pre


# --------------------------------------------------------------------------------------------
# controller buffers
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _busy_add(S, BK, b):
    n = S[S_NBUSY]
    BK[BK_BUSY, n] = b
    BK[BK_BPOS, b] = n
    S[S_NBUSY] = n + 1


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _busy_remove(S, BK, b):
    n = S[S_NBUSY] - 1
    i = BK[BK_BPOS, b]
    last = BK[BK_BUSY, n]
    BK[BK_BUSY, i] = last
    BK[BK_BPOS, last] = i
    BK[BK_BPOS, b] = -1
    S[S_NBUSY] = n


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _ctrl_has_space(P, BK, CH, ch):
    """DRAMSys' ``BufferCounter*::hasBufferSpace()``: whether the controller of channel ``ch``
    takes a request now. It does not look at the incoming request: ``Bankwise`` checks the bank
    of the request stored *last* (``lastBankID``), ``ReadWrite`` needs both the read and the
    write count below the limit, ``Shared`` the total."""
    mode = P[P_SBUF]
    size = P[P_BUFSZ]
    if mode == BUF_BANKWISE:
        return BK[BK_QLEN, CH[CH_LASTBANK, ch]] < size
    if mode == BUF_READWRITE:
        return CH[CH_QREAD, ch] < size and CH[CH_QWRITE, ch] < size
    return CH[CH_QTOTAL, ch] < size


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _ctrl_store(P, S, SL, BK, BQ, RK, CH, RING, RH, RT, slot, now):
    bank = SL[SL_BANK, slot]
    r = BK[BK_RANK, bank]
    ch = BK[BK_CHAN, bank]
    SL[SL_ID, slot] = S[S_NEXT_ID]
    S[S_NEXT_ID] += 1
    q = BK[BK_QLEN, bank]
    if q == 0:
        _busy_add(S, BK, bank)
    BQ[bank, q] = slot
    BK[BK_QLEN, bank] = q + 1
    BK[BK_DIRTY, bank] = 1
    CH[CH_QTOTAL, ch] += 1
    if SL[SL_WRITE, slot]:
        CH[CH_QWRITE, ch] += 1
    else:
        CH[CH_QREAD, ch] += 1
    RK[RK_PEND, r] += 1
    CH[CH_LASTACC, ch] = now
    CH[CH_LASTBANK, ch] = bank
    if P[P_WD_HI] > 0:
        _drain_update(P, BK, CH, ch)
    if P[P_RESPQ] == RESP_REORDER:
        _push(RING, RH, RT, ch * N_RQ + RQ_ACC, slot)


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _arb_head_ready(SL, slot, now, late):
    """Whether the arbiter's request ``slot`` reaches the controller in this phase of ``now``."""
    a = SL[SL_AVAIL, slot]
    return a < now or (a == now and (late != 0 or SL[SL_LATE, slot] == 0))


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _frontend(P, S, SL, FREE, BK, BQ, RK, CH, RING, RH, RT, now, late):
    """Hand requests over: initiator -> arbiter/controller, arbiter queue -> controller.

    ``late`` = 0 is the intake before the controller chooses this cycle's command, 1 the
    intake after it. DRAMSys delivers a request whose ``BEGIN_REQ`` was sent in the same cycle
    with zero delay (the trace player's new request through the Simple arbiter, a request the
    Fifo/Reorder arbiter forwards from an empty queue) in a later SystemC delta cycle than the
    ``controllerMethod`` that issues the cycle's command, so such a request is stored after
    that command (and competes in the cycle only when no command was issued). Requests whose
    ``BEGIN_REQ`` was sent with a one-cycle delay (the next request of the arbiter queue
    after an ``END_REQ``) arrive before it. Returns a bit mask of the channels that stored a
    request in this call."""
    arb = P[P_ARB]
    stored = 0
    if S[S_HELD] == 1 and S[S_H_OFFER] <= now and S[S_NFREE] > 0:
        bank = S[S_H_BANK]
        ch = BK[BK_CHAN, bank]
        ok = False
        if arb == ARB_SIMPLE:
            ok = (CH[CH_LASTACC, ch] < now and (late != 0 or S[S_H_OFFER] < now)
                  and _ctrl_has_space(P, BK, CH, ch))
        else:
            ok = S[S_ACTIVE] < P[P_MAXACT]
        if ok:
            S[S_NFREE] -= 1
            slot = FREE[S[S_NFREE]]
            SL[SL_ACC, slot] = now
            SL[SL_BANK, slot] = bank
            SL[SL_ROW, slot] = S[S_H_ROW]
            SL[SL_COL, slot] = S[S_H_COL]
            SL[SL_WRITE, slot] = S[S_H_WRITE]
            SL[SL_DONE, slot] = -1
            SL[SL_CRESP, slot] = -1
            SL[SL_TCYC, slot] = S[S_H_CYC]
            if S[S_ACTIVE] == 0:
                S[S_LAST_PROGRESS] = now
            S[S_ACTIVE] += 1
            S[S_ACCEPTED] += 1
            S[S_BP_SUM] += now - S[S_H_CYC]
            if S[S_H_WRITE] == 0:
                S[S_BP_RD_SUM] += now - S[S_H_CYC]
            S[S_LAST_INIT_ACC] = now
            S[S_HELD] = 0
            if arb == ARB_SIMPLE:
                _ctrl_store(P, S, SL, BK, BQ, RK, CH, RING, RH, RT, slot, now)
                stored |= 1 << ch
            else:
                k = ch * N_RQ + RQ_ARB
                if RT[k] == RH[k]:
                    # an idle channel port: BEGIN_REQ now (a delta later), or one cycle later
                    # when the controller took a request in this cycle (ArbiterFifo lastEndReq)
                    if CH[CH_LASTACC, ch] == now:
                        SL[SL_AVAIL, slot] = now + 1
                        SL[SL_LATE, slot] = 0
                    else:
                        SL[SL_AVAIL, slot] = now
                        SL[SL_LATE, slot] = 1
                _push(RING, RH, RT, k, slot)
                if arb == ARB_REORDER:
                    _push(RING, RH, RT, S[S_INITQ], slot)
    if arb != ARB_SIMPLE:
        for ch in range(P[P_NCH]):
            k = ch * N_RQ + RQ_ARB
            if RT[k] > RH[k] and CH[CH_LASTACC, ch] < now:
                slot = _head(RING, RH, k)
                if _arb_head_ready(SL, slot, now, late) and _ctrl_has_space(P, BK, CH, ch):
                    _pop(RING, RH, RT, k)
                    _ctrl_store(P, S, SL, BK, BQ, RK, CH, RING, RH, RT, slot, now)
                    stored |= 1 << ch
                    if RT[k] > RH[k]:  # the next one follows after END_REQ, one cycle later
                        nxt = _head(RING, RH, k)
                        SL[SL_AVAIL, nxt] = now + 1
                        SL[SL_LATE, nxt] = 0
    return stored


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _frontend_wake(P, S, SL, BK, CH, RING, RH, RT, now, more):
    """Earliest future cycle at which the front end could act on its own (INF if none)."""
    t = INF
    if S[S_HELD] == 1:
        if S[S_H_OFFER] > now:
            t = S[S_H_OFFER]
        elif S[S_NFREE] > 0:
            bank = S[S_H_BANK]
            ch = BK[BK_CHAN, bank]
            if P[P_ARB] == ARB_SIMPLE:
                if _ctrl_has_space(P, BK, CH, ch):
                    t = now + 1
            elif S[S_ACTIVE] < P[P_MAXACT]:
                t = now + 1
    elif more:
        t = now + 1
    if P[P_ARB] != ARB_SIMPLE:
        for ch in range(P[P_NCH]):
            k = ch * N_RQ + RQ_ARB
            if RT[k] > RH[k]:
                if _ctrl_has_space(P, BK, CH, ch):
                    a = SL[SL_AVAIL, _head(RING, RH, k)]
                    if a <= now:
                        a = now + 1
                    if a < t:
                        t = a
    return t


# --------------------------------------------------------------------------------------------
# responses
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _responses(P, S, SL, FREE, RING, RH, RT, HIST, CH, now):
    nch = P[P_NCH]
    arb = P[P_ARB]
    iq = S[S_INITQ]
    # stage 1: controller response port, one per cycle and channel
    for ch in range(nch):
        if CH[CH_LASTCRESP, ch] >= now:
            continue
        pick = -1
        if P[P_RESPQ] == RESP_FIFO:
            kr = ch * N_RQ + RQ_RD
            kw = ch * N_RQ + RQ_WR
            best = INF
            if RT[kr] > RH[kr]:
                s = _head(RING, RH, kr)
                if SL[SL_DONE, s] <= now:
                    best = SL[SL_DONE, s]
                    pick = kr
            if RT[kw] > RH[kw]:
                s = _head(RING, RH, kw)
                d = SL[SL_DONE, s]
                if d <= now:
                    if d < best or (d == best and SL[SL_ID, s] < SL[SL_ID, _head(RING, RH, kr)]):
                        pick = kw
        else:
            ka = ch * N_RQ + RQ_ACC
            if RT[ka] > RH[ka]:
                s = _head(RING, RH, ka)
                if SL[SL_DONE, s] >= 0 and SL[SL_DONE, s] <= now:
                    pick = ka
        if pick >= 0:
            s = _pop(RING, RH, RT, pick)
            SL[SL_CRESP, s] = now
            CH[CH_LASTCRESP, ch] = now
            if arb != ARB_REORDER:
                _push(RING, RH, RT, iq, s)
    # stage 2: initiator, one response per cycle
    if S[S_LAST_INIT_RESP] < now and RT[iq] > RH[iq]:
        s = _head(RING, RH, iq)
        if SL[SL_CRESP, s] >= 0:
            _pop(RING, RH, RT, iq)
            lat = now - SL[SL_ACC, s]
            if SL[SL_WRITE, s]:
                S[S_WRITES] += 1
                S[S_WLAT_SUM] += lat
                if lat > S[S_WLAT_MAX]:
                    S[S_WLAT_MAX] = lat
                HIST[1, _hist_bin(lat)] += 1
            else:
                S[S_READS] += 1
                S[S_RLAT_SUM] += lat
                if lat > S[S_RLAT_MAX]:
                    S[S_RLAT_MAX] = lat
                HIST[0, _hist_bin(lat)] += 1
            FREE[S[S_NFREE]] = s
            S[S_NFREE] += 1
            S[S_ACTIVE] -= 1
            S[S_LAST_INIT_RESP] = now
            S[S_LAST_PROGRESS] = now
            S[S_END] = now


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _responses_wake(P, S, SL, RING, RH, RT, CH, now):
    t = INF
    for ch in range(P[P_NCH]):
        port = CH[CH_LASTCRESP, ch] + 1
        if P[P_RESPQ] == RESP_FIFO:
            for kind in (RQ_RD, RQ_WR):
                k = ch * N_RQ + kind
                if RT[k] > RH[k]:
                    d = max(SL[SL_DONE, _head(RING, RH, k)], port)
                    if d < t:
                        t = d
        else:
            k = ch * N_RQ + RQ_ACC
            if RT[k] > RH[k]:
                d = SL[SL_DONE, _head(RING, RH, k)]
                if d >= 0:
                    d = max(d, port)
                    if d < t:
                        t = d
    iq = S[S_INITQ]
    if RT[iq] > RH[iq]:
        c = SL[SL_CRESP, _head(RING, RH, iq)]
        if c >= 0:
            d = max(c, S[S_LAST_INIT_RESP] + 1)
            if d < t:
                t = d
    if t <= now:
        t = now + 1
    return t


# --------------------------------------------------------------------------------------------
# bank machines
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", _nrt=False)
def _pick_write(P, SL, BK, BQ, b):
    """Write drain (archgym option, DRAMsim3-style): the bank's oldest write that hits the open
    row, else its oldest write; never one with an older request to the same address before it.
    -1 when the bank holds no such write."""
    q = BK[BK_QLEN, b]
    row = BK[BK_ROW, b]
    is_open = BK[BK_OPEN, b] != 0
    first = -1
    for i in range(q):
        s = BQ[b, i]
        if SL[SL_WRITE, s] == 0:
            continue
        hazard = False
        for j in range(i):
            o = BQ[b, j]
            if SL[SL_ROW, o] == SL[SL_ROW, s] and SL[SL_COL, o] == SL[SL_COL, s]:
                hazard = True
                break
        if hazard:
            continue
        if is_open and SL[SL_ROW, s] == row:
            return s
        if first < 0:
            first = s
    return first


@njit(cache=True, error_model="numpy", _nrt=False)
def _drain_update(P, BK, CH, ch):
    """Enter / leave write-drain mode by the channel's buffered writes (hysteresis)."""
    if P[P_WD_HI] <= 0:
        return
    w = CH[CH_QWRITE, ch]
    d = CH[CH_DRAIN, ch]
    if (d == 0 and w >= P[P_WD_HI]) or (d != 0 and w <= P[P_WD_LO]):
        CH[CH_DRAIN, ch] = 1 - d
        bpc = P[P_BPR] * P[P_NRANK]
        for o in range(ch * bpc, (ch + 1) * bpc):
            BK[BK_DIRTY, o] = 1


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _pick(P, SL, BK, BQ, CH, b):
    """The scheduler's choice for bank ``b`` (a slot), DRAMSys' Fifo / FrFcfs / FrFcfsGrp."""
    sched = P[P_SCHED]
    q = BK[BK_QLEN, b]
    if P[P_WD_HI] > 0 and CH[CH_DRAIN, BK[BK_CHAN, b]] != 0:
        s = _pick_write(P, SL, BK, BQ, b)
        if s >= 0:
            return s
    if sched == SCHED_FIFO or BK[BK_OPEN, b] == 0:
        return BQ[b, 0]
    row = BK[BK_ROW, b]
    if sched == SCHED_FRFCFS:
        for i in range(q):
            s = BQ[b, i]
            if SL[SL_ROW, s] == row:
                return s
        return BQ[b, 0]
    # FrFcfsGrp: prefer a row hit in the direction of the channel's last column command,
    # unless an older hit targets the same address (never reorder same-address accesses)
    last = CH[CH_LASTDIR, BK[BK_CHAN, b]]
    first_hit = -1
    for i in range(q):
        s = BQ[b, i]
        if SL[SL_ROW, s] != row:
            continue
        if first_hit < 0:
            first_hit = s
        if SL[SL_WRITE, s] == last:
            hazard = False
            for j in range(i):
                o = BQ[b, j]
                if SL[SL_ROW, o] == row and SL[SL_COL, o] == SL[SL_COL, s]:
                    hazard = True
                    break
            if not hazard:
                return s
    if first_hit >= 0:
        return first_hit
    return BQ[b, 0]


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _further_row_hit(P, SL, BK, BQ, b, row):
    """DRAMSys' hasFurtherRowHit: another buffered request (besides one) hits ``row``."""
    q = BK[BK_QLEN, b]
    if P[P_SCHED] == SCHED_FIFO:
        return q >= 2 and SL[SL_ROW, BQ[b, 1]] == row
    hits = 0
    for i in range(q):
        if SL[SL_ROW, BQ[b, i]] == row:
            hits += 1
            if hits >= 2:
                return True
    return False


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _bank_eval(P, SL, BK, BQ, CH, b):
    BK[BK_CMD, b] = CMD_NONE
    if BK[BK_BLOCK, b] != 0 or BK[BK_QLEN, b] == 0:
        return
    pick = _pick(P, SL, BK, BQ, CH, b)
    if BK[BK_KEEP, b] != 0:
        if SL[SL_ROW, pick] == BK[BK_ROW, b]:
            BK[BK_CUR, b] = pick
    else:
        BK[BK_CUR, b] = pick
    cur = BK[BK_CUR, b]
    BK[BK_CSLOT, b] = cur
    if BK[BK_OPEN, b] == 0:
        BK[BK_CMD, b] = ACT
        return
    row = BK[BK_ROW, b]
    if SL[SL_ROW, cur] != row:
        BK[BK_CMD, b] = PRE
        return
    page = P[P_PAGE]
    auto = False
    if page == PAGE_CLOSED:
        auto = True
    elif page == PAGE_OPEN_ADAPTIVE:
        auto = BK[BK_QLEN, b] >= 2 and not _further_row_hit(P, SL, BK, BQ, b, row)
    elif page == PAGE_CLOSED_ADAPTIVE:
        auto = not _further_row_hit(P, SL, BK, BQ, b, row)
    if SL[SL_WRITE, cur]:
        BK[BK_CMD, b] = WRA if auto else WR
    else:
        BK[BK_CMD, b] = RDA if auto else RD


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _bank_ready(P, BK, GR, RK, b):
    cmd = BK[BK_CMD, b]
    g = BK[BK_GROUP, b]
    r = BK[BK_RANK, b]
    if cmd == ACT:
        t = BK[BK_NACT, b]
        if GR[GR_NACT, g] > t:
            t = GR[GR_NACT, g]
        if RK[RK_NACT, r] > t:
            t = RK[RK_NACT, r]
        f = RK[RK_FAW0 + RK[RK_FAWI, r], r] + P[P_FAW]
        if f > t:
            t = f
        return t
    if cmd == PRE:
        return BK[BK_NPRE, b]
    if cmd == RD or cmd == RDA:
        t = BK[BK_NRD, b]
        if cmd == RDA and BK[BK_NRDA, b] > t:
            t = BK[BK_NRDA, b]
        if GR[GR_NRD, g] > t:
            t = GR[GR_NRD, g]
        if RK[RK_NRD, r] > t:
            t = RK[RK_NRD, r]
        return t
    t = BK[BK_NWR, b]
    if GR[GR_NWR, g] > t:
        t = GR[GR_NWR, g]
    if RK[RK_NWR, r] > t:
        t = RK[RK_NWR, r]
    return t


# --------------------------------------------------------------------------------------------
# refresh managers
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _refresh_eval(P, BK, RK, r, now):
    RK[RK_RCMD, r] = CMD_NONE
    if now < RK[RK_REFT, r]:
        return
    bpr = P[P_BPR]
    b0 = r * bpr
    if P[P_REFPOL] == REF_ALLBANK:
        if now >= RK[RK_REFT, r] + P[P_REFI]:
            # a whole interval late (DRAMSys: skip to the next trigger, back to regular)
            RK[RK_REFT, r] += P[P_REFI]
            RK[RK_STATE, r] = 0
        busy = RK[RK_PEND, r] > 0
        if RK[RK_STATE, r] == 0:
            if RK[RK_FLEX, r] >= P[P_MAXPOST]:
                if RK[RK_BLOCKED, r] == 0:
                    for b in range(b0, b0 + bpr):
                        BK[BK_BLOCK, b] = 1
                        BK[BK_DIRTY, b] = 1
                    RK[RK_BLOCKED, r] = 1
            elif busy:
                RK[RK_FLEX, r] += 1
                RK[RK_REFT, r] += P[P_REFI]
                return
        elif busy:
            RK[RK_STATE, r] = 0
            RK[RK_REFT, r] += P[P_REFI]
            return
        RK[RK_RCMD, r] = PREA if RK[RK_NOPEN, r] > 0 else REFAB
        return
    # per-bank refresh (DRAMSys' RefreshManagerPerBank::start)
    interval = P[P_REFI_PB]
    if now >= RK[RK_REFT, r] + interval:
        RK[RK_REFT, r] += interval
        RK[RK_STATE, r] = 0
    remain = RK[RK_REMAIN, r]
    sel = -1
    if RK[RK_STATE, r] == 0:
        forced = RK[RK_FLEX, r] >= P[P_MAXPOST]
        if RK[RK_SKIP, r] != 0:
            sel = RK[RK_RBANK, r]
        else:
            for i in range(bpr):
                if (remain >> i) & 1 and BK[BK_QLEN, b0 + i] == 0:
                    sel = b0 + i
                    break
            if sel < 0:
                if not forced:
                    RK[RK_FLEX, r] += 1
                    RK[RK_REFT, r] += interval
                    return
                for i in range(bpr):
                    if (remain >> i) & 1:
                        sel = b0 + i
                        break
            if forced and BK[BK_OPEN, sel] == 0:  # blocked once its REFpb is chosen
                BK[BK_BLOCK, sel] = 1
                BK[BK_DIRTY, sel] = 1
                RK[RK_SKIP, r] = 1
    else:
        for i in range(bpr):
            if (remain >> i) & 1 and BK[BK_QLEN, b0 + i] == 0:
                sel = b0 + i
                break
        if sel < 0:
            RK[RK_STATE, r] = 0
            RK[RK_REFT, r] += interval
            return
    RK[RK_RBANK, r] = sel
    RK[RK_RCMD, r] = PRE if BK[BK_OPEN, sel] != 0 else REFPB


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _refresh_ready(P, BK, RK, r):
    cmd = RK[RK_RCMD, r]
    bpr = P[P_BPR]
    b0 = r * bpr
    t = 0
    if cmd == PREA:
        # DRAMSys' CheckerDDR3/4 (PREAB): rank-wide, auto-precharged banks included
        t = RK[RK_NPREA, r]
    elif cmd == REFAB:
        for b in range(b0, b0 + bpr):
            if BK[BK_NACT, b] > t:
                t = BK[BK_NACT, b]
    elif cmd == PRE:
        t = BK[BK_NPRE, RK[RK_RBANK, r]]
    else:
        t = BK[BK_NACT, RK[RK_RBANK, r]]
        if RK[RK_NACT, r] > t:
            t = RK[RK_NACT, r]
    return t


@njit(cache=True, error_model="numpy", _nrt=False)
def _refresh_done(P, RK, r, interval):
    if RK[RK_STATE, r] == 1:
        RK[RK_FLEX, r] -= 1
    else:
        RK[RK_STATE, r] = 1
    if RK[RK_FLEX, r] <= -P[P_MAXPULL]:
        RK[RK_STATE, r] = 0
        RK[RK_REFT, r] += interval


@njit(cache=True, error_model="numpy", _nrt=False)
def _issue_refresh(P, S, BK, RK, CH, LOG, r, now):
    cmd = RK[RK_RCMD, r]
    bpr = P[P_BPR]
    b0 = r * bpr
    ch = r // P[P_NRANK]
    RK[RK_RCMD, r] = CMD_NONE
    if cmd == PREA:
        for b in range(b0, b0 + bpr):
            # ACT after PREAB: tRP on every bank of the rank (DRAMSys' checkers)
            if now + P[P_RP] > BK[BK_NACT, b]:
                BK[BK_NACT, b] = now + P[P_RP]
            BK[BK_DIRTY, b] = 1
            if BK[BK_OPEN, b] != 0:
                BK[BK_OPEN, b] = 0
                BK[BK_KEEP, b] = 0
                _rank_close(RK, r, now)
        S[S_PREA] += 1
        _energy_window(CH, ch, now, now + P[P_RP] - 1, 0)  # PREA does not sort as a PRE
        if LOG.shape[0] > 0:
            _log(P, S, LOG, now, PREA, r, -1, -1, -1)
    elif cmd == REFAB:
        for b in range(b0, b0 + bpr):
            if now + P[P_RFC] > BK[BK_NACT, b]:
                BK[BK_NACT, b] = now + P[P_RFC]
            if RK[RK_BLOCKED, r] != 0:
                BK[BK_BLOCK, b] = 0
            BK[BK_DIRTY, b] = 1  # its ACT constraint moved
        RK[RK_BLOCKED, r] = 0
        _rank_open(RK, r, now)
        # active standby for tRFC - tRP of the refresh, as DRAMPower counts it (handleRef)
        _rank_close(RK, r, now + P[P_RFC] - P[P_RP])
        S[S_REFAB] += 1
        _energy_window(CH, ch, now, now - 1, 0)  # DRAMPower: no completion time for REF
        _refresh_done(P, RK, r, P[P_REFI])
        if LOG.shape[0] > 0:
            _log(P, S, LOG, now, REFAB, r, -1, -1, -1)
    elif cmd == PRE:
        b = RK[RK_RBANK, r]
        BK[BK_OPEN, b] = 0
        BK[BK_KEEP, b] = 0
        if now + P[P_RP] > BK[BK_NACT, b]:
            BK[BK_NACT, b] = now + P[P_RP]
        BK[BK_DIRTY, b] = 1
        _rank_close(RK, r, now)
        S[S_PRES] += 1
        _energy_window(CH, ch, now, now + P[P_RP] - 1, 1)
        if LOG.shape[0] > 0:
            _log(P, S, LOG, now, PRE, r, b, BK[BK_ROW, b], -1)
    else:  # REFPB
        b = RK[RK_RBANK, r]
        if now + P[P_RFCPB] > BK[BK_NACT, b]:
            BK[BK_NACT, b] = now + P[P_RFCPB]
        if now + P[P_RRDS] > RK[RK_NACT, r]:
            RK[RK_NACT, r] = now + P[P_RRDS]
        BK[BK_BLOCK, b] = 0
        BK[BK_DIRTY, b] = 1
        RK[RK_SKIP, r] = 0
        remain = RK[RK_REMAIN, r] & ~(1 << (b - b0))
        if remain == 0:
            remain = (1 << bpr) - 1
        RK[RK_REMAIN, r] = remain
        _rank_open(RK, r, now)
        _rank_close(RK, r, now + P[P_RFCPB])
        S[S_REFPB] += 1
        _energy_window(CH, ch, now, now - 1, 0)
        _refresh_done(P, RK, r, P[P_REFI_PB])
        if LOG.shape[0] > 0:
            _log(P, S, LOG, now, REFPB, r, b, -1, -1)


# --------------------------------------------------------------------------------------------
# command issue
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _issue_bank(P, S, SL, BK, BQ, GR, RK, CH, RING, RH, RT, LOG, b, now):
    cmd = BK[BK_CMD, b]
    slot = BK[BK_CSLOT, b]
    bpr = P[P_BPR]
    nr = P[P_NRANK]
    r = BK[BK_RANK, b]
    g = BK[BK_GROUP, b]
    ch = BK[BK_CHAN, b]
    BK[BK_CMD, b] = CMD_NONE
    BK[BK_DIRTY, b] = 1
    if cmd == ACT:
        t = now + P[P_RC]
        if t > BK[BK_NACT, b]:
            BK[BK_NACT, b] = t
        t = now + P[P_RAS]
        if t > BK[BK_NPRE, b]:
            BK[BK_NPRE, b] = t
        if t > RK[RK_NPREA, r]:
            RK[RK_NPREA, r] = t
        t = now + P[P_RCD]
        if t > BK[BK_NRD, b]:
            BK[BK_NRD, b] = t
        if t > BK[BK_NWR, b]:
            BK[BK_NWR, b] = t
        t = now + P[P_RRDL]
        if t > GR[GR_NACT, g]:
            GR[GR_NACT, g] = t
        t = now + P[P_RRDS]
        if t > RK[RK_NACT, r]:
            RK[RK_NACT, r] = t
        RK[RK_FAW0 + RK[RK_FAWI, r], r] = now
        RK[RK_FAWI, r] = (RK[RK_FAWI, r] + 1) & 3
        BK[BK_OPEN, b] = 1
        BK[BK_ROW, b] = SL[SL_ROW, slot]
        BK[BK_KEEP, b] = 1
        BK[BK_ACTT, b] = now
        BK[BK_CASN, b] = 0
        _rank_open(RK, r, now)
        S[S_ACTS] += 1
        _energy_window(CH, ch, now, now + P[P_RCD] - 1, 0)
        if LOG.shape[0] > 0:
            _log(P, S, LOG, now, ACT, r, b, SL[SL_ROW, slot], -1)
        return
    if cmd == PRE:
        t = now + P[P_RP]
        if t > BK[BK_NACT, b]:
            BK[BK_NACT, b] = t
        BK[BK_OPEN, b] = 0
        BK[BK_KEEP, b] = 0
        _rank_close(RK, r, now)
        S[S_PRES] += 1
        _energy_window(CH, ch, now, now + P[P_RP] - 1, 1)
        if LOG.shape[0] > 0:
            _log(P, S, LOG, now, PRE, r, b, BK[BK_ROW, b], -1)
        return
    # column command
    burst = P[P_BURST]
    is_write = cmd == WR or cmd == WRA
    cl = P[P_CL]
    cwl = P[P_CWL]
    rtrs = P[P_RTRS]
    r0 = ch * nr
    if is_write:
        t = now + cwl + burst + P[P_WR]
        if t > BK[BK_NPRE, b]:
            BK[BK_NPRE, b] = t
        # RDA after WR: WR + tWRPRE - tRTP (DRAMSys' CheckerDDR3/4)
        if t - P[P_RTP] > BK[BK_NRDA, b]:
            BK[BK_NRDA, b] = t - P[P_RTP]
        if t > RK[RK_NPREA, r]:
            RK[RK_NPREA, r] = t
        t = now + P[P_CCDL]
        if t > GR[GR_NWR, g]:
            GR[GR_NWR, g] = t
        t = now + cwl + burst + P[P_WTRL]
        if t > GR[GR_NRD, g]:
            GR[GR_NRD, g] = t
        t = now + P[P_CCDS]
        if t > RK[RK_NWR, r]:
            RK[RK_NWR, r] = t
        t = now + cwl + burst + P[P_WTRS]
        if t > RK[RK_NRD, r]:
            RK[RK_NRD, r] = t
        for o in range(r0, r0 + nr):
            if o != r:
                t = now + burst + rtrs
                if t > RK[RK_NWR, o]:
                    RK[RK_NWR, o] = t
                t = now + cwl + burst + rtrs - cl
                if t > RK[RK_NRD, o]:
                    RK[RK_NRD, o] = t
        done = now + cwl + burst
        S[S_WRCMD] += 1
        _energy_window(CH, ch, now, done + P[P_WR] - 1, 0)
    else:
        t = now + P[P_RTP]
        if t > BK[BK_NPRE, b]:
            BK[BK_NPRE, b] = t
        if t > RK[RK_NPREA, r]:
            RK[RK_NPREA, r] = t
        t = now + P[P_CCDL]
        if t > GR[GR_NRD, g]:
            GR[GR_NRD, g] = t
        t = now + P[P_RTW]
        if t > GR[GR_NWR, g]:
            GR[GR_NWR, g] = t
        t = now + P[P_CCDS]
        if t > RK[RK_NRD, r]:
            RK[RK_NRD, r] = t
        t = now + P[P_RTW]
        if t > RK[RK_NWR, r]:
            RK[RK_NWR, r] = t
        for o in range(r0, r0 + nr):
            if o != r:
                t = now + burst + rtrs
                if t > RK[RK_NRD, o]:
                    RK[RK_NRD, o] = t
                t = now + cl + burst + rtrs - cwl
                if t > RK[RK_NWR, o]:
                    RK[RK_NWR, o] = t
        done = now + cl + burst
        S[S_RDCMD] += 1
        _energy_window(CH, ch, now, done, 0)  # RL + 1 + BL/2 - 1 (DRAMPower, tDQSCK = 0)
    if LOG.shape[0] > 0:
        _log(P, S, LOG, now, cmd, r, b, BK[BK_ROW, b], SL[SL_COL, slot])
    # remove the request from its bank queue (order preserved)
    q = BK[BK_QLEN, b]
    found = False
    for i in range(q):
        if found:
            BQ[b, i - 1] = BQ[b, i]
        elif BQ[b, i] == slot:
            found = True
    BK[BK_QLEN, b] = q - 1
    if q == 1:
        _busy_remove(S, BK, b)
    CH[CH_QTOTAL, ch] -= 1
    if is_write:
        CH[CH_QWRITE, ch] -= 1
    else:
        CH[CH_QREAD, ch] -= 1
    RK[RK_PEND, r] -= 1
    if P[P_WD_HI] > 0:
        _drain_update(P, BK, CH, ch)
    SL[SL_DONE, slot] = done
    if P[P_RESPQ] == RESP_FIFO:
        _push(RING, RH, RT, ch * N_RQ + (RQ_WR if is_write else RQ_RD), slot)
    BK[BK_CASN, b] += 1
    if BK[BK_CASN, b] > 1:
        S[S_ROWHITS] += 1
    BK[BK_CUR, b] = -1
    BK[BK_KEEP, b] = 0
    if cmd == RDA or cmd == WRA:
        if is_write:
            pre = now + cwl + burst + P[P_WR]
        else:
            pre = now + P[P_RTP]
        # ACT after RDA/WRA: RDA + tRTP + tRP or WRA + tWRPRE + tRP (tRC from the ACT is
        # already in BK_NACT), as DRAMSys' checkers; the bank counts as open (energy) until
        # its internal precharge, which also waits for tRAS
        if pre + P[P_RP] > BK[BK_NACT, b]:
            BK[BK_NACT, b] = pre + P[P_RP]
        if BK[BK_ACTT, b] + P[P_RAS] > pre:
            pre = BK[BK_ACTT, b] + P[P_RAS]
        BK[BK_OPEN, b] = 0
        _rank_close(RK, r, pre)
        S[S_PRES] += 1
        _energy_window(CH, ch, pre, pre + P[P_RP] - 1, 1)
    if P[P_SCHED] == SCHED_FRFCFS_GRP:
        CH[CH_LASTDIR, ch] = 1 if is_write else 0
        bpc = bpr * nr
        for o in range(ch * bpc, (ch + 1) * bpc):
            BK[BK_DIRTY, o] = 1


# --------------------------------------------------------------------------------------------
# the main loop
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", _nrt=False, nogil=True)
def run(P, S, SL, FREE, BK, BQ, GR, RK, CH, RING, RH, RT, HIST, LOG,
        tcyc, twrite, tbank, trow, tcol, final):
    """Advance the simulation over one chunk of requests.

    Returns ``ST_NEED_MORE`` at the start of a cycle once every request of the chunk has been
    handed to the memory system and the next one is needed (state is exact to resume with the
    next chunk), ``ST_DONE`` when ``final`` and everything has been answered, or an error code.
    """
    n = tcyc.shape[0]
    ptr = 0
    nch = P[P_NCH]
    nrk = RK.shape[1]
    refpol = P[P_REFPOL]
    while True:
        now = S[S_NOW]
        # -- fetch the next trace request into the initiator
        if S[S_HELD] == 0:
            if ptr < n:
                c = tcyc[ptr]
                S[S_H_CYC] = c
                S[S_H_WRITE] = twrite[ptr]
                S[S_H_BANK] = tbank[ptr]
                S[S_H_ROW] = trow[ptr]
                S[S_H_COL] = tcol[ptr]
                off = S[S_LAST_INIT_ACC] + 1
                S[S_H_OFFER] = c if c > off else off
                S[S_HELD] = 1
                if S[S_FIRST] < 0:
                    S[S_FIRST] = c
                ptr += 1
            elif final == 0:
                return ST_NEED_MORE
            elif S[S_ACTIVE] == 0:
                return ST_DONE
        more = ptr < n or final == 0
        S[S_STEPS] += 1
        if S[S_ACTIVE] > 0 and now - S[S_LAST_PROGRESS] > P[P_WATCHDOG]:
            return ST_WATCHDOG
        # -- 1. responses, 2. requests
        _responses(P, S, SL, FREE, RING, RH, RT, HIST, CH, now)
        _frontend(P, S, SL, FREE, BK, BQ, RK, CH, RING, RH, RT, now, 0)
        # -- 3. refresh managers
        if refpol != REF_NONE:
            for r in range(nrk):
                _refresh_eval(P, BK, RK, r, now)
        # -- 4. bank machines whose inputs changed
        for i in range(S[S_NBUSY]):
            b = BK[BK_BUSY, i]
            if BK[BK_DIRTY, b] != 0:
                BK[BK_DIRTY, b] = 0
                _bank_eval(P, SL, BK, BQ, CH, b)
                if BK[BK_CMD, b] != CMD_NONE:
                    BK[BK_READY, b] = _bank_ready(P, BK, GR, RK, b)
        # -- 5. one command per channel: refresh first, else the oldest ready request
        issued = False
        for ch in range(nch):
            CH[CH_ISSKIND, ch] = ISS_NONE
            if CH[CH_LASTCMD, ch] == now:  # a second pass over this cycle (see below)
                continue
            if refpol != REF_NONE:
                for r in range(ch * P[P_NRANK], (ch + 1) * P[P_NRANK]):
                    if RK[RK_RCMD, r] != CMD_NONE and _refresh_ready(P, BK, RK, r) <= now:
                        # REFpb moves the rank's ACT constraint; the others only touch banks
                        # they mark dirty themselves
                        CH[CH_ISSKIND, ch] = ISS_ACT if RK[RK_RCMD, r] == REFPB else ISS_LOCAL
                        CH[CH_ISSRANK, ch] = r
                        _issue_refresh(P, S, BK, RK, CH, LOG, r, now)
                        CH[CH_LASTCMD, ch] = now
                        break
            if CH[CH_ISSKIND, ch] == ISS_NONE:
                best = -1
                best_id = INF
                for i in range(S[S_NBUSY]):
                    b = BK[BK_BUSY, i]
                    if (BK[BK_CMD, b] != CMD_NONE and BK[BK_READY, b] <= now
                            and BK[BK_CHAN, b] == ch):
                        i = SL[SL_ID, BK[BK_CSLOT, b]]
                        if i < best_id:
                            best_id = i
                            best = b
                if best >= 0:
                    cmd = BK[BK_CMD, best]
                    CH[CH_ISSKIND, ch] = ISS_ACT if cmd == ACT else (ISS_LOCAL if cmd == PRE else ISS_CAS)
                    CH[CH_ISSRANK, ch] = BK[BK_RANK, best]
                    _issue_bank(P, S, SL, BK, BQ, GR, RK, CH, RING, RH, RT, LOG, best, now)
                    CH[CH_LASTCMD, ch] = now
            if CH[CH_ISSKIND, ch] != ISS_NONE:
                issued = True
        # -- intake after the command: requests that arrive in a later delta cycle, and buffer
        # space freed by a column command (DRAMSys re-runs its request intake after a CAS)
        stored = _frontend(P, S, SL, FREE, BK, BQ, RK, CH, RING, RH, RT, now, 1)
        again = False
        for ch in range(nch):
            if (stored >> ch) & 1 and CH[CH_LASTCMD, ch] != now:
                again = True  # nothing issued yet: the new request competes in this cycle
        # -- 6. next event
        t_next = INF
        for i in range(S[S_NBUSY]):
            b = BK[BK_BUSY, i]
            if BK[BK_DIRTY, b] != 0:
                BK[BK_DIRTY, b] = 0
                _bank_eval(P, SL, BK, BQ, CH, b)
                if BK[BK_CMD, b] != CMD_NONE:
                    BK[BK_READY, b] = _bank_ready(P, BK, GR, RK, b)
            elif issued and BK[BK_CMD, b] != CMD_NONE:
                # only constraints moved by this cycle's command can change a ready time:
                # ACT/REFpb -> ACTs of its rank; RD/WR(A) -> column commands of its channel
                kind = CH[CH_ISSKIND, BK[BK_CHAN, b]]
                cmd = BK[BK_CMD, b]
                if kind == ISS_CAS:
                    if cmd != ACT and cmd != PRE:
                        BK[BK_READY, b] = _bank_ready(P, BK, GR, RK, b)
                elif kind == ISS_ACT:
                    if cmd == ACT and BK[BK_RANK, b] == CH[CH_ISSRANK, BK[BK_CHAN, b]]:
                        BK[BK_READY, b] = _bank_ready(P, BK, GR, RK, b)
            if BK[BK_CMD, b] != CMD_NONE:
                t = BK[BK_READY, b]
                bus = CH[CH_LASTCMD, BK[BK_CHAN, b]] + 1
                if bus > t:
                    t = bus
                if t < t_next:
                    t_next = t
        if refpol != REF_NONE:
            for r in range(nrk):
                if RK[RK_RCMD, r] != CMD_NONE and not issued:
                    # nothing changed since the refresh manager chose: wait for its command
                    t = _refresh_ready(P, BK, RK, r)
                    bus = CH[CH_LASTCMD, r // P[P_NRANK]] + 1
                    if bus > t:
                        t = bus
                elif RK[RK_RCMD, r] != CMD_NONE or RK[RK_REFT, r] <= now:
                    t = now + 1
                else:
                    t = RK[RK_REFT, r]
                if t < t_next:
                    t_next = t
        t = _responses_wake(P, S, SL, RING, RH, RT, CH, now)
        if t < t_next:
            t_next = t
        t = _frontend_wake(P, S, SL, BK, CH, RING, RH, RT, now, more)
        if t < t_next:
            t_next = t
        if t_next >= INF:
            if S[S_ACTIVE] > 0 or S[S_HELD] == 1:
                return ST_DEADLOCK
            if final != 0 and ptr >= n:
                return ST_DONE
            t_next = now + 1
        if again:
            t_next = now
        S[S_NOW] = t_next if (t_next > now or again) else now + 1

__all__ = sorted(name for name in list(globals()) if name.isupper()) + ["run"]

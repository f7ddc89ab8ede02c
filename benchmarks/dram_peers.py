"""archgym against DRAMsim3 and Ramulator 2, per request, timed side by side in one run.

The goal (issue 13): at least 1.5x the faster of DRAMsim3 and Ramulator 2 per request on the
sequential, random and strided traces, one design, one core. This script runs the two C++
simulators (built from source, outside this repository) and archgym on the same requests,
interleaved round by round so load on a shared machine hits every simulator alike.

**Traces.** ``dram_throughput.per_request_traces``: 100,000 requests offered one per cycle —
sequential 64-B reads, uniform random over 16 GiB with 2:1 reads to writes (seed 1),
4-KiB-strided reads — written in each peer's format (DRAMsim3: archgym's ``write_trace``
``dramsim3`` format, ``<hex address> <READ|WRITE> <cycle>``; Ramulator 2: its
``LoadStoreTrace`` format, ``LD|ST <hex address>``, which has no arrival cycle: the frontend
offers the next request every cycle until the controller accepts it).

**Setups** (closest to archgym's ``DDR4_8Gb_x8_2400``, ``rochrababgco``, default controller =
DRAMSys' FR-FCFS example: open page, FR-FCFS, 8-entry bank-wise buffers, all-bank refresh):

* DRAMsim3: its own ``configs/DDR4_8Gb_x8_2400.ini`` unchanged (archgym's device preset was taken
  from it: 2 ranks of 8 x8 chips, CL/tRCD/tRP 17, mapping ``rochrababgco``, open page, per-bank
  command queues of 8, transaction queue 32, rank-staggered refresh; its scheduler batches
  writes, DRAMSys' does not). Its trace driver (``main.cc``) runs a fixed ``-c`` cycle count
  whatever the trace length; it is built with the stop-at-end-of-trace patch the Ramulator 2
  authors use for their own speed comparison (``perf_comparison/DRAMsim3-patch.patch`` of
  Ramulator 2 v2.0a), so it stops once the last request is accepted.
* Ramulator 2 (v2.0a, the release with the standalone ``ramulator2`` binary; 2.1 is driven from
  Python): ``DDR4_8Gb_x8`` with 1 channel and 2 ranks, timing preset ``DDR4_2400U`` (CL/tRCD/tRP
  17, tRAS 39, as the DRAMsim3 file), ``Generic`` controller (its read and write buffers of 32 and
  write-drain watermarks), ``FRFCFS``, ``OpenRowPolicy``, ``AllBank`` refresh, and mapper
  ``RoBaRaCoCh`` — row, bank, bank group, rank, column from the top bit down (no channel bits),
  i.e. rank below the banks where ``rochrababgco`` puts it above; it has no exact equivalent.
  It also stops once the last request is accepted.
* archgym: ``dram_throughput.per_request_simulator()``, simulated until the last response (its
  cycle count therefore includes the drain the peers skip). Timed twice: on the in-memory trace
  (as ``dram_throughput.py`` section 3) and from the DRAMsim3 trace file, parsing included (as
  the peers pay for).

**Timing.** Per trace and round: each peer as a child process (CPU = user + sys of the child,
``resource.getrusage(RUSAGE_CHILDREN)``), archgym in-process (``time.process_time``). A peer's
start-up (process start, config parse, allocation) is measured on a 1-request trace each round
and subtracted: ``net`` figures are (CPU - start-up CPU), ``gross`` include it. Medians over
``--rounds``. ``--cpu N`` pins this process and the peers to CPU N. The simulated cycles and
mean read latency of each simulator are printed beside the timing as a check that they
simulate comparable work; they are not an accuracy comparison (their latency definitions
differ: DRAMsim3 counts from entering its transaction queue, Ramulator 2 from entering its
controller buffer, archgym from acceptance by the controller); ``done`` counts completed
requests (archgym, DRAMsim3) or accepted ones (Ramulator 2).

**Peer builds** (outside the repository, nothing of them is committed; under ``/work/peers_build``
by default; each build's root may hold a ``PEER_COMMIT`` file naming the commit built)::

    git --git-dir=<DRAMsim3 git dir> archive HEAD | tar -x -C DRAMsim3
    cd DRAMsim3 && patch -p1 < ../ramulator2/perf_comparison/DRAMsim3-patch.patch
    mkdir build && cd build && cmake .. -DCMAKE_BUILD_TYPE=Release && make -j2
    git --git-dir=<ramulator2 git dir> archive v2.0a | tar -x -C ramulator2
    # ext/yaml-cpp (yaml-cpp-0.7.0), ext/spdlog (v1.11.0), ext/argparse (v2.9) from their repos
    cd ramulator2 && mkdir build && cd build
    cmake .. -DCMAKE_BUILD_TYPE=Release -DFETCHCONTENT_FULLY_DISCONNECTED=ON && make -j2

A missing binary skips that peer with a message. Raw results:
``benchmarks/results/dram_peers.json`` (via ``results_io``); ``dram_throughput.py`` section 3
reads the peers' figures from it when present.

Run: ``python benchmarks/dram_peers.py`` (a few minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from archgym.simulators.dram import TraceChunk, open_workload
from archgym.simulators.dram.traces import write_trace

from dram_throughput import (PER_REQUEST_DEVICE, PER_REQUEST_MAPPING, PER_REQUEST_N,
                             per_request_simulator, per_request_traces)

PEERS_ROOT = Path("/work/peers_build")
DRAMSIM3_BIN = PEERS_ROOT / "DRAMsim3" / "build" / "dramsim3main"
RAMULATOR2_BIN = PEERS_ROOT / "ramulator2" / "build" / "ramulator2"
DRAMSIM3_CONFIG = "configs/DDR4_8Gb_x8_2400.ini"  # relative to the DRAMsim3 source root
DRAMSIM3_MAX_CYCLES = 10 ** 12  # -c: the patched driver stops at the end of the trace first
RAMULATOR2_CONFIG = """\
Frontend:
  impl: LoadStoreTrace
  path: {trace}
  clock_ratio: 1
  Translation:
    impl: NoTranslation
    max_addr: 17179869184
MemorySystem:
  impl: GenericDRAM
  clock_ratio: 1
  DRAM:
    impl: DDR4
    org:
      preset: DDR4_8Gb_x8
      channel: 1
      rank: 2
    timing:
      preset: DDR4_2400U
  Controller:
    impl: Generic
    Scheduler:
      impl: FRFCFS
    RefreshManager:
      impl: AllBank
    RowPolicy:
      impl: OpenRowPolicy
    plugins:
  AddrMapper:
    impl: RoBaRaCoCh
"""


def child_cpu() -> float:
    """User + system CPU seconds of every waited-for child so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def write_loadstore_trace(path: Path, chunk: TraceChunk) -> None:
    """Ramulator 2's ``LoadStoreTrace`` format: ``LD|ST 0x<address>`` per line."""
    with open(path, "w", encoding="ascii", newline="\n") as handle:
        handle.writelines(f"{'ST' if w else 'LD'} 0x{a:x}\n"
                          for w, a in zip(chunk.is_write.tolist(), chunk.address.tolist()))


def source_commit(binary: Path) -> str | None:
    """The ``PEER_COMMIT`` note of a peer build (binary's folder or up to two levels up)."""
    for folder in (binary.parent, binary.parent.parent, binary.parent.parent.parent):
        note = folder / "PEER_COMMIT"
        if note.is_file():
            return note.read_text().strip()
    return None


class Peer(ABC):
    """One C++ simulator: how to write its trace, run it and read its simulated work back."""

    name: str

    def __init__(self, binary: Path, work: Path) -> None:
        self.binary, self.work = binary, work
        self.traces: dict[str, Path] = {}

    @abstractmethod
    def write_trace(self, path: Path, chunk: TraceChunk) -> None:
        """Write ``chunk`` (and whatever per-trace config the peer needs) at ``path``."""

    @abstractmethod
    def command(self, trace: Path) -> list[str]:
        """The command line that simulates ``trace``."""

    @abstractmethod
    def stats(self, stdout: str) -> dict[str, float]:
        """sim_cycles, avg_read_latency_cycles, requests_done of the run that printed ``stdout``."""

    def run(self, trace: Path, pin: int | None) -> tuple[float, float, dict[str, float]]:
        """(CPU s of the child, wall s, simulated-work stats) of one run on ``trace``."""
        cmd = self.command(trace)
        if pin is not None:
            cmd = ["taskset", "-c", str(pin), *cmd]
        c0, w0 = child_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.work, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - w0, child_cpu() - c0
        if proc.returncode != 0:
            raise RuntimeError(f"{self.name} failed (exit {proc.returncode}) on {trace}: "
                               f"{(proc.stderr or proc.stdout)[-2000:]}")
        return cpu, wall, self.stats(proc.stdout)


class DRAMsim3(Peer):
    """``dramsim3main <ini> -t <trace> -c <cycles> -o <dir>``; stats from ``dramsim3.json``."""

    name = "DRAMsim3"

    def __init__(self, binary: Path, work: Path) -> None:
        super().__init__(binary, work)
        self.config = binary.resolve().parent.parent / DRAMSIM3_CONFIG
        if not self.config.is_file():
            raise FileNotFoundError(f"DRAMsim3 config {self.config} not found next to {binary}")

    def write_trace(self, path: Path, chunk: TraceChunk) -> None:
        write_trace(path, chunk, format="dramsim3")

    def command(self, trace: Path) -> list[str]:
        return [str(self.binary), str(self.config), "-t", str(trace),
                "-c", str(DRAMSIM3_MAX_CYCLES), "-o", str(self.work)]

    def stats(self, stdout: str) -> dict[str, float]:
        s = json.loads((self.work / "dramsim3.json").read_text())["0"]
        return {"sim_cycles": float(s["num_cycles"]),
                "avg_read_latency_cycles": float(s["average_read_latency"]),
                "requests_done": float(s["num_reads_done"] + s["num_writes_done"])}


class Ramulator2(Peer):
    """``ramulator2 -f <yaml>``; stats from the YAML it prints."""

    name = "Ramulator 2"

    def write_trace(self, path: Path, chunk: TraceChunk) -> None:
        write_loadstore_trace(path, chunk)
        path.with_suffix(".yaml").write_text(RAMULATOR2_CONFIG.format(trace=path))

    def command(self, trace: Path) -> list[str]:
        return [str(self.binary), "-f", str(trace.with_suffix(".yaml"))]

    def stats(self, stdout: str) -> dict[str, float]:
        values = dict(re.findall(r"^\s*([A-Za-z_0-9]+):\s*([-+0-9.eE]+)\s*$", stdout, re.M))
        # v2.0a's num_read_reqs_0 (and so avg_read_latency_0) counts every send attempt, refused
        # ones included; the memory system's totals count accepted requests. Mean read latency
        # = summed latency of served reads / accepted reads (at most a queue's worth still in
        # flight at the end, so slightly low).
        try:
            reads = float(values["total_num_read_requests"])
            return {"sim_cycles": float(values["memory_system_cycles"]),
                    "avg_read_latency_cycles": float(values["read_latency_0"]) / reads if reads else 0.0,
                    "requests_done": reads + float(values["total_num_write_requests"])}
        except KeyError as exc:
            raise RuntimeError(f"Ramulator 2 printed no {exc} statistic: {stdout[-2000:]}") from None


def make_peers(args: argparse.Namespace, work: Path) -> tuple[list[Peer], dict[str, Any]]:
    """The peers whose binaries exist, and a note per peer (path, commit, or why skipped)."""
    peers: list[Peer] = []
    notes: dict[str, Any] = {}
    for cls, binary in ((DRAMsim3, args.dramsim3), (Ramulator2, args.ramulator2)):
        name = cls.name
        if binary is None or str(binary) == "none":
            notes[name] = {"skipped": "disabled on the command line"}
            continue
        if not binary.is_file() or not os.access(binary, os.X_OK):
            print(f"{name}: no executable at {binary}; skipped (build it as the docstring says, "
                  f"or pass its path)")
            notes[name] = {"skipped": f"no executable at {binary}"}
            continue
        try:
            peer = cls(binary, work / name.replace(" ", ""))
        except FileNotFoundError as exc:
            print(f"{name}: {exc}; skipped")
            notes[name] = {"skipped": str(exc)}
            continue
        peer.work.mkdir(parents=True)
        peers.append(peer)
        notes[name] = {"binary": str(binary), "source_commit": source_commit(binary)}
    return peers, notes


def med(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=PER_REQUEST_N, help="requests per trace")
    parser.add_argument("--dramsim3", type=Path, default=DRAMSIM3_BIN,
                        help="dramsim3main binary ('none' skips DRAMsim3)")
    parser.add_argument("--ramulator2", type=Path, default=RAMULATOR2_BIN,
                        help="ramulator2 binary ('none' skips Ramulator 2)")
    parser.add_argument("--cpu", type=int, default=None,
                        help="pin this process and the peers to this CPU (taskset)")
    args = parser.parse_args()
    if args.rounds < 1 or args.n < 1:
        parser.error(f"--rounds {args.rounds} / --n {args.n}: expected positive integers")
    from results_io import save_results  # next to this script

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    traces = per_request_traces(args.n)
    one = per_request_traces(1)["sequential"]
    sim = per_request_simulator()
    sim.simulate({}, one)  # compile (or load the numba cache) before timing
    samples: dict[str, list] = {}
    load: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dram_peers_") as tmp:
        work = Path(tmp)
        peers, peer_notes = make_peers(args, work)
        ds3_files: dict[str, Path] = {}
        for name, chunk in [("startup", one), *traces.items()]:
            stem = name.replace(" ", "_")
            ds3_files[name] = work / f"{stem}.ds3.trace"
            write_trace(ds3_files[name], chunk, format="dramsim3")
            for peer in peers:
                peer.traces[name] = peer.work / f"{stem}.trace"
                peer.write_trace(peer.traces[name], chunk)
        for peer in peers:  # warm up: binary and libraries into the page cache
            peer.run(peer.traces["startup"], args.cpu)
        stats: dict[str, dict[str, dict[str, float]]] = {}
        for _ in range(args.rounds):
            load.append(os.getloadavg()[0])
            for peer in peers:
                cpu, wall, _ = peer.run(peer.traces["startup"], args.cpu)
                samples.setdefault(f"{peer.name}/startup", []).append((cpu, wall))
            for name, chunk in traces.items():
                c0, w0 = time.process_time(), time.perf_counter()
                m = sim.simulate({}, chunk).metrics
                samples.setdefault(f"archgym/{name}", []).append(
                    (time.process_time() - c0, time.perf_counter() - w0))
                c0, w0 = time.process_time(), time.perf_counter()
                sim.simulate({}, open_workload(ds3_files[name], device=sim.device, format="dramsim3"))
                samples.setdefault(f"archgym from file/{name}", []).append(
                    (time.process_time() - c0, time.perf_counter() - w0))
                stats.setdefault(name, {})["archgym"] = {
                    "sim_cycles": m["sim_cycles"], "avg_read_latency_cycles": m["avg_read_latency_cycles"],
                    "requests_done": m["reads"] + m["writes"]}
                for peer in peers:
                    cpu, wall, s = peer.run(peer.traces[name], args.cpu)
                    samples.setdefault(f"{peer.name}/{name}", []).append((cpu, wall))
                    stats[name][peer.name] = s
    load_after = os.getloadavg()[0]

    n = args.n
    print(f"per request, {n:,} requests per trace, {PER_REQUEST_DEVICE} ({PER_REQUEST_MAPPING}), one "
          f"design, one core; k requests per CPU second, median of {args.rounds} interleaved rounds; "
          f"1-min load during the rounds {min(load):.1f}-{max(load):.1f} on {os.cpu_count()} CPUs\n")
    startup = {p.name: med([c for c, _ in samples[f"{p.name}/startup"]]) for p in peers}
    for name, s in startup.items():
        print(f"{name} start-up (1-request trace): {s * 1e3:.1f} ms CPU, subtracted below")
    header = (f"{'trace':<11} {'simulator':<18} {'k req/s CPU':>12} {'gross':>8} {'k req/s wall':>13} "
              f"{'sim cycles':>11} {'mean rd lat':>12} {'done':>8}")
    print("\n" + header)
    print("-" * len(header))
    per_trace: dict[str, Any] = {}
    for name in traces:
        rows: dict[str, dict[str, float]] = {}
        for who in ("archgym", "archgym from file"):
            cpu = med([c for c, _ in samples[f"{who}/{name}"]])
            wall = med([w for _, w in samples[f"{who}/{name}"]])
            rows[who] = {"cpu_s": cpu, "wall_s": wall, "kreq_per_cpu_s": n / cpu / 1e3,
                         "kreq_per_wall_s": n / wall / 1e3, **stats[name]["archgym"]}
        for peer in peers:
            cpu = med([c for c, _ in samples[f"{peer.name}/{name}"]])
            wall = med([w for _, w in samples[f"{peer.name}/{name}"]])
            net = max(cpu - startup[peer.name], 1e-9)
            rows[peer.name] = {"cpu_s": cpu, "wall_s": wall, "startup_cpu_s": startup[peer.name],
                               "kreq_per_cpu_s": n / net / 1e3, "kreq_per_cpu_s_gross": n / cpu / 1e3,
                               "kreq_per_wall_s": n / wall / 1e3, **stats[name][peer.name]}
        for who, r in rows.items():
            gross = f"{r['kreq_per_cpu_s_gross']:>8.0f}" if "kreq_per_cpu_s_gross" in r else f"{'':>8}"
            print(f"{name:<11} {who:<18} {r['kreq_per_cpu_s']:>12.0f} {gross} {r['kreq_per_wall_s']:>13.0f} "
                  f"{r['sim_cycles']:>11.0f} {r['avg_read_latency_cycles']:>12.1f} {r['requests_done']:>8.0f}")
        entry: dict[str, Any] = {"simulators": rows}
        if peers:
            faster = max((p.name for p in peers), key=lambda p: rows[p]["kreq_per_cpu_s"])
            entry["faster_peer"] = faster
            entry["ratio_archgym_vs_faster_peer"] = rows["archgym"]["kreq_per_cpu_s"] / rows[faster]["kreq_per_cpu_s"]
            entry["ratio_archgym_from_file_vs_faster_peer"] = (
                rows["archgym from file"]["kreq_per_cpu_s"] / rows[faster]["kreq_per_cpu_s"])
            print(f"{'':<11} archgym / {faster} (net CPU): {entry['ratio_archgym_vs_faster_peer']:.2f}x "
                  f"in memory, {entry['ratio_archgym_from_file_vs_faster_peer']:.2f}x from the trace file")
        per_trace[name] = entry
    if not peers:
        print("\nno peer binary found: only archgym was timed")
    results = {"n": n, "rounds": args.rounds, "device": PER_REQUEST_DEVICE, "mapping": PER_REQUEST_MAPPING,
               "pinned_cpu": args.cpu, "peers": peer_notes, "ramulator2_config": RAMULATOR2_CONFIG,
               "dramsim3_max_cycles": DRAMSIM3_MAX_CYCLES, "load_1min_per_round": load,
               "load_1min_after": load_after, "samples_cpu_wall_s": samples, "per_trace": per_trace}
    save_results("dram_peers", results)


if __name__ == "__main__":
    main()

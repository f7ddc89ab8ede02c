"""Validate archgym's training simulator against ASTRA-sim and measure its speed.

1. Reference runs: the 340 single-collective ASTRA-sim runs in
   ``<data>/astrasim_reference/collectives.csv`` (congestion-unaware and congestion-aware
   analytical backends, Ring/FullyConnected/Switch 8, ring/direct/halvingDoubling, 1 KiB to
   256 MiB, 4 chunks): error % per run, max |error| per backend/topology/algorithm/collective.
2. Speed: GPT step-time evaluations per second (``TrainingSimulator.evaluate_batch`` on random
   designs of ``archgym/Training-v0``'s design space, one process, one thread), and single
   collective evaluations per second.
3. ASTRA-sim itself, when ``--astrasim-bin DIR`` holds ``AstraSim_Analytical_Congestion_Unaware``
   (built from the commit the reference names): its per-run wall time beside ours, and
   multi-dimensional shapes (16 NPUs) that the reference lacks, run through both.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/training_validation.py [--astrasim-bin DIR]

Raw results go to ``benchmarks/results/training_validation.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from archgym.simulators.training.collectives import NATURAL_ALGORITHM, SystemConfig, collective_time
from archgym.simulators.training.network import Topology
from archgym.simulators.training.step import TrainingSimulator

ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = [Path(os.environ["ARCHGYM_DATA"])] if os.environ.get("ARCHGYM_DATA") else []
_CANDIDATES += [ROOT / "tests" / "data", ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
DEFAULT_DATA = next((c / "astrasim_reference" for c in _CANDIDATES if (c / "astrasim_reference").is_dir()),
                    _CANDIDATES[-1] / "astrasim_reference")
SIZES_LABEL = {1024: "1 KiB", 65536: "64 KiB", 1048576: "1 MiB", 16777216: "16 MiB", 268435456: "256 MiB"}


def reference_rows(data: Path) -> list[dict]:
    rows = []
    with open(data / "collectives.csv") as fh:
        for r in csv.DictReader(fh):
            kind = r["topology"].split("_")[0]
            topo = Topology.from_lists([kind], [int(r["npus"])], [float(r["bandwidth_GBps"])], float(r["latency_ns"]))
            aware = r["backend"] == "analytical_congestion_aware"
            t = collective_time(topo, r["collective"], int(r["size_bytes"]), r["algorithm_per_dim"].split("_"),
                                SystemConfig(congestion_aware=aware))
            ref = float(r["finish_ns_max"])
            rows.append(dict(backend="aware" if aware else "unaware", topology=r["topology"], variant=r["variant"],
                             algorithm=r["algorithm_per_dim"], collective=r["collective"], size_bytes=int(r["size_bytes"]),
                             astrasim_ns=ref, archgym_ns=t, error_pct=100.0 * (t - ref) / ref))
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["backend"], r["topology"], r["algorithm"], r["collective"]), []).append(abs(r["error_pct"]))
    return [dict(backend=k[0], topology=k[1], algorithm=k[2], collective=k[3], runs=len(v), max_abs_error_pct=max(v))
            for k, v in sorted(groups.items())]


def gpt_speed(n: int, repeats: int = 3, seed: int = 0) -> dict:
    from archgym.envs.training import training_design_space

    space = training_design_space(256)
    rng = np.random.default_rng(seed)
    designs = [space.sample(rng) for _ in range(n)]
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        sim = TrainingSimulator(npus=256)  # fresh: no topology or stage cache carried over
        wall, cpu = time.perf_counter(), time.process_time()
        results = sim.evaluate_batch(designs, "gpt3-13b", errors="return")
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    feasible = sum(not isinstance(r, Exception) for r in results)
    # CPU time of this one process: what one core delivers, even on a shared, loaded machine
    return dict(designs=n, feasible=feasible, cpu_seconds=best_cpu, wall_seconds=best_wall, evals_per_s=n / best_cpu,
                evals_per_wall_s=n / best_wall, load_average=os.getloadavg()[0], workload="gpt3-13b", npus=256)


def collective_speed(n: int = 2000) -> float:
    topo = Topology.from_lists(["Ring", "Switch", "Switch"], [4, 8, 8], [100, 100, 50])
    start = time.process_time()
    for i in range(n):
        collective_time(topo, "all_reduce", 1 << (10 + i % 18), None)
    return n / (time.process_time() - start)


# -- ASTRA-sim itself -------------------------------------------------------------------------------

def _run_astrasim(binary: Path, workload: str, system: Path, network: Path, memory: Path) -> tuple[float, float]:
    """``(finish ns, CPU seconds of the ASTRA-sim process)`` (CPU time: robust on a loaded machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [str(binary), f"--workload-configuration={workload}", f"--system-configuration={system}",
         f"--remote-memory-configuration={memory}", f"--network-configuration={network}"],
        capture_output=True, text=True, timeout=600, cwd=tempfile.gettempdir(),  # it writes logs into its cwd
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    finished = [int(x) for x in re.findall(r"sys\[\d+\] finished, (\d+) cycles", proc.stdout + proc.stderr)]
    if proc.returncode or not finished:
        raise RuntimeError(f"ASTRA-sim failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-500:]}")
    return float(max(finished)), wall


MULTI_DIM = [
    (("Ring", "Ring"), (4, 4), (50.0, 50.0)),
    (("Ring", "Switch"), (4, 4), (200.0, 50.0)),
    (("FullyConnected", "Ring"), (4, 4), (100.0, 25.0)),
    (("Switch", "FullyConnected"), (8, 2), (50.0, 100.0)),
    (("Ring", "Ring", "Switch"), (2, 2, 4), (100.0, 50.0, 25.0)),
]


def random_multi_dim(n: int, seed: int = 0) -> list[tuple]:
    """``n`` random 16-NPU networks of 2-3 dimensions with random blocks, bandwidths and algorithms."""
    rng = np.random.default_rng(seed)
    shapes = [(4, 4), (2, 8), (8, 2), (2, 2, 4), (4, 2, 2), (2, 4, 2)]
    out = []
    for _ in range(n):
        shape = shapes[rng.integers(len(shapes))]
        kinds = tuple(str(k) for k in rng.choice(["Ring", "FullyConnected", "Switch"], len(shape)))
        bws = tuple(float(b) for b in rng.choice([25, 50, 100, 200], len(shape)))
        algs = tuple(str(a) for a in rng.choice(["ring", "direct", "halvingDoubling"], len(shape)))
        coll = str(rng.choice(["all_reduce", "all_gather", "reduce_scatter", "all_to_all"]))
        size = int(rng.choice([65536, 1048576, 16777216, 67108864]))
        out.append((kinds, shape, bws, algs, coll, size))
    return out


def astrasim_checks(bin_dir: Path, data: Path, sizes=(1048576, 67108864), random_runs: int = 40) -> dict:
    binary = bin_dir / "AstraSim_Analytical_Congestion_Unaware"
    inputs = data / "inputs"
    memory = inputs / "configs" / "remote_memory_no_expansion.json"
    # per-run cost on reference runs
    walls, ours = [], []
    for coll in ("all_reduce", "all_gather", "reduce_scatter", "all_to_all"):
        size = 1048576
        _, wall = _run_astrasim(binary, str(inputs / "et" / f"{coll}_8npus_{size}B" / coll),
                                inputs / "configs" / "sys_ring.json", inputs / "configs" / "net_Ring_8.yml", memory)
        walls.append(wall)
        topo = Topology.from_lists(["Ring"], [8], [50.0], 500.0)
        start = time.process_time()
        for _ in range(200):
            collective_time(topo, coll, size, ["ring"])
        ours.append((time.process_time() - start) / 200)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = json.loads((inputs / "configs" / "sys_ring.json").read_text())
        cases = [(kinds, shape, bws, None, coll, size) for kinds, shape, bws in MULTI_DIM
                 for coll in ("all_reduce", "all_gather", "reduce_scatter", "all_to_all") for size in sizes]
        cases += random_multi_dim(random_runs)
        for kinds, shape, bws, algs, coll, size in cases:
            rows.append(_compare(binary, tmp, inputs, memory, base, kinds, shape, bws, algs, coll, size))
        aware_rows = []
        aware_bin = bin_dir / "AstraSim_Analytical_Congestion_Aware"
        if aware_bin.exists():  # its congestion-aware backend takes 1-D networks: 16 NPUs, random cases
            rng = np.random.default_rng(1)
            for _ in range(random_runs):
                kind = str(rng.choice(["Ring", "FullyConnected", "Switch"]))
                alg = str(rng.choice(["ring", "direct", "halvingDoubling"]))
                coll = str(rng.choice(["all_reduce", "all_gather", "reduce_scatter", "all_to_all"]))
                size = int(rng.choice([65536, 1048576, 16777216, 67108864]))
                bw = float(rng.choice([25, 50, 100, 200]))
                aware_rows.append(_compare(aware_bin, tmp, inputs, memory, base, (kind,), (16,), (bw,), (alg,), coll,
                                           size, aware=True))
    from scipy.stats import spearmanr

    rand = rows[-random_runs:] if random_runs else []
    rho = float(spearmanr([r["astrasim_ns"] for r in rand], [r["archgym_ns"] for r in rand])[0]) if rand else None
    return dict(astrasim_run_s=float(np.mean(walls)), archgym_collective_s=float(np.mean(ours)),
                speedup=float(np.mean(walls) / np.mean(ours)), multi_dim=rows, random_spearman=rho,
                congestion_aware_16=aware_rows)


def _compare(binary, tmp, inputs, memory, base, kinds, shape, bws, algs, coll, size, aware: bool = False) -> dict:
    """One collective on one multi-dimensional network through ASTRA-sim and through archgym."""
    npus = int(np.prod(shape))
    if algs is None:
        algs = tuple(NATURAL_ALGORITHM[k] for k in kinds)
    these = ["direct" if (a == "halvingDoubling" and coll == "all_to_all") else a for a in algs]
    tag = f"{'_'.join(kinds)}_{'x'.join(map(str, shape))}_{'_'.join(map(str, bws))}_{'_'.join(algs)}"
    net = tmp / f"net_{tag}.yml"
    net.write_text(
        f"topology: [ {', '.join(kinds)} ]\nnpus_count: [ {', '.join(map(str, shape))} ]\n"
        f"bandwidth: [ {', '.join(map(str, bws))} ]\nlatency: [ {', '.join(['500.0'] * len(shape))} ]\n"
    )
    system = dict(base)
    for key in ("all-reduce", "all-gather", "reduce-scatter", "all-to-all"):
        system[f"{key}-implementation"] = ["direct" if (a == "halvingDoubling" and key == "all-to-all") else a for a in algs]
    sys_path = tmp / f"sys_{tag}.json"
    sys_path.write_text(json.dumps(system))
    src = inputs / "et" / f"{coll}_8npus_{size}B" / f"{coll}.0.et"
    if src.exists():
        et_bytes = src.read_bytes()
    else:  # the reference ships five sizes; others: the same ET with comm_size rewritten
        et_bytes = _retarget_et((inputs / "et" / f"{coll}_8npus_1048576B" / f"{coll}.0.et").read_bytes(), size)
    et_dir = tmp / f"et_{coll}_{npus}_{size}"
    et_dir.mkdir(exist_ok=True)
    for rank in range(npus):  # every rank's ET is identical for a single collective
        (et_dir / f"{coll}.{rank}.et").write_bytes(et_bytes)
    ref, wall = _run_astrasim(binary, str(et_dir / coll), sys_path, net, memory)
    t = collective_time(Topology.from_lists(list(kinds), list(shape), list(bws), 500.0), coll, size, these,
                        SystemConfig(congestion_aware=aware))
    return dict(topology="_".join(kinds), shape="x".join(map(str, shape)), bandwidths=list(bws), algorithms=these,
                collective=coll, size_bytes=size, astrasim_ns=ref, archgym_ns=t, error_pct=100 * (t - ref) / ref,
                astrasim_cpu_s=wall)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def _retarget_et(et: bytes, size: int) -> bytes:
    """A reference single-collective ET with its ``comm_size`` attribute set to ``size``.

    An ET file is varint-length-delimited protobuf records: GlobalMetadata, then one Node whose
    last attribute (field 10) is ``comm_size`` with an int64 varint value (field 9).
    """
    meta_len, at = _read_varint(et, 0)
    meta_end = at + meta_len
    node_len, body_at = _read_varint(et, meta_end)
    body = et[body_at: body_at + node_len]
    attr_at = body.index(b"\x0a\x09comm_size") - 2  # tag 0x52 + one-byte length precede the name
    attr = b"\x0a\x09comm_size\x48" + _varint(size)
    body = body[:attr_at] + b"\x52" + _varint(len(attr)) + attr
    return et[:meta_end] + _varint(len(body)) + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--astrasim-bin", type=Path, default=None, help="folder with the ASTRA-sim analytical binaries")
    parser.add_argument("--designs", type=int, default=20000, help="designs for the speed measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "training_validation.json")
    args = parser.parse_args()

    rows = reference_rows(args.data)
    summary = summarise(rows)
    print(f"{'backend':8} {'topology':17} {'algorithm':16} {'collective':15} {'max |err| %':>11}")
    for s in summary:
        print(f"{s['backend']:8} {s['topology']:17} {s['algorithm']:16} {s['collective']:15} {s['max_abs_error_pct']:11.4f}")
    for backend in ("unaware", "aware"):
        errs = [abs(r["error_pct"]) for r in rows if r["backend"] == backend]
        print(f"congestion-{backend}: {len(errs)} runs, max |error| {max(errs):.4f} %, mean {np.mean(errs):.4f} %")

    speed = gpt_speed(args.designs)
    coll_rate = collective_speed()
    print(f"GPT step-time evaluations: {speed['evals_per_s']:,.0f} per CPU-second, {speed['evals_per_wall_s']:,.0f} per wall "
          f"second at load {speed['load_average']:.1f} ({speed['designs']} random designs, {speed['feasible']} feasible, "
          f"{speed['workload']} on {speed['npus']} NPUs, one thread)")
    print(f"single collectives (scalar API): {coll_rate:,.0f} /s")

    astra = None
    bin_dir = args.astrasim_bin or (Path(os.environ["ASTRASIM_BIN"]) if os.environ.get("ASTRASIM_BIN") else None)
    if bin_dir is not None and (bin_dir / "AstraSim_Analytical_Congestion_Unaware").exists():
        astra = astrasim_checks(bin_dir, args.data)
        print(f"ASTRA-sim per run: {astra['astrasim_run_s'] * 1e3:.1f} CPU-ms (8 NPUs, 1 MiB, process included); archgym "
              f"per collective (scalar API): {astra['archgym_collective_s'] * 1e6:.1f} CPU-us -> {astra['speedup']:,.0f}x")
        step_rate = speed["evals_per_s"]
        print(f"GPT step evaluations per CPU-second vs ASTRA-sim single-collective runs per CPU-second: "
              f"{step_rate:,.0f} vs {1 / astra['astrasim_run_s']:,.0f} -> {step_rate * astra['astrasim_run_s']:,.0f}x")
        for r in astra["multi_dim"]:
            print(f"  {r['topology']:28} {r['shape']:6} {r['collective']:15} {r['size_bytes']:>10} "
                  f"astra {r['astrasim_ns']:>12.0f} ours {r['archgym_ns']:>12.0f}  {r['error_pct']:+.2f} %")
        errs = [abs(r["error_pct"]) for r in astra["multi_dim"]]
        print(f"multi-dimensional: {len(errs)} runs, max |error| {max(errs):.2f} %, mean {np.mean(errs):.2f} %, "
              f"within 1 %: {sum(e <= 1 for e in errs)}; Spearman over the random ones: {astra['random_spearman']:.3f}")
        if astra["congestion_aware_16"]:
            for r in astra["congestion_aware_16"]:
                print(f"  aware {r['topology']:15} 16 {r['algorithms'][0]:16} {r['collective']:15} {r['size_bytes']:>10} "
                      f"astra {r['astrasim_ns']:>12.0f} ours {r['archgym_ns']:>12.0f}  {r['error_pct']:+.2f} %")
            errs = [abs(r["error_pct"]) for r in astra["congestion_aware_16"]]
            print(f"congestion-aware, 16 NPUs: {len(errs)} runs, max |error| {max(errs):.2f} %, mean {np.mean(errs):.2f} %, "
                  f"within 10 %: {sum(e <= 10 for e in errs)}")
    else:
        print("ASTRA-sim binaries not given (--astrasim-bin): no per-run timing or multi-dimensional check")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(reference=rows, summary=summary, speed=dict(gpt=speed, collectives_per_s=coll_rate),
                                        astrasim=astra), indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

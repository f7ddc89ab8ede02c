"""Validate the analytical accelerator model against ZigZag and SCALE-Sim.

The analytical model (:class:`~archgym.simulators.accelerator.AnalyticalAccelerator`) is what
the ``Accelerator-v0`` env evaluates by default, at ~10^5 designs/s. What a DSE agent needs from
it is mostly the *ranking* of designs, so the figures of merit are rank correlations (Spearman
rho, Kendall tau, ``scipy.stats``) between its per-layer latency / energy and those of two
independent reference models, plus the median relative error ``|an - ref| / ref``.

1. **vs ZigZag** ``mapping="fixed"`` (same spatial unrolling and, per design and layer, the
   analytical model's own temporal loop order, ``analytical.temporal_loop_order``; ZigZag's
   memory allocator, its latency model with port stalls and on-/off-loading, energy from the
   same per-access table): ``--designs`` designs drawn uniformly from the design space (seeded)
   x 8 representative layers (ResNet-18 3x3 and 1x1/2 convs, MobileNetV2 depthwise and
   pointwise, VGG-16, BERT-base GEMMs). (design, layer) pairs ZigZag rejects as infeasible (its
   hierarchy is inclusive: the GLB must hold what all PE scratchpads hold) are counted and left
   out. The first ``--loma-designs`` designs are also run with ``mapping="loma"`` (ZigZag's
   loop-order search, ``lpf_limit=4``) to show what a mapper changes against the analytical
   order. ``--reuse-from DIR`` takes the LOMA and SCALE-Sim results (and speeds) from an
   earlier run's CSVs instead of rerunning them: neither depends on the analytical model.
2. **vs SCALE-Sim** (cycle-level systolic array; its total cycles incl. DRAM prefetch and its
   compute-only cycles): ``--scalesim-designs`` designs with 8..32 x 8..32 arrays x 7 small
   layers (GEMMs, 14x14 / 7x7 convs, a depthwise conv). ZigZag (fixed) runs on these too. The
   analytical model is compared in both timing modes: the default multicast array and
   ``array="systolic"`` (per-fold fill/drain, no NoC bound, first prefetch and last write-back
   exposed; computed at analysis time, so ``--from-csv`` shows it for an earlier run too).
3. Log-log scatter plots (PNG) and the raw per-(design, layer) results (CSV) go to ``--out``.
4. "Where and why the models disagree", computed from the data: a substitution analysis (put
   ZigZag's own DRAM and GLB<->PE byte counts into the analytical latency / energy formulas and
   see how much of the rank disagreement disappears), traffic ratios by what drives them, the
   worst cases, and SCALE-Sim's per-fold fill/drain and prefetch; then the per-layer evaluation
   speed of every back-end measured in this run.

Per-layer figures are for one instance of a layer (all groups, ``repeat`` = 1). The clock only
scales on-chip energy, identically in all back-ends; it is sampled like the other parameters.

Run: ``nice python benchmarks/accelerator_validation.py`` (11 minutes on a shared 2-core machine:
ZigZag fixed ~40 s, LOMA ~5 min, SCALE-Sim ~5 min; ``--processes`` child processes run the
ZigZag / SCALE-Sim jobs; LOMA slows to ~20 min when the other core is busy). ``--from-csv DIR``
redoes the analysis and plots from the CSVs of an earlier run without simulating.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from archgym.simulator import SimulationError  # noqa: E402
from archgym.simulators.accelerator import (  # noqa: E402
    GLB_BANK_BYTES_PER_CYCLE, PARAMETER_VALUES, AnalyticalAccelerator, Layer, Workload, load_workload,
)
from archgym.simulators.accelerator.energy import noc_pj_per_byte, sram_pj_per_byte, voltage_scale  # noqa: E402

PARAMS = tuple(PARAMETER_VALUES)
DF_SHORT = {"weight_stationary": "WS", "output_stationary": "OS", "input_stationary": "IS"}
TARGET_RHO = 0.9
LOMA_LPF_LIMIT = 4

#: (label, network, layer name) for the ZigZag comparison
ZIGZAG_LAYERS: list[tuple[str, str, str]] = [
    ("r18.l2.conv2 3x3 128>128 28x28", "resnet18", "layer2.0.conv2"),
    ("r18.l4.conv2 3x3 512>512 7x7", "resnet18", "layer4.0.conv2"),
    ("r18.l3.down 1x1/2 128>256 14x14", "resnet18", "layer3.0.downsample"),
    ("mbv2.b4.dw 3x3 dw192 28x28", "mobilenetv2", "block4.depthwise"),
    ("mbv2.b7.expand 1x1 64>384 14x14", "mobilenetv2", "block7.expand"),
    ("vgg16.conv2_1 3x3 64>128 112x112", "vgg16", "conv2_1"),
    ("bert.qkv 128x768x768", "bert-base", "qkv_projection"),
    ("bert.attn_scores 128x128x64", "bert-base", "attention_scores"),
]
#: small layers SCALE-Sim simulates in seconds (GEMM M x K . K x N); a str names a network layer
SCALESIM_LAYERS: list[tuple[str, Layer | tuple[str, str]]] = [
    ("bert.attn_scores 128x128x64", ("bert-base", "attention_scores")),  # also in the ZigZag set
    ("gemm M64 N64 K64", Layer.gemm("gemm64", 64, 64, 64)),
    ("gemm M64 N256 K128", Layer.gemm("gemm64x256x128", 64, 256, 128)),
    ("conv 3x3 32>32 14x14", Layer.conv("conv14", 14, 14, 3, 3, 32, 32)),
    ("conv 3x3 64>64 7x7", Layer.conv("conv7", 7, 7, 3, 3, 64, 64)),
    ("pw 1x1 64>64 14x14", Layer.conv("pw14", 14, 14, 1, 1, 64, 64)),
    ("mbv2.b7.dw 3x3 dw384 14x14", ("mobilenetv2", "block7.depthwise")),
]
#: SCALE-Sim's run time grows with the cycles it simulates (~ MACs / PEs): modest arrays only
SCALESIM_ARRAY_SIZES = (8, 16, 32)
LAYER_FIELDS = ("K", "C", "OY", "OX", "FY", "FX", "G", "stride")


def network_layer(network: str, name: str) -> Layer:
    layer = next(l for l in load_workload(network).layers if l.name == name)
    return dataclasses.replace(layer, repeat=1)


def single(label: str, layer: Layer) -> Workload:
    return Workload.from_layers(label, [dataclasses.replace(layer, repeat=1)])


def sample_designs(n: int, rng: np.random.Generator, overrides: dict[str, tuple] | None = None) -> list[dict]:
    """``n`` distinct designs drawn uniformly from the design space (``overrides`` narrows it)."""
    space = {**PARAMETER_VALUES, **(overrides or {})}
    designs, seen = [], set()
    while len(designs) < n:
        d = {k: v[int(rng.integers(len(v)))] for k, v in space.items()}
        d = {k: (x if isinstance(x, str) else int(x)) for k, x in d.items()}
        if tuple(d.values()) not in seen:
            seen.add(tuple(d.values()))
            designs.append(d)
    return designs


# -- running the back-ends -----------------------------------------------------------------
def analytical_rows(designs: list[dict], layers: list[tuple[str, Layer]]) -> tuple[list[dict], dict[str, dict]]:
    """Per-(design, layer) analytical figures, and its speed per layer (single calls and batched)."""
    sim = AnalyticalAccelerator()
    rows, speed = [], {}
    for label, layer in layers:
        wl = single(label, layer)
        sim.evaluate_arrays(designs[:2], wl)  # build the layer table once
        t0 = time.perf_counter()
        batch = sim.evaluate_arrays(designs, wl)
        t_batch = time.perf_counter() - t0
        n_single = min(len(designs), 200)
        t0 = time.perf_counter()
        for d in designs[:n_single]:
            try:
                sim.evaluate(d, wl)
            except SimulationError:
                pass
        t_single = time.perf_counter() - t0
        speed[label] = {"single": n_single / t_single, "batch": len(designs) / t_batch}
        for i, d in enumerate(designs):
            row = {"design": i, **d, "layer": label, "macs": float(layer.macs),
                   **{f"L_{f}": getattr(layer, f) for f in LAYER_FIELDS}}
            if not batch.feasible[i]:
                row.update(an_ok=False, an_error=batch.errors[i])
                rows.append(row)
                continue
            b = sim.breakdown(d, wl)
            lay = b.layers[0]
            bounds = {"compute": lay["compute_cycles"], "noc": lay["noc_cycles"], "glb": lay["glb_cycles"],
                      "dram": lay["dram_cycles"]}
            row.update(
                an_ok=True, an_cycles=lay["cycles"], an_energy=b.metrics["energy_pj"],
                an_compute=lay["compute_cycles"], an_noc_cycles=lay["noc_cycles"], an_glb_cycles=lay["glb_cycles"],
                an_dram_cycles=lay["dram_cycles"], an_bound=max(bounds, key=bounds.get),
                an_spatial_util=lay["spatial_utilization"], an_noc_bytes=lay["noc_bytes"],
                an_glb_bytes=lay["glb_bytes"], an_dram_bytes=lay["dram_bytes_layer"], an_dram_pj=b.energy_pj["dram"],
                an_onchip_pj=b.metrics["energy_pj"] - b.energy_pj["dram"],
            )
            rows.append(row)
    return rows, speed


def run_jobs(jobs: list[tuple[int, str]], call: Callable[[int, str], dict], threads: int, what: str,
             prefix: str) -> dict[tuple[int, str], dict]:
    """Run ``call(design, layer)`` for every job on ``threads`` threads; each call's wall time recorded."""
    results: dict[tuple[int, str], dict] = {}
    start = last = time.perf_counter()

    def one(job: tuple[int, str]) -> tuple[tuple[int, str], dict]:
        t0 = time.perf_counter()
        try:
            out = {"status": "ok", **call(*job)}
        except SimulationError as exc:
            text = str(exc)
            out = {"status": "infeasible" if "infeasible" in text else "error", "error": text[:300]}
        out["time_s"] = time.perf_counter() - t0
        return job, {f"{prefix}_{k}": v for k, v in out.items()}

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for n, (job, out) in enumerate(pool.map(one, jobs), 1):
            results[job] = out
            now = time.perf_counter()
            if now - last > 30:
                last = now
                print(f"  {what}: {n}/{len(jobs)} jobs, {now - start:.0f} s", file=sys.stderr, flush=True)
    return results


def zigzag_rows(designs: list[dict], layers: list[tuple[str, Layer]], processes: int, timeout_s: float,
                mapping: str, prefix: str) -> dict[tuple[int, str], dict]:
    from archgym.simulators.accelerator.zigzag_backend import ZigZagAccelerator

    sim = ZigZagAccelerator(mapping, processes=processes, timeout_s=timeout_s, lpf_limit=LOMA_LPF_LIMIT)
    workloads = {label: single(label, layer) for label, layer in layers}
    try:
        # start the child processes outside the timed jobs (a design and layer not in the sample)
        sim.evaluate({**designs[0], "pe_rows": 3, "pe_cols": 3}, single("warm", Layer.gemm("warm", 8, 8, 8)))

        def call(i: int, label: str) -> dict:
            r = sim.layer_report(designs[i], workloads[label])[0]
            return {"cycles": r["cycles"], "ideal": r["ideal_cycles"], "energy": r["energy_pj"],
                    "dram_bytes": r["dram_bytes"], "noc_bytes": r["noc_bytes"], "dram_pj": r["dram_pj"],
                    "onchip_pj": r["energy_pj"] - r["dram_pj"], "spatial_util": r["spatial_utilization"]}

        jobs = [(i, label) for i in range(len(designs)) for label, _ in layers]
        return run_jobs(jobs, call, processes, f"ZigZag ({mapping})", prefix)
    finally:
        sim.close()


def scalesim_rows(designs: list[dict], layers: list[tuple[str, Layer]], processes: int, timeout_s: float
                  ) -> dict[tuple[int, str], dict]:
    from archgym.simulators.accelerator.scalesim_backend import ScaleSimAccelerator

    sim = ScaleSimAccelerator(processes=processes, timeout_s=timeout_s)
    workloads = {label: single(label, layer) for label, layer in layers}
    try:
        sim.evaluate({**designs[0], "pe_rows": 3, "pe_cols": 3}, single("warm", Layer.gemm("warm", 4, 4, 4)))

        def call(i: int, label: str) -> dict:
            r = sim.layer_report(designs[i], workloads[label])[0]
            g = r["groups"]  # SCALE-Sim simulates one group; the back-end runs the G groups one after another
            return {"cycles": r["overall_cycles"] * g, "array_cycles": r["total_cycles"] * g,
                    "compute": r["compute_cycles"] * g, "stall": r["stall_cycles"] * g,
                    "dram_bytes": r["dram_bytes"] * g, "mapping_eff": r["mapping_efficiency"]}

        # the slowest jobs (small arrays, big layers) first, so the workers finish together
        layer_of = dict(layers)
        jobs = sorted(((i, label) for i in range(len(designs)) for label, _ in layers),
                      key=lambda j: -layer_of[j[1]].macs / layer_of[j[1]].G
                      / (designs[j[0]]["pe_rows"] * designs[j[0]]["pe_cols"]))
        return run_jobs(jobs, call, processes, "SCALE-Sim", "ss")
    finally:
        sim.close()


def merge(an_rows: list[dict], *results: dict[tuple[int, str], dict]) -> pd.DataFrame:
    rows = []
    for row in an_rows:
        row = dict(row)
        for res in results:
            row.update(res.get((row["design"], row["layer"]), {}))
        rows.append(row)
    return pd.DataFrame(rows)


# -- statistics ----------------------------------------------------------------------------
def with_columns_from(df: pd.DataFrame, path: Path, prefix: str) -> pd.DataFrame:
    """``df`` with the ``{prefix}_*`` columns of an earlier run's CSV, matched on design parameters and layer.

    For back-ends whose results do not depend on the analytical model (LOMA, SCALE-Sim): a rerun
    after a change of the analytical model need not repeat them.
    """
    earlier = pd.read_csv(path)
    keys = [*PARAMS, "layer"]
    columns = [c for c in earlier.columns if c.startswith(f"{prefix}_")]
    taken = earlier[keys + columns].dropna(subset=[f"{prefix}_status"])
    merged = df.drop(columns=[c for c in df.columns if c.startswith(f"{prefix}_")]).merge(taken, on=keys, how="left")
    print(f"{prefix}_* columns for {merged[f'{prefix}_status'].notna().sum()} of {len(merged)} pairs taken from {path}",
          file=sys.stderr)
    return merged


def rank_stats(a, b) -> dict[str, float]:
    """Spearman rho, Kendall tau, median |a - b| / b and the median ratio a / b (geometric)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b) & (b > 0) & (a > 0)
    a, b = a[ok], b[ok]
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return {"n": len(a), "rho": np.nan, "tau": np.nan, "medrel": np.nan, "ratio": np.nan}
    return {"n": len(a), "rho": float(stats.spearmanr(a, b).statistic),
            "tau": float(stats.kendalltau(a, b).statistic), "medrel": float(np.median(np.abs(a - b) / b)),
            "ratio": float(np.exp(np.median(np.log(a / b))))}


W = 34


def header(first: str = "layer / group", width: int = W) -> str:
    h = f"{first:<{width}} {'n':>5} {'rho':>7} {'tau':>7} {'med|err|':>9} {'an/ref':>8}"
    return h + "\n" + "-" * len(h)


def fmt_row(name: str, s: dict[str, float], width: int = W) -> str:
    return (f"{name:<{width}} {s['n']:>5} {s['rho']:>7.3f} {s['tau']:>7.3f} {100 * s['medrel']:>8.1f}% "
            f"{s['ratio']:>8.2f}")


def indent(text: str, n: int = 2) -> str:
    return "\n".join(" " * n + line for line in text.split("\n"))


def comparison_table(df: pd.DataFrame, an: str, ref: str, title: str, layers: list[str]) -> dict:
    """Print pooled and per-layer rank statistics of column ``an`` vs column ``ref``."""
    summary: dict = {}
    print(f"\n  {title}")
    print(indent(header()))
    summary["all"] = rank_stats(df[an], df[ref])
    print(indent(fmt_row("all (design, layer) pairs", summary["all"])))
    rhos = []
    for label in layers:
        sub = df[df["layer"] == label]
        summary[label] = s = rank_stats(sub[an], sub[ref])
        rhos.append(s["rho"])
        print(indent(fmt_row(label, s)))
    summary["median_layer_rho"] = float(np.nanmedian(rhos))
    summary["min_layer_rho"] = float(np.nanmin(rhos))
    summary["median_layer_tau"] = float(np.nanmedian([summary[l]["tau"] for l in layers]))
    print(f"  per-layer (across designs) rho: median {summary['median_layer_rho']:.3f}, "
          f"min {summary['min_layer_rho']:.3f}")
    return summary


def grouped(df: pd.DataFrame, a: str, b: str, by: str, order=None, title: str | None = None) -> None:
    print(indent(header(title or by)))
    groups = df.groupby(by, sort=True, observed=True)
    for key in (order if order is not None else [k for k, _ in groups]):
        if key in groups.groups:
            print(indent(fmt_row(str(key), rank_stats(groups.get_group(key)[a], groups.get_group(key)[b]))))


def with_derived(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["df"] = df["dataflow"].map(DF_SHORT)
    df["pes"] = df["pe_rows"] * df["pe_cols"]
    df["pe_bucket"] = pd.cut(df["pes"], [0, 64, 256, 1024, 4096, 16384],
                             labels=["<=64", "65-256", "257-1k", "1k-4k", "4k-16k"]).astype(str)
    df["kind"] = np.select([df["L_G"] > 1, (df["L_FY"] > 1) & (df["L_OY"] > 1), df["L_OY"] == 1],
                           ["depthwise", "3x3 conv", "GEMM"], "1x1 conv")
    # what one byte costs in each model's energy formula (the table both models share)
    v = voltage_scale(df["clock_mhz"].to_numpy(float))
    df["e_noc"] = noc_pj_per_byte(df["pes"].to_numpy(float)) * v
    df["e_glb"] = sram_pj_per_byte(df["glb_kib"].to_numpy(float) * 1024 / df["glb_banks"].to_numpy(float)) * v
    # share of the GLB the PE scratchpads add up to (ZigZag's hierarchy is inclusive)
    df["rf_over_glb"] = df["pes"] * df["rf_bytes"] / (df["glb_kib"] * 1024.0)
    return df


def substituted(df: pd.DataFrame, p: str) -> pd.DataFrame:
    """The analytical latency / energy recomputed with ZigZag's (prefix ``p``) DRAM and/or GLB<->PE bytes.

    Uses the analytical model's own formulas (assumptions 6 and 7 of :mod:`.analytical`): latency =
    max(compute, NoC bytes / noc_bw, GLB bytes / (16 B x banks), DRAM bytes / dram_bw), energy terms
    = bytes x the shared per-byte energies; GLB bytes = NoC bytes + DRAM bytes.
    """
    out = pd.DataFrame(index=df.index)
    d_dram = df[f"{p}_dram_bytes"] - df["an_dram_bytes"]
    d_noc = df[f"{p}_noc_bytes"] - df["an_noc_bytes"]
    glb_bw = GLB_BANK_BYTES_PER_CYCLE * df["glb_banks"]
    for name, use_dram, use_noc in (("dram", True, False), ("noc", False, True), ("both", True, True)):
        noc = df["an_noc_bytes"] + (d_noc if use_noc else 0)
        dram = df["an_dram_bytes"] + (d_dram if use_dram else 0)
        out[f"lat_{name}"] = np.maximum.reduce([df["an_compute"], noc / df["noc_bw"], (noc + dram) / glb_bw,
                                                dram / df["dram_bw"]])
        energy = df["an_energy"].copy()
        if use_dram:
            energy += df[f"{p}_dram_pj"] - df["an_dram_pj"] + d_dram * df["e_glb"]
        if use_noc:
            energy += d_noc * (df["e_noc"] + df["e_glb"])
        out[f"en_{name}"] = energy
    return out


# -- analysis ------------------------------------------------------------------------------
def substitution_table(df: pd.DataFrame, p: str, name: str, layers: list[str]) -> None:
    sub = substituted(df, p)
    full = pd.concat([df, sub], axis=1)
    print(f"\n  Substitution vs ZigZag {name}: per-layer Spearman rho of the analytical figure with ZigZag's own\n"
          f"  DRAM bytes, GLB<->PE (NoC) bytes, or both put into the analytical formulas (nothing else changed);\n"
          f"  last column: median analytical/ZigZag ratio with both substituted.")
    h = (f"  {'layer':<{W}} {'lat':>6} {'+DRAM':>6} {'+NoC':>6} {'+both':>6} {'ratio':>6} |"
         f" {'energy':>6} {'+DRAM':>6} {'+NoC':>6} {'+both':>6} {'ratio':>6}")
    print(h + "\n  " + "-" * (len(h) - 2))
    for label in layers + ["all pairs"]:
        s = full if label == "all pairs" else full[full["layer"] == label]
        if len(s) < 3:
            continue
        r = lambda a, b: rank_stats(s[a], s[b])["rho"]  # noqa: E731
        lat = [r("an_cycles", f"{p}_cycles")] + [r(f"lat_{k}", f"{p}_cycles") for k in ("dram", "noc", "both")]
        en = [r("an_energy", f"{p}_energy")] + [r(f"en_{k}", f"{p}_energy") for k in ("dram", "noc", "both")]
        lr = np.exp(np.median(np.log(s["lat_both"] / s[f"{p}_cycles"])))
        er = np.exp(np.median(np.log(s["en_both"] / s[f"{p}_energy"])))
        print(f"  {label:<{W}} " + " ".join(f"{x:>6.3f}" for x in lat) + f" {lr:>6.2f} | "
              + " ".join(f"{x:>6.3f}" for x in en) + f" {er:>6.2f}")


def traffic_tables(z: pd.DataFrame, loma: pd.DataFrame | None) -> None:
    print("\n  GLB<->PE (NoC) bytes, median analytical / ZigZag by layer kind and dataflow "
          "(fixed order; LOMA on its subset):")
    print(f"  {'kind':<10} {'WS':>12} {'OS':>12} {'IS':>12}")
    for kind in ("3x3 conv", "1x1 conv", "GEMM", "depthwise"):
        cells = []
        for d in ("WS", "OS", "IS"):
            s = z[(z["kind"] == kind) & (z["df"] == d)]
            text = f"{np.median(s['an_noc_bytes'] / s['zz_noc_bytes']):.2f}" if len(s) else "-"
            if loma is not None:
                sl = loma[(loma["kind"] == kind) & (loma["df"] == d)]
                text += f"/{np.median(sl['an_noc_bytes'] / sl['zl_noc_bytes']):.2f}" if len(sl) else "/-"
            cells.append(text)
        print(f"  {kind:<10} {cells[0]:>12} {cells[1]:>12} {cells[2]:>12}")

    print("\n  DRAM bytes: share of pairs where ZigZag moves > 1.5x the analytical model's, by GLB size "
          "(fixed / LOMA),\n  and by how much of the GLB the PE scratchpads add up to (PEs x rf_bytes / GLB):")
    line = []
    for kib in sorted(z["glb_kib"].unique()):
        s = z[z["glb_kib"] == kib]
        text = f"{kib}K {100 * (s['zz_dram_bytes'] > 1.5 * s['an_dram_bytes']).mean():.0f}%"
        if loma is not None:
            sl = loma[loma["glb_kib"] == kib]
            if len(sl):
                text += f"/{100 * (sl['zl_dram_bytes'] > 1.5 * sl['an_dram_bytes']).mean():.0f}%"
        line.append(text)
    print("    GLB: " + ", ".join(line))
    bins = pd.cut(z["rf_over_glb"], [0, 0.05, 0.25, 0.5, 1.0, np.inf], labels=["<5%", "5-25%", "25-50%",
                                                                                "50-100%", ">100%"])
    line = [f"{b} {100 * (s['zz_dram_bytes'] > 1.5 * s['an_dram_bytes']).mean():.0f}% (n={len(s)})"
            for b, s in z.groupby(bins, observed=True)]
    print("    scratchpads/GLB (fixed): " + ", ".join(line))


def analyse_zigzag(z: pd.DataFrame, loma: pd.DataFrame | None, layers: list[str]) -> None:
    print("\n  A1. Rank agreement comes back once ZigZag's traffic counts are used: the per-byte energies and the")
    print("      latency formula are not where the models differ, the counts of bytes moved are.")
    substitution_table(z, "zz", "(fixed loop order)", layers)
    if loma is not None:
        substitution_table(loma, "zl", f"(LOMA search, lpf_limit={LOMA_LPF_LIMIT})", layers)

    print("\n  A2. Where the traffic counts differ")
    traffic_tables(z, loma)
    gap_noc = (z["zz_noc_bytes"] - z["an_noc_bytes"]) * (z["e_noc"] + z["e_glb"])
    gap_dram = z["zz_dram_pj"] - z["an_dram_pj"]
    print(f"\n  Energy gap ZigZag(fixed) - analytical: median {np.median(z['zz_energy'] - z['an_energy']):.3g} pJ; "
          f"the NoC/GLB-traffic term is the larger part in {100 * (gap_noc.abs() > gap_dram.abs()).mean():.0f} % "
          f"of pairs, DRAM in the rest.")

    print("\n  A3. Latency vs ZigZag (fixed), grouped")
    grouped(z, "an_cycles", "zz_cycles", "df", order=["WS", "OS", "IS"], title="dataflow")
    print()
    grouped(z, "an_cycles", "zz_cycles", "an_bound", order=["compute", "noc", "glb", "dram"],
            title="analytical bound")
    print()
    grouped(z, "an_cycles", "zz_cycles", "pe_bucket", order=["<=64", "65-256", "257-1k", "1k-4k", "4k-16k"],
            title="PEs")
    comp = z[z["an_bound"] == "compute"]
    print(f"  where the analytical model is compute-bound ({len(comp)} pairs) ZigZag(fixed) takes a median "
          f"{np.median(comp['zz_cycles'] / comp['zz_ideal']):.2f}x its ideal cycles"
          + (f" (LOMA: {np.median(loma[loma['an_bound'] == 'compute']['zl_cycles'] / loma[loma['an_bound'] == 'compute']['zl_ideal']):.2f}x)"  # noqa: E501
             if loma is not None else "")
          + "; analytical: 1.00x by construction (transfers overlap compute).")

    log_err = np.log(z["an_cycles"] / z["zz_cycles"])
    total = float(((log_err - log_err.mean()) ** 2).sum())
    shares = []
    for name, key in (("layer x dataflow", z["layer"] + z["df"]), ("noc_bw", z["noc_bw"]),
                      ("glb_banks", z["glb_banks"]), ("dram_bw", z["dram_bw"]), ("PEs", z["pe_bucket"]),
                      ("rf_bytes", z["rf_bytes"]), ("glb_kib", z["glb_kib"])):
        means = log_err.groupby(key.values).transform("mean")
        shares.append(f"{name} {100 * (1 - float(((log_err - means) ** 2).sum()) / total):.0f}%")
    print("  variance of log(an/zz) latency explained by one factor at a time: " + ", ".join(shares))

    cols = ["layer", "df", "pe_rows", "pe_cols", "rf_bytes", "glb_kib", "glb_banks", "noc_bw", "dram_bw", "an_bound",
            "an_cycles", "zz_cycles", "zz_ideal", "an_noc_bytes", "zz_noc_bytes", "an_dram_bytes", "zz_dram_bytes"]
    worst = z.assign(err=np.abs(log_err)).sort_values("err", ascending=False).head(10)[cols]
    print("\n  Largest latency disagreements vs ZigZag (fixed), |log(an/zz)|:")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.3g}".format):
        print(indent(worst.to_string(index=False)))
    worst = z.assign(err=np.abs(np.log(z["an_energy"] / z["zz_energy"]))).sort_values("err", ascending=False)
    cols = ["layer", "df", "pe_rows", "pe_cols", "rf_bytes", "glb_kib", "glb_banks", "rf_over_glb", "an_energy",
            "zz_energy", "an_dram_bytes", "zz_dram_bytes", "an_noc_bytes", "zz_noc_bytes"]
    print("\n  Largest energy disagreements vs ZigZag (fixed):")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.3g}".format):
        print(indent(worst.head(8)[cols].to_string(index=False)))


def with_systolic(df: pd.DataFrame) -> pd.DataFrame:
    """Add the analytical model's systolic timing mode (``AnalyticalAccelerator(array="systolic")``,
    SCALE-Sim's first-order model: per fold ``2*rows + cols + T - 2``, OS ``rows + cols + T - 2``;
    im2col mapping, first prefetch and last write-back not overlapped) for every (design, layer) row:
    ``sy_cycles``, ``sy_compute``, ``sy_prefetch``, ``sy_writeback``.
    Computed at analysis time (milliseconds), so it also applies to the CSVs of an earlier run."""
    sim = AnalyticalAccelerator(array="systolic")
    out: dict[str, list[float]] = {"sy_cycles": [], "sy_compute": [], "sy_prefetch": [], "sy_writeback": []}
    for _, r in df.iterrows():
        layer = Layer(r["layer"], "conv", **{f: int(r[f"L_{f}"]) for f in LAYER_FIELDS})
        lay = sim.breakdown({p: r[p] for p in PARAMS}, single(r["layer"], layer)).layers[0]
        for key, name in (("sy_cycles", "cycles"), ("sy_compute", "compute_cycles"),
                          ("sy_prefetch", "prefetch_cycles"), ("sy_writeback", "writeback_cycles")):
            out[key].append(lay[name])
    return df.assign(**out)


def analyse_scalesim(s: pd.DataFrame) -> None:
    s = s.copy()
    s["ideal"] = s["macs"] / s["pes"]
    s["systolic"] = s["sy_compute"]
    print("\n  Cycles / ideal (MACs / PEs), medians by dataflow:")
    print(f"  {'dataflow':<9} {'n':>4} {'analytical':>11} {'SS compute':>11} {'SS array':>9} {'SS total':>9}"
          f" {'prefetch+drain share':>21} {'stall share':>12}")
    for d in ("WS", "OS", "IS"):
        g = s[s["df"] == d]
        if not len(g):
            continue
        pre = (g["ss_cycles"] - g["ss_array_cycles"]) / g["ss_cycles"]
        print(f"  {d:<9} {len(g):>4} {np.median(g['an_cycles'] / g['ideal']):>11.2f} "
              f"{np.median(g['ss_compute'] / g['ideal']):>11.2f} {np.median(g['ss_array_cycles'] / g['ideal']):>9.2f} "
              f"{np.median(g['ss_cycles'] / g['ideal']):>9.2f} {100 * np.median(pre):>20.0f}% "
              f"{100 * np.median(g['ss_stall'] / g['ss_array_cycles']):>11.1f}%")
    sc = rank_stats(s["systolic"], s["ss_compute"])
    print(f"\n  SCALE-Sim's compute cycles follow the systolic formula (array='systolic': per fold 2*rows + cols\n"
          f"  + T - 2, OS rows + cols + T - 2, filter window on the rows for WS/IS): rho {sc['rho']:.3f}, median "
          f"ratio formula/SCALE-Sim {sc['ratio']:.2f}, "
          f"median |err| {100 * sc['medrel']:.0f} %.\n"
          f"  The analytical model differs from it in two documented ways: (i) fill/drain hidden (no "
          f"2*Sr + Sc - 2 per fold),\n  (ii) WS/IS put the input channels C on the rows and the FYxFX taps in time "
          f"(SCALE-Sim: C*FY*FX on the rows).")
    window = s["L_C"] * s["L_FY"] * s["L_FX"]
    pixels = s["L_OY"] * s["L_OX"]
    sr = np.minimum(np.select([s["df"] == "OS"], [pixels], window), s["pe_rows"])
    sc = np.minimum(np.select([s["df"] == "IS"], [pixels], s["L_K"]), s["pe_cols"])
    t = np.select([s["df"] == "WS", s["df"] == "OS"], [pixels, window], s["L_K"])
    fill = (2 * sr + sc - 2) / (2 * sr + sc - 2 + t)
    s["fill_share"] = pd.cut(fill, [0, 0.1, 0.25, 0.5, 0.75, 1.0],
                             labels=["<10%", "10-25%", "25-50%", "50-75%", ">75%"]).astype(str)
    print("  analytical vs SCALE-Sim compute cycles by the fill/drain share of a fold, (2*Sr + Sc - 2) / (2*Sr + Sc "
          "- 2 + T):")
    grouped(s, "an_compute", "ss_compute", "fill_share", order=["<10%", "10-25%", "25-50%", "50-75%", ">75%"],
            title="fill/drain share per fold")
    print("  analytical / SCALE-Sim compute cycles, median by layer and dataflow:")
    print(f"  {'layer':<{W}} {'WS':>6} {'OS':>6} {'IS':>6}")
    for label, g in s.groupby("layer", sort=False):
        cells = [np.median(g[g["df"] == d]["an_compute"] / g[g["df"] == d]["ss_compute"])
                 if (g["df"] == d).any() else np.nan for d in ("WS", "OS", "IS")]
        print(f"  {label:<{W}} " + " ".join(f"{c:>6.2f}" for c in cells))
    print("\n  vs SCALE-Sim total cycles, by DRAM bandwidth (SCALE-Sim splits it over 3 interfaces and does not\n"
          "  overlap the first prefetch or the last write-back with compute; the analytical model overlaps all):")
    grouped(s.assign(bw=np.where(s["dram_bw"] <= 16, "dram_bw <= 16", "dram_bw >= 32")), "an_cycles", "ss_cycles",
            "bw", title="DRAM bandwidth")
    ok = s[s["zz_status"] == "ok"]
    zs = rank_stats(ok["zz_cycles"], ok["ss_cycles"])
    az = rank_stats(ok["an_cycles"], ok["ss_cycles"])
    zc = rank_stats(ok["zz_cycles"], ok["ss_compute"])
    print(f"\n  reference vs reference on the same {zs['n']} pairs: ZigZag(fixed) vs SCALE-Sim total cycles rho "
          f"{zs['rho']:.3f} (vs its compute cycles {zc['rho']:.3f}); analytical vs SCALE-Sim total {az['rho']:.3f}")
    err = np.abs(np.log(s["an_cycles"] / s["ss_cycles"]))
    cols = ["layer", "df", "pe_rows", "pe_cols", "glb_kib", "dram_bw", "an_bound", "an_cycles", "an_compute",
            "ss_cycles", "ss_array_cycles", "ss_compute", "ss_stall", "systolic"]
    print("\n  Largest disagreements vs SCALE-Sim total cycles:")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.3g}".format):
        print(indent(s.assign(err=err).sort_values("err", ascending=False).head(8)[cols].to_string(index=False)))


def findings(z: pd.DataFrame, loma: pd.DataFrame | None, s: pd.DataFrame | None, layers: list[str]) -> None:
    """The disagreement analysis in a few sentences, every number computed from this run's data."""
    def layer_rho(df: pd.DataFrame, a: str, b: str) -> float:
        return float(np.nanmedian([rank_stats(df[df["layer"] == l][a], df[df["layer"] == l][b])["rho"]
                                   for l in layers if (df["layer"] == l).sum() >= 3]))

    print("\nC. Summary of the causes (numbers from this run)")
    sub = pd.concat([z, substituted(z, "zz")], axis=1)
    print(f"  1. Traffic counts, not unit energies or the latency formula: with ZigZag(fixed)'s own DRAM and "
          f"GLB<->PE byte counts\n     put into the analytical formulas, the per-layer rho median goes from "
          f"{layer_rho(z, 'an_cycles', 'zz_cycles'):.3f} to {layer_rho(sub, 'lat_both', 'zz_cycles'):.3f} (latency) "
          f"and from {layer_rho(z, 'an_energy', 'zz_energy'):.3f} to {layer_rho(sub, 'en_both', 'zz_energy'):.3f} "
          f"(energy).")
    if loma is not None:
        same = z[z["design"].isin(loma["design"])]
        print(f"  2. A mapper's choices vs the analytical order: on the same {loma['design'].nunique()} designs, "
              f"per-layer rho median\n     latency {layer_rho(same, 'an_cycles', 'zz_cycles'):.3f} (fixed) -> "
              f"{layer_rho(loma, 'an_cycles', 'zl_cycles'):.3f} (LOMA), energy "
              f"{layer_rho(same, 'an_energy', 'zz_energy'):.3f} -> {layer_rho(loma, 'an_energy', 'zl_energy'):.3f}; "
              f"median |err| latency {100 * rank_stats(same['an_cycles'], same['zz_cycles'])['medrel']:.0f} % -> "
              f"{100 * rank_stats(loma['an_cycles'], loma['zl_cycles'])['medrel']:.0f} %, energy "
              f"{100 * rank_stats(same['an_energy'], same['zz_energy'])['medrel']:.0f} % -> "
              f"{100 * rank_stats(loma['an_energy'], loma['zl_energy'])['medrel']:.0f} %.")
        print(f"     ZigZag's fixed order is the analytical model's own (temporal_loop_order), so 'fixed' compares cost "
              f"models under one\n     mapping; LOMA searches the loop orders and its mappings move a median "
              f"{np.nanmedian(loma['zl_noc_bytes'] / loma['zz_noc_bytes']):.2f}x "
              f"the GLB<->PE bytes of the analytical order\n     and {np.median(loma['zl_cycles'] / loma['zl_ideal']):.2f}x "
              f"their ideal cycles (fixed: {np.median(same['zz_cycles'] / same['zz_ideal']):.2f}x).")
    conv = z[z["kind"] == "3x3 conv"]
    flat = z[z["kind"].isin(["1x1 conv", "GEMM"])]
    print(f"  3. GLB<->PE traffic under the same order: median analytical / ZigZag-fixed bytes "
          f"{np.median(conv['an_noc_bytes'] / conv['zz_noc_bytes']):.2f} for 3x3 convs and "
          f"{np.median(flat['an_noc_bytes'] / flat['zz_noc_bytes']):.2f} for 1x1 convs / GEMMs (both models deliver "
          f"one input per\n     output pixel x filter tap, the im2col volume, and keep the partial sums in the PE "
          f"over the reduction folds its RF holds).")
    small = z[z["glb_kib"] <= 64]
    large = z[z["glb_kib"] >= 1024]
    packed = z[z["rf_over_glb"] > 0.5]
    loose = z[z["rf_over_glb"] <= 0.05]
    more = lambda df, p: 100 * (df[f"{p}_dram_bytes"] > 1.5 * df["an_dram_bytes"]).mean()  # noqa: E731
    text = (f"  4. GLB tiling / DRAM traffic: ZigZag moves > 1.5x the analytical DRAM bytes in {more(small, 'zz'):.0f} % "
            f"of pairs with a\n     GLB <= 64 KiB vs {more(large, 'zz'):.0f} % with >= 1 MiB, and in {more(packed, 'zz'):.0f} % "
            f"where the PE scratchpads add up to > 50 % of the GLB\n     vs {more(loose, 'zz'):.0f} % where they are "
            f"<= 5 % (the GLB loop order is the analytical one, but ZigZag's hierarchy is inclusive:\n     the GLB "
            f"also holds what the PE scratchpads hold, and tiles split only at prime factors of the loops)")
    if loma is not None:
        text += f"; with LOMA: {more(loma, 'zl'):.0f} % of its pairs (fixed on them: {more(z[z['design'].isin(loma['design'])], 'zz'):.0f} %)"
    print(text + ".")
    comp = z[z["an_bound"] == "compute"]
    print(f"  5. Overlap: where the analytical model is compute-bound, ZigZag(fixed) needs a median "
          f"{np.median(comp['zz_cycles'] / comp['zz_ideal']):.2f}x its ideal cycles"
          + (f" (LOMA {np.median(loma[loma['an_bound'] == 'compute']['zl_cycles'] / loma[loma['an_bound'] == 'compute']['zl_ideal']):.2f}x)"  # noqa: E501
             if loma is not None else "")
          + ": port stalls from\n     the extra traffic above plus on-/off-loading that ZigZag does not overlap; "
          "the analytical model assumes double-buffered\n     transfers hidden behind compute.")
    if s is not None:
        sc = rank_stats(s["sy_compute"], s["ss_compute"])
        dw = s[s["kind"] == "depthwise"]
        rest = s[s["kind"] != "depthwise"]
        dw_ratio = {d: np.median(dw[dw["df"] == d]["an_compute"] / dw[dw["df"] == d]["ss_compute"])
                    if (dw["df"] == d).any() else np.nan for d in ("WS", "OS", "IS")}
        pre = (s["ss_cycles"] - s["ss_array_cycles"]) / s["ss_cycles"]
        s = s.assign(an_serial=s["an_compute"] + s["an_dram_cycles"])
        serial = rank_stats(s["an_serial"], s["ss_cycles"])
        by_layer = lambda a: float(np.nanmedian([rank_stats(g[a], g["ss_cycles"])["rho"]  # noqa: E731
                                                 for _, g in s.groupby("layer")]))
        serial_layer, max_layer = by_layer("an_serial"), by_layer("an_cycles")
        low = s[s["dram_bw"] <= 16]
        print(f"  6. SCALE-Sim compute: its compute cycles are the systolic formula (rho {sc['rho']:.3f}, median ratio "
              f"{sc['ratio']:.2f}): every fold pays a\n     fill/drain of ~2*rows + cols cycles that the template's "
              f"multicast array does not (analytical/SCALE-Sim compute, non-depthwise\n     layers: median "
              f"{np.median(rest['an_compute'] / rest['ss_compute']):.2f}). Depthwise (C = K = 1 per group) is where "
              f"the mappings part: analytical/SCALE-Sim\n     compute WS {dw_ratio['WS']:.2f}, OS {dw_ratio['OS']:.2f}, "
              f"IS {dw_ratio['IS']:.2f}: the analytical WS puts C = 1 on the rows and the 3x3 taps in time (one PE\n"
              f"     busy), SCALE-Sim puts the C*FY*FX = 9 window on the rows; under OS/IS the per-fold fill/drain "
              f"dwarfs a 9- or 1-cycle\n     temporal loop. So the two models rank the dataflows oppositely on "
              f"depthwise layers.")
        print(f"  7. SCALE-Sim total: it does not overlap the first DRAM prefetch and the last write-back with compute "
              f"(median {100 * np.median(pre):.0f} %\n     of its total; {100 * np.median(low['ss_cycles'].sub(low['ss_array_cycles']) / low['ss_cycles']):.0f} % "
              f"when dram_bw <= 16, where each of its 3 DRAM interfaces gets dram_bw // 3 B/cycle), and it moves "
              f"{np.median(s['ss_dram_bytes'] / s['an_dram_bytes']):.1f}x\n     the analytical DRAM bytes (under WS/IS it writes every row fold's partial\n     outputs to DRAM, "
              f"O x row folds, and for convs it reads the im2col-expanded input, P x C*FY*FX; each depthwise group "
              f"pays\n     its own prefetch). The small layers SCALE-Sim can afford fit in its SRAMs, so its first "
              f"prefetch is the whole layer\n     and its latency is roughly a DRAM transfer time plus compute, where "
              f"the analytical model takes the max of the two: with its compute and DRAM cycles added instead,\n"
              f"     rho vs SCALE-Sim total would be {serial['rho']:.3f} pooled, per-layer median {serial_layer:.3f} "
              f"(max: {rank_stats(s['an_cycles'], s['ss_cycles'])['rho']:.3f}, {max_layer:.3f}).")

# -- plots ---------------------------------------------------------------------------------
def plots(z: pd.DataFrame, loma: pd.DataFrame | None, s: pd.DataFrame | None, out: Path,
          layers: list[str]) -> list[Path]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots (pip install 'archgym[plot]')")
        return []
    colours = {"WS": "tab:blue", "OS": "tab:orange", "IS": "tab:green"}

    def panel(ax, df, x, y, title, xl, yl):
        for d, g in df.groupby("df"):
            ax.scatter(g[x], g[y], s=6, alpha=0.5, c=colours[d], label=d, linewidths=0)
        lo, hi = np.nanmin([df[x].min(), df[y].min()]), np.nanmax([df[x].max(), df[y].max()])
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="y = x")
        ax.set_xscale("log")
        ax.set_yscale("log")
        st = rank_stats(df[y], df[x])
        ax.set_title(f"{title}\nrho={st['rho']:.3f} tau={st['tau']:.3f} n={st['n']}", fontsize=9)
        ax.set_xlabel(xl, fontsize=8)
        ax.set_ylabel(yl, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, markerscale=2)

    panels = [(z, "zz_cycles", "an_cycles", "latency vs ZigZag (fixed)", "ZigZag cycles", "analytical cycles"),
              (z, "zz_energy", "an_energy", "energy vs ZigZag (fixed)", "ZigZag pJ", "analytical pJ")]
    if loma is not None:
        panels += [(loma, "zl_cycles", "an_cycles", "latency vs ZigZag (LOMA)", "ZigZag cycles", "analytical cycles"),
                   (loma, "zl_energy", "an_energy", "energy vs ZigZag (LOMA)", "ZigZag pJ", "analytical pJ")]
    if s is not None:
        panels += [(s, "ss_cycles", "an_cycles", "latency vs SCALE-Sim total", "SCALE-Sim total cycles",
                    "analytical cycles"),
                   (s, "ss_compute", "an_compute", "compute vs SCALE-Sim compute-only", "SCALE-Sim compute cycles",
                    "analytical compute cycles")]
    ncols = 2 if len(panels) <= 4 else 3
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols, 4.2 * nrows), squeeze=False)
    for ax, args in zip(axes.ravel(), panels):
        panel(ax, *args)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    files = [out / "accelerator_validation_scatter.png"]
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)

    for metric, x, y in (("latency", "zz_cycles", "an_cycles"), ("energy", "zz_energy", "an_energy")):
        ncols = -(-len(layers) // 2)
        fig, axes = plt.subplots(2, ncols, figsize=(3.6 * ncols, 7.4), squeeze=False)
        for ax, label in zip(axes.ravel(), layers):
            panel(ax, z[z["layer"] == label], x, y, label, f"ZigZag (fixed) {metric}", f"analytical {metric}")
        fig.tight_layout()
        files.append(out / f"accelerator_validation_zigzag_{metric}_per_layer.png")
        fig.savefig(files[-1], dpi=100)
        plt.close(fig)
    return files


# -- main ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", type=int, default=240, help="random designs for the ZigZag comparison")
    parser.add_argument("--loma-designs", type=int, default=40,
                        help="of those, how many also run with ZigZag's LOMA mapper (0: none)")
    parser.add_argument("--scalesim-designs", type=int, default=48, help="designs for the SCALE-Sim comparison "
                        "(0: skip SCALE-Sim)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--processes", type=int, default=2, help="child processes for ZigZag / SCALE-Sim jobs")
    parser.add_argument("--zigzag-timeout", type=float, default=120.0, help="seconds per ZigZag layer job")
    parser.add_argument("--scalesim-timeout", type=float, default=180.0, help="seconds per SCALE-Sim layer job")
    parser.add_argument("--reuse-from", type=Path, default=None,
                        help="take the LOMA and SCALE-Sim results (and their speeds) from the CSVs of an earlier run in "
                        "this folder instead of running them, matched on design parameters and layer (neither depends "
                        "on the analytical model)")
    parser.add_argument("--from-csv", type=Path, default=None,
                        help="re-analyse the CSVs of an earlier run in this folder instead of simulating")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    zig_layers = [(label, network_layer(net, name)) for label, net, name in ZIGZAG_LAYERS]
    ss_layers = [(label, layer if isinstance(layer, Layer) else network_layer(*layer))
                 for label, layer in SCALESIM_LAYERS]
    zig_labels, ss_labels = [l for l, _ in zig_layers], [l for l, _ in ss_layers]
    zpath = args.out / "accelerator_validation_zigzag.csv"
    spath = args.out / "accelerator_validation_scalesim.csv"
    speed_path = args.out / "accelerator_validation_speed.csv"
    timings: dict[str, float] = {}

    if args.from_csv is not None:
        zdf = pd.read_csv(args.from_csv / zpath.name)
        sdf = pd.read_csv(args.from_csv / spath.name) if (args.from_csv / spath.name).exists() else None
        speed = pd.read_csv(args.from_csv / speed_path.name)
    else:
        designs = sample_designs(args.designs, np.random.default_rng(args.seed))
        n_loma = min(args.loma_designs, len(designs))
        ss_designs = sample_designs(args.scalesim_designs, np.random.default_rng(args.seed + 1),
                                    {"pe_rows": SCALESIM_ARRAY_SIZES, "pe_cols": SCALESIM_ARRAY_SIZES})
        print(f"{len(designs)} designs (seed {args.seed}) x {len(zig_layers)} layers for ZigZag fixed, the first "
              f"{n_loma} also with LOMA; {len(ss_designs)} designs x {len(ss_layers)} layers for SCALE-Sim; "
              f"{args.processes} worker processes", file=sys.stderr)

        t0 = time.perf_counter()
        an_z, an_speed = analytical_rows(designs, zig_layers)
        timings["analytical"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        zz = zigzag_rows(designs, zig_layers, args.processes, args.zigzag_timeout, "fixed", "zz")
        timings["ZigZag fixed"] = time.perf_counter() - t0
        zl: dict = {}
        if n_loma and args.reuse_from is None:
            t0 = time.perf_counter()
            zl = zigzag_rows(designs[:n_loma], zig_layers, args.processes, args.zigzag_timeout, "loma", "zl")
            timings["ZigZag LOMA"] = time.perf_counter() - t0
        zdf = merge(an_z, zz, zl)
        if args.reuse_from is not None:
            zdf = with_columns_from(zdf, args.reuse_from / zpath.name, "zl")
        zdf.to_csv(zpath, index=False)

        def rate(res: dict, prefix: str, label: str) -> float:
            t = [v[f"{prefix}_time_s"] for (i, l), v in res.items() if l == label and v[f"{prefix}_status"] == "ok"]
            return 1 / float(np.median(t)) if t else np.nan

        speed_rows = [{"layer": l, "analytical": an_speed[l]["single"], "analytical_batch": an_speed[l]["batch"],
                       "zigzag_fixed": rate(zz, "zz", l), "zigzag_loma": rate(zl, "zl", l) if zl else np.nan,
                       "scalesim": np.nan} for l in zig_labels]
        sdf = None
        if args.scalesim_designs:
            t0 = time.perf_counter()
            an_s, an_speed_s = analytical_rows(ss_designs, ss_layers)
            zz_s = zigzag_rows(ss_designs, ss_layers, args.processes, args.zigzag_timeout, "fixed", "zz")
            timings["ZigZag fixed (SCALE-Sim set)"] = time.perf_counter() - t0
            if args.reuse_from is None:
                t0 = time.perf_counter()
                ss = scalesim_rows(ss_designs, ss_layers, args.processes, args.scalesim_timeout)
                timings["SCALE-Sim"] = time.perf_counter() - t0
                sdf = merge(an_s, zz_s, ss)
            else:
                ss = {}
                sdf = with_columns_from(merge(an_s, zz_s), args.reuse_from / spath.name, "ss")
            sdf.to_csv(spath, index=False)
            for l in ss_labels:
                row = next((r for r in speed_rows if r["layer"] == l), None)
                if row is None:
                    row = {"layer": l, "analytical": an_speed_s[l]["single"],
                           "analytical_batch": an_speed_s[l]["batch"], "zigzag_fixed": rate(zz_s, "zz", l),
                           "zigzag_loma": np.nan}
                    speed_rows.append(row)
                row["scalesim"] = rate(ss, "ss", l)
        speed = pd.DataFrame(speed_rows)
        if args.reuse_from is not None:  # the reused back-ends' speeds, as measured in that run
            earlier = pd.read_csv(args.reuse_from / speed_path.name).set_index("layer")
            for column in ("zigzag_loma", "scalesim"):
                speed[column] = speed["layer"].map(earlier[column])
        speed.to_csv(speed_path, index=False)

    # -- report --------------------------------------------------------------------------
    bar = "=" * 104
    print(bar)
    print("Analytical accelerator model vs ZigZag and SCALE-Sim, per layer (one instance of each layer)")
    print(bar)
    n_designs = zdf["design"].nunique()
    status = zdf["zz_status"].value_counts().to_dict()
    rejected = zdf[zdf["zz_status"] != "ok"]
    print(f"\n1. vs ZigZag (mapping='fixed'): {n_designs} random designs x {len(zig_labels)} layers = {len(zdf)} pairs; "
          f"analytical-infeasible: {int((~zdf['an_ok'].astype(bool)).sum())}; ZigZag: {status.get('ok', 0)} ok, "
          f"{status.get('infeasible', 0)} infeasible, {status.get('error', 0)} errors/time-outs; "
          f"{rejected['design'].nunique()} of {n_designs} designs have at least one rejected layer")
    infeasible = zdf[zdf["zz_status"] == "infeasible"]
    if len(infeasible):
        over = (infeasible["pe_rows"] * infeasible["pe_cols"] * infeasible["rf_bytes"]
                > infeasible["glb_kib"] * 1024).mean()
        print(f"   {100 * over:.0f} % of the infeasible pairs have PEs x rf_bytes > GLB bytes; by layer: "
              + ", ".join(f"{k.split()[0]} {v}" for k, v in infeasible["layer"].value_counts().items()))
    if "zz_error" in zdf:
        for text in zdf[zdf["zz_status"] == "error"]["zz_error"].drop_duplicates().head(3):
            print(f"   error: {text}")
    z = with_derived(zdf[(zdf["zz_status"] == "ok") & zdf["an_ok"].astype(bool)])
    summary = {
        "zz latency": comparison_table(z, "an_cycles", "zz_cycles", "analytical vs ZigZag (fixed): latency (cycles)",
                                       zig_labels),
        "zz energy": comparison_table(z, "an_energy", "zz_energy", "analytical vs ZigZag (fixed): energy (pJ)",
                                      zig_labels),
    }
    loma = None
    if "zl_status" in zdf:
        lsub = zdf[zdf["zl_status"].notna()]
        loma = with_derived(lsub[(lsub["zl_status"] == "ok") & lsub["an_ok"].astype(bool)])
        lstat = lsub["zl_status"].value_counts().to_dict()
        print(f"\n1b. vs ZigZag (mapping='loma', lpf_limit={LOMA_LPF_LIMIT}) on the first {lsub['design'].nunique()} "
              f"designs: {lstat.get('ok', 0)} ok, {lstat.get('infeasible', 0)} infeasible, "
              f"{lstat.get('error', 0)} errors/time-outs")
        summary["loma latency"] = comparison_table(loma, "an_cycles", "zl_cycles",
                                                   "analytical vs ZigZag (LOMA): latency (cycles)", zig_labels)
        summary["loma energy"] = comparison_table(loma, "an_energy", "zl_energy",
                                                  "analytical vs ZigZag (LOMA): energy (pJ)", zig_labels)
        same = z[z["design"].isin(loma["design"])]
        print("\n  same designs, fixed vs LOMA, per-layer rho (latency | energy):")
        for label in zig_labels:
            a, b = same[same["layer"] == label], loma[loma["layer"] == label]
            print(f"  {label:<{W}} {rank_stats(a['an_cycles'], a['zz_cycles'])['rho']:>6.3f} -> "
                  f"{rank_stats(b['an_cycles'], b['zl_cycles'])['rho']:.3f} | "
                  f"{rank_stats(a['an_energy'], a['zz_energy'])['rho']:>6.3f} -> "
                  f"{rank_stats(b['an_energy'], b['zl_energy'])['rho']:.3f}")

    s = None
    if sdf is not None:
        s = with_derived(sdf[(sdf["ss_status"] == "ok") & sdf["an_ok"].astype(bool)])
        sstat = sdf["ss_status"].value_counts().to_dict()
        print(f"\n2. vs SCALE-Sim: {sdf['design'].nunique()} designs (arrays {SCALESIM_ARRAY_SIZES}^2) x "
              f"{len(ss_labels)} layers = {len(sdf)} pairs; SCALE-Sim: {sstat.get('ok', 0)} ok, "
              f"{len(sdf) - sstat.get('ok', 0)} failed or timed out")
        if "ss_error" in sdf:
            for text in sdf[sdf["ss_status"] != "ok"]["ss_error"].drop_duplicates().head(3):
                print(f"   error: {text}")
        summary["ss total"] = comparison_table(s, "an_cycles", "ss_cycles",
                                               "analytical latency vs SCALE-Sim total cycles (incl. prefetch)",
                                               ss_labels)
        summary["ss compute"] = comparison_table(s, "an_compute", "ss_compute",
                                                 "analytical compute cycles vs SCALE-Sim compute-only cycles",
                                                 ss_labels)
        s = with_systolic(s)
        summary["sy total"] = comparison_table(s, "sy_cycles", "ss_cycles",
                                               "analytical, array='systolic': latency vs SCALE-Sim total cycles",
                                               ss_labels)
        summary["sy compute"] = comparison_table(s, "sy_compute", "ss_compute",
                                                 "analytical, array='systolic': compute cycles vs SCALE-Sim compute "
                                                 "cycles", ss_labels)
        print("\n  vs SCALE-Sim, the two timing modes side by side (pooled over all pairs | per-layer medians):")
        print(f"  {'cycles':<9} {'array':<10} {'rho':>6} {'tau':>6} {'med|err|':>9} | {'rho':>6} {'tau':>6} "
              f"{'med|err|':>9}")
        for what, keys in (("total", ("ss total", "sy total")), ("compute", ("ss compute", "sy compute"))):
            for mode, key in zip(("multicast", "systolic"), keys):
                t = summary[key]
                medrel = float(np.median([t[l]["medrel"] for l in ss_labels]))
                print(f"  {what:<9} {mode:<10} {t['all']['rho']:>6.3f} {t['all']['tau']:>6.3f} "
                      f"{100 * t['all']['medrel']:>8.1f}% | {t['median_layer_rho']:>6.3f} "
                      f"{t['median_layer_tau']:>6.3f} {100 * medrel:>8.1f}%")
        exposed = s["ss_cycles"] - s["ss_array_cycles"]  # SCALE-Sim's own prefetch + last write-back
        sub = rank_stats(s["sy_compute"] + exposed, s["ss_cycles"])
        sub_layer = float(np.median([rank_stats(g["sy_compute"] + exposed[g.index], g["ss_cycles"])["rho"]
                                     for _, g in s.groupby("layer")]))
        ratio = np.median(exposed / (s["sy_prefetch"] + s["sy_writeback"]))
        print(f"  what is left is the DRAM time SCALE-Sim does not overlap: systolic compute + SCALE-Sim's own "
              f"prefetch and write-back\n  cycles give rho {sub['rho']:.3f} pooled, per-layer median "
              f"{sub_layer:.3f}; SCALE-Sim's exposed DRAM time is a median {ratio:.1f}x\n  the systolic mode's "
              f"(it moves {np.median(s['ss_dram_bytes'] / s['an_dram_bytes']):.1f}x the bytes: im2col inputs, "
              f"row-fold partial outputs; and splits dram_bw over 3 interfaces).")

    print("\n" + bar)
    print("Where and why the models disagree")
    print(bar)
    print("\nA. analytical vs ZigZag")
    analyse_zigzag(z, loma, zig_labels)
    if s is not None:
        print("\nB. analytical vs SCALE-Sim")
        analyse_scalesim(s)
    findings(z, loma, s, zig_labels)

    print("\n" + bar)
    print("Evaluation speed per layer in this run, evaluations/s. analytical: single evaluate() calls, and\n"
          "evaluate_arrays over all designs at once; ZigZag / SCALE-Sim: 1 / median wall time of one layer job\n"
          "in a worker process (IPC included), two jobs running at once on a shared 2-core machine.")
    print(bar)
    h = (f"{'layer':<{W}} {'analytical':>10} {'an. batch':>10} {'ZZ fixed':>9} {'ZZ LOMA':>8} {'SCALE-Sim':>9}"
         f"   an : ZZ fixed : SCALE-Sim")
    print(h + "\n" + "-" * (len(h) + 4))
    for _, r in speed.iterrows():
        ratio = f"{r['analytical'] / r['zigzag_fixed']:,.0f} : 1"
        if np.isfinite(r["scalesim"]):
            ratio = f"{r['analytical'] / r['scalesim']:,.0f} : {r['zigzag_fixed'] / r['scalesim']:,.0f} : 1"
        cell = lambda x, f: f"{x:{f}}" if np.isfinite(x) else "-"  # noqa: E731
        print(f"{r['layer']:<{W}} {r['analytical']:>10,.0f} {r['analytical_batch']:>10,.0f} "
              f"{cell(r['zigzag_fixed'], '9.1f'):>9} {cell(r['zigzag_loma'], '8.2f'):>8} "
              f"{cell(r['scalesim'], '9.3f'):>9}   {ratio}")
    gm = lambda c: stats.gmean(speed[c].dropna()) if speed[c].notna().any() else np.nan  # noqa: E731
    print(f"geometric means: analytical {gm('analytical'):,.0f}/s single, {gm('analytical_batch'):,.0f}/s batched; "
          f"ZigZag fixed {gm('zigzag_fixed'):.1f}/s, LOMA {gm('zigzag_loma'):.2f}/s; SCALE-Sim {gm('scalesim'):.3f}/s")

    files = plots(z, loma, s, args.out, zig_labels)
    print("\n" + bar)
    print("Summary (rho = Spearman; target >= 0.9)")
    print(bar)
    for key, what in (("zz latency", "ZigZag fixed, latency"), ("zz energy", "ZigZag fixed, energy"),
                      ("loma latency", "ZigZag LOMA, latency"), ("loma energy", "ZigZag LOMA, energy"),
                      ("ss total", "SCALE-Sim total cycles"), ("ss compute", "SCALE-Sim compute cycles"),
                      ("sy total", "SCALE-Sim total, systolic"), ("sy compute", "SCALE-Sim compute, systolic")):
        if key in summary:
            t = summary[key]
            print(f"{what:<26} pooled rho {t['all']['rho']:.3f} tau {t['all']['tau']:.3f} "
                  f"({'meets' if t['all']['rho'] >= TARGET_RHO else 'BELOW'}); per layer rho median "
                  f"{t['median_layer_rho']:.3f}, min {t['min_layer_rho']:.3f} (tau median {t['median_layer_tau']:.3f})"
                  f"; median |err| {100 * t['all']['medrel']:.0f} %, an/ref {t['all']['ratio']:.2f}")
    if timings:
        print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
              + f"; total {time.perf_counter() - start:.0f} s")
    written = [zpath, speed_path] + ([spath] if sdf is not None else []) + files
    print("files: " + ", ".join(str(f) for f in written))


if __name__ == "__main__":
    main()

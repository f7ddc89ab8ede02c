"""Training workloads: layers with their compute, parameters, activations and TP traffic.

A :class:`TrainingWorkload` is an ordered list of :class:`TrainingLayer` plus the batch it is
trained with. Per layer, per training sample:

* ``fwd_flops``: forward FLOPs (backward is taken as twice the forward, the usual
  2 × (activation gradient + weight gradient) count);
* ``params``: parameter count (sharded by tensor parallelism when ``tp_split``);
* ``activation_bytes``: activation memory kept for the backward pass;
* ``boundary_bytes``: the layer's output, sent to the next pipeline stage when a stage ends here;
* ``tp_split``: whether tensor parallelism divides the layer's compute, weights and activations;
* ``tp_comm_bytes``: bytes all-reduced inside the tensor-parallel group in the forward pass
  (the same again in the backward pass), e.g. Megatron-LM's two ``b·s·h`` all-reduces per
  transformer layer.

Built-ins: ``gpt3-1.3b``, ``gpt3-2.7b``, ``gpt3-13b`` (GPT-3 shapes, Brown et al. 2020, Table 2.1;
sequence 2048, vocabulary 51200 = 50257 padded as in Megatron-LM, batch = the paper's tokens per
batch / 2048), ``gpt:layers=…,hidden=…,heads=…,seq=…,vocab=…,batch=…,micro_batch=…``
(any GPT-style decoder), and ``resnet50`` (per-layer MACs and weights from archgym's accelerator
layer table, :mod:`archgym.simulators.accelerator.layers`; batch 4096, micro-batch 16).

Transformer-layer formulas (Narayanan et al., SC'21 "Efficient Large-Scale Language Model
Training on GPU Clusters Using Megatron-LM", eq. 3; Korthikanti et al., 2022, "Reducing
Activation Recomputation in Large Transformer Models", §4.1): forward FLOPs per sample
``24·s·h² + 4·s²·h``; parameters ``12·h²``; activations ``s·h·34 + 5·a·s²`` bytes (16-bit,
no recomputation); TP all-reduces ``2 × 2·s·h`` bytes forward. Each transformer layer is listed
as its two TP regions, attention (``8·s·h² + 4·s²·h`` FLOPs, ``4·h²`` parameters, ``11·s·h +
5·a·s²`` activation bytes) and MLP (``16·s·h²``, ``8·h²``, ``23·s·h``), each with one all-reduce.

File format (CSV): a header line ``name,fwd_flops,params,activation_bytes,boundary_bytes,
tp_split,tp_comm_bytes,repeat`` (any order; ``repeat`` optional), one row per layer, numbers
non-negative (``tp_split`` 0 or 1, ``repeat`` a positive integer), then metadata lines
``# global_batch: N``, ``# micro_batch: N`` and optionally ``# heads: N`` (TP must divide it).
Other ``#`` lines and blank lines are comments. A malformed row raises
:class:`TrainingWorkloadError` naming ``file:line``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

BYTES_PER_VALUE = 2  # 16-bit activations, weights and gradients

COLUMNS = ("name", "fwd_flops", "params", "activation_bytes", "boundary_bytes", "tp_split", "tp_comm_bytes", "repeat")
_REQUIRED = COLUMNS[:-1]


class TrainingWorkloadError(ValueError):
    """A malformed or unknown training workload (names file:line where it comes from a file)."""


@dataclass(frozen=True)
class TrainingLayer:
    """One layer's per-sample costs (see the module docstring)."""

    name: str
    fwd_flops: float
    params: float
    activation_bytes: float
    boundary_bytes: float
    tp_split: bool = True
    tp_comm_bytes: float = 0.0
    #: the forward pass of one sample as accelerator layers (conv/GEMM loop nests of
    #: :mod:`archgym.simulators.accelerator.layers`), for per-layer times from Accelerator-v0's
    #: analytical model; empty = roofline only
    kernels: tuple = ()


@dataclass(frozen=True)
class TrainingWorkload:
    """Layers in order, the global batch (samples per step) and the micro-batch (samples)."""

    name: str
    layers: tuple[TrainingLayer, ...]
    global_batch: int
    micro_batch: int
    heads: int | None = None
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.layers:
            raise TrainingWorkloadError(f"workload {self.name!r} has no layers")
        for label, value in (("global_batch", self.global_batch), ("micro_batch", self.micro_batch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TrainingWorkloadError(f"workload {self.name!r}: {label} must be a positive integer, got {value!r}")
        if not self.key:
            text = repr((self.name, self.layers, self.global_batch, self.micro_batch, self.heads))
            object.__setattr__(self, "key", f"{self.name}:{hashlib.sha256(text.encode()).hexdigest()[:16]}")

    @property
    def params(self) -> float:
        return float(sum(layer.params for layer in self.layers))

    @property
    def fwd_flops(self) -> float:
        return float(sum(layer.fwd_flops for layer in self.layers))


def gpt(
    layers: int = 24,
    hidden: int = 2048,
    heads: int = 16,
    seq: int = 2048,
    vocab: int = 51200,
    batch: int = 512,
    micro_batch: int = 1,
    name: str | None = None,
) -> TrainingWorkload:
    """A GPT-style decoder: embedding, ``layers`` transformer layers, the LM head (untied)."""
    for label, value in (("layers", layers), ("hidden", hidden), ("heads", heads), ("seq", seq), ("vocab", vocab)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TrainingWorkloadError(f"GPT {label} must be a positive integer, got {value!r}")
    if hidden % heads:
        raise TrainingWorkloadError(f"GPT hidden size {hidden} is not divisible by heads {heads}")
    from archgym.simulators.accelerator.layers import Layer

    s, h, a = float(seq), float(hidden), float(heads)
    act = s * h * BYTES_PER_VALUE
    embedding = TrainingLayer("embedding", 0.0, vocab * h + s * h, act, act, True, act)
    # Megatron-LM's two TP regions per transformer layer, each ending in one all-reduce of b·s·h;
    # kernels: the same FLOPs as GEMMs (QKV, per-head scores and context, output projection; 2 MLP GEMMs)
    attention = TrainingLayer(
        "attention", 8 * s * h * h + 4 * s * s * h, 4 * h * h, s * h * 11 + 5 * a * s * s, act, True, act,
        (Layer.gemm("qkv", M=seq, N=3 * hidden, K=hidden),
         Layer.gemm("scores", M=seq, N=seq, K=hidden // heads, repeat=heads),
         Layer.gemm("context", M=seq, N=hidden // heads, K=seq, repeat=heads),
         Layer.gemm("proj", M=seq, N=hidden, K=hidden)),
    )
    mlp = TrainingLayer("mlp", 16 * s * h * h, 8 * h * h, s * h * 23, act, True, act,
                        (Layer.gemm("fc1", M=seq, N=4 * hidden, K=hidden), Layer.gemm("fc2", M=seq, N=hidden, K=4 * hidden)))
    head = TrainingLayer("lm_head", 2 * s * h * vocab, vocab * h, s * vocab * BYTES_PER_VALUE, act, True, 0.0,
                         (Layer.gemm("logits", M=seq, N=vocab, K=hidden),))
    return TrainingWorkload(
        name or f"gpt:layers={layers},hidden={hidden},heads={heads},seq={seq},vocab={vocab},batch={batch},micro_batch={micro_batch}",
        (embedding,) + (attention, mlp) * layers + (head,),
        batch,
        micro_batch,
        heads,
    )


GPT_PRESETS: dict[str, dict[str, int]] = {
    "gpt3-1.3b": dict(layers=24, hidden=2048, heads=16, batch=512),
    "gpt3-2.7b": dict(layers=32, hidden=2560, heads=32, batch=512),
    "gpt3-13b": dict(layers=40, hidden=5120, heads=40, batch=1024),
}


def resnet50(batch: int = 4096, micro_batch: int = 16) -> TrainingWorkload:
    """ResNet-50 from the accelerator's layer table (repeats expanded in place); no TP split."""
    from archgym.simulators.accelerator.layers import load_workload

    layers = []
    for layer in load_workload("resnet50").layers:
        out = float(layer.output_elements) * BYTES_PER_VALUE
        single = dataclasses.replace(layer, repeat=1)
        row = TrainingLayer(layer.name, 2.0 * layer.macs, float(layer.weight_elements), out, out, False, 0.0, (single,))
        layers.extend([row] * layer.repeat)
    return TrainingWorkload("resnet50", tuple(layers), batch, micro_batch, None)


BUILTIN = ("gpt3-1.3b", "gpt3-2.7b", "gpt3-13b", "resnet50")


def load_training_workload(spec: str | os.PathLike[str] | TrainingWorkload) -> TrainingWorkload:
    """A built-in name, a ``gpt:key=value,…`` spec, or the path of a workload CSV."""
    if isinstance(spec, TrainingWorkload):
        return spec
    text = os.fspath(spec)
    if text in GPT_PRESETS:
        return _preset(text)
    if text == "resnet50":
        return _resnet50()
    if text.startswith("gpt:") or text == "gpt":
        return _gpt_spec(text)
    path = Path(text)
    if path.suffix.lower() == ".csv" or path.exists():
        try:
            content = path.read_text()
        except OSError as exc:
            raise TrainingWorkloadError(f"cannot read training workload {text}: {exc}") from exc
        return parse_training_workload(content, source=text, name=path.stem)
    raise TrainingWorkloadError(
        f"unknown training workload {text!r}; expected one of {', '.join(BUILTIN)}, a 'gpt:layers=..,hidden=..' spec or a .csv path"
    )


@functools.lru_cache(maxsize=None)
def _preset(name: str) -> TrainingWorkload:
    return gpt(name=name, **GPT_PRESETS[name])


@functools.lru_cache(maxsize=None)
def _resnet50() -> TrainingWorkload:
    return resnet50()


@functools.lru_cache(maxsize=64)
def _gpt_spec(text: str) -> TrainingWorkload:
    kwargs: dict[str, int] = {}
    body = text[4:] if text.startswith("gpt:") else ""
    known = ("layers", "hidden", "heads", "seq", "vocab", "batch", "micro_batch")
    for item in filter(None, body.split(",")):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise TrainingWorkloadError(f"bad GPT spec item {item!r} in {text!r}; expected key=value with key in {', '.join(known)}")
        try:
            kwargs[key] = int(value)
        except ValueError:
            raise TrainingWorkloadError(f"GPT spec {text!r}: {key} must be an integer, got {value!r}") from None
    return gpt(**kwargs)


_META = re.compile(r"#\s*(global_batch|micro_batch|heads)\s*:\s*(\S+)\s*$")


def parse_training_workload(content: str, source: str = "<string>", name: str = "custom") -> TrainingWorkload:
    """Parse the CSV format of the module docstring; errors name ``source:line``."""
    meta: dict[str, int] = {}
    rows: list[tuple[int, str]] = []
    for number, line in enumerate(content.splitlines(), start=1):
        stripped = line.strip()
        match = _META.match(stripped)
        if match:
            try:
                meta[match.group(1)] = int(match.group(2))
            except ValueError:
                raise TrainingWorkloadError(f"{source}:{number}: {match.group(1)} must be an integer, got {match.group(2)!r}") from None
            continue
        if stripped and not stripped.startswith("#"):
            rows.append((number, line))
    if not rows:
        raise TrainingWorkloadError(f"{source}: no header and no layers")
    header_line, header_text = rows[0]
    header = [c.strip() for c in next(csv.reader(io.StringIO(header_text)))]
    missing = [c for c in _REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise TrainingWorkloadError(
            f"{source}:{header_line}: header must have columns {', '.join(COLUMNS)} (repeat optional); "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    layers: list[TrainingLayer] = []
    for number, line in rows[1:]:
        values = [v.strip() for v in next(csv.reader(io.StringIO(line)))]
        if len(values) != len(header):
            raise TrainingWorkloadError(f"{source}:{number}: expected {len(header)} fields, got {len(values)}")
        row = dict(zip(header, values))

        def num(column: str) -> float:
            try:
                value = float(row[column])
            except ValueError:
                raise TrainingWorkloadError(f"{source}:{number}: {column} must be a number, got {row[column]!r}") from None
            if not value >= 0 or value == float("inf"):
                raise TrainingWorkloadError(f"{source}:{number}: {column} must be finite and >= 0, got {row[column]!r}")
            return value

        if not row["name"]:
            raise TrainingWorkloadError(f"{source}:{number}: empty layer name")
        if row["tp_split"] not in ("0", "1"):
            raise TrainingWorkloadError(f"{source}:{number}: tp_split must be 0 or 1, got {row['tp_split']!r}")
        repeat_text = row.get("repeat", "") or "1"
        if not repeat_text.isdigit() or int(repeat_text) < 1:
            raise TrainingWorkloadError(f"{source}:{number}: repeat must be a positive integer, got {repeat_text!r}")
        layer = TrainingLayer(
            row["name"], num("fwd_flops"), num("params"), num("activation_bytes"), num("boundary_bytes"),
            row["tp_split"] == "1", num("tp_comm_bytes"),
        )
        layers.extend([layer] * int(repeat_text))
    if not layers:
        raise TrainingWorkloadError(f"{source}: header but no layers")
    for key in ("global_batch", "micro_batch"):
        if key not in meta:
            raise TrainingWorkloadError(f"{source}: missing metadata line '# {key}: N'")
    try:
        return TrainingWorkload(name, tuple(layers), meta["global_batch"], meta["micro_batch"], meta.get("heads"))
    except TrainingWorkloadError as exc:
        raise TrainingWorkloadError(f"{source}: {exc}") from None

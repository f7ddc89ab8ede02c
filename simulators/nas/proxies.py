"""Zero-cost proxies: score a NAS-Bench-201 cell at initialisation, without training.

Each proxy builds the cell's stand-alone :class:`~.model.NB201Network` (default: the benchmark's
own size, ``C=16`` channels and ``N=5`` cells per stage; smaller ``channels`` /
``cells_per_stage`` trade fidelity for speed), initialises it with PyTorch's default
initialisation under ``torch.manual_seed(seed)`` (inside a forked RNG, so the caller's random
state is untouched) and reduces it to one number, higher = predicted better. Definitions follow
Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021) and the conventions of
its reference code (SamsungLabs/zero-cost-nas), re-implemented here:

=============  ======  ==================================================================================
name           data    score
=============  ======  ==================================================================================
``synflow``    no      Σ over conv/linear weights ``|θ ⊙ ∂R/∂θ|`` with ``R = Σ f(1)`` — the network in
                       double precision, BatchNorm removed, every parameter replaced by its absolute
                       value, one all-ones input (Tanaka et al. 2020's synaptic flow).
``snip``       yes     Σ over conv/linear weights ``|θ ⊙ ∂L/∂θ|``, ``L`` = cross-entropy on one batch
                       (BatchNorm in training mode) (Lee et al. 2019).
``grad_norm``  yes     Σ over conv/linear layers of ``‖∂L/∂W‖₂`` on the same batch and loss.
``jacob_cov``  yes     Mellor et al.'s v1 score: ``J`` = per-input gradient of ``Σ f(x)`` w.r.t. the input,
                       ``Σ_C`` its correlation matrix over the batch with eigenvalues ``λ``; score
                       ``−Σ (log(λ+k) + 1/(λ+k))``, ``k = 1e−5``.
``naswot``     yes     Mellor et al. 2021 ("NAS without training"): ``log|K_H|`` with
                       ``K_H = Σ_relu c cᵀ + (1−c)(1−c)ᵀ`` over the binary codes ``c`` (input > 0) of
                       every ReLU, one row per image of the batch.
``params``     no      trainable parameters of the network (the naive baseline proxy).
=============  ======  ==================================================================================

Data-based proxies take one batch: an explicit ``batch=(inputs, targets)``, or a seeded batch
drawn by :func:`proxy_batch` — ``data="digits"`` (default): ``batch_size`` images of
scikit-learn's bundled ``load_digits`` (no download) standardised over the whole set, bilinearly
upsampled from 8×8 to the input size (32×32 for CIFAR) and repeated over the 3 channels, with
their digit labels; ``data="gaussian"``: standard-normal inputs with uniform random labels.

Degenerate cells: when no path joins the cell's input to its output (e.g. every edge ``none``)
the network's output does not depend on its input; ``synflow`` is then exactly 0 and
``jacob_cov`` is ``-inf`` (an all-zero Jacobian has no correlation structure). ``naswot`` hooks
every ReLU, as Mellor et al.'s code does, so convs on dead-end edges still count; it is ``-inf``
when all images share one code, e.g. the all-``none`` cell (``K_H`` is singular).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archgym.errors import UserError
from archgym.simulator import Metric, Metrics, SimulationError, Simulator
from archgym.simulators.nas.layers import DATASET_SHAPES
from archgym.simulators.nas.model import NB201Network, count_parameters, torch_threads
from archgym.simulators.nas.nb201 import EDGES, Arch, check_arch, design_to_arch, parse_arch

#: the synthetic batches :func:`proxy_batch` draws
DATA_SOURCES: tuple[str, ...] = ("digits", "gaussian")
#: Mellor et al.'s (and the reference code's) regulariser of the eigenvalues in ``jacob_cov``
JACOB_COV_K = 1e-5

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class NetworkConfig:
    """The network a proxy scores: NB201 skeleton size and the data set's input shape / classes."""

    channels: int = 16
    cells_per_stage: int = 5
    input_shape: tuple[int, int, int] = (3, 32, 32)
    num_classes: int = 10

    def build(self, ops: Sequence[str]) -> NB201Network:
        return NB201Network.for_arch(
            ops,
            channels=self.channels,
            cells_per_stage=self.cells_per_stage,
            num_classes=self.num_classes,
            in_channels=self.input_shape[0],
        )

    @classmethod
    def for_dataset(cls, dataset: str, **kwargs: Any) -> "NetworkConfig":
        """The configuration for a NAS-Bench-201 data set (:data:`.layers.DATASET_SHAPES`: input
        size and classes; 3 input channels); ``kwargs``: ``channels``, ``cells_per_stage``."""
        if dataset not in DATASET_SHAPES:
            raise UserError(f"unknown data set {dataset!r}; expected one of: {', '.join(DATASET_SHAPES)}")
        size, classes = DATASET_SHAPES[dataset]
        return cls(input_shape=(3, size, size), num_classes=classes, **kwargs)


# ----------------------------------------------------------------------------------------- proxies
def _weighted_layers(net: nn.Module) -> Iterator[nn.Module]:
    """The conv and linear layers: the ones the reference code's per-weight scores cover."""
    return (m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def _strip_batchnorm(module: nn.Module) -> None:
    """Replace every BatchNorm by the identity, in place (synflow scores the BN-free network)."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, nn.Identity())
        else:
            _strip_batchnorm(child)


def synflow(net: nn.Module, config: NetworkConfig, batch: Batch | None) -> float:
    """Synaptic flow of the absolute-valued, BN-free network in double precision (data-free)."""
    _strip_batchnorm(net)
    net.double()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    output = net(torch.ones((1, *config.input_shape), dtype=torch.float64))
    output.sum().backward()
    return _saliency(net)


@torch.no_grad()
def _saliency(net: nn.Module) -> float:
    """``Σ |θ ⊙ ∂/∂θ|`` over the conv/linear weights that received a gradient (synflow and snip)."""
    return float(sum((m.weight * m.weight.grad).abs().sum() for m in _weighted_layers(net) if m.weight.grad is not None))


def _loss_gradients(net: nn.Module, batch: Batch) -> None:
    inputs, targets = batch
    net.train()
    F.cross_entropy(net(inputs), targets).backward()


def snip(net: nn.Module, config: NetworkConfig, batch: Batch | None) -> float:
    """Connection sensitivity ``Σ |θ ⊙ ∂L/∂θ|`` on one batch."""
    _loss_gradients(net, _require(batch, "snip"))
    return _saliency(net)


def grad_norm(net: nn.Module, config: NetworkConfig, batch: Batch | None) -> float:
    """Sum of the per-layer L2 norms of the loss gradient on one batch."""
    _loss_gradients(net, _require(batch, "grad_norm"))
    with torch.no_grad():
        return float(sum(m.weight.grad.norm() for m in _weighted_layers(net) if m.weight.grad is not None))


def jacob_cov(net: nn.Module, config: NetworkConfig, batch: Batch | None) -> float:
    """Mellor et al. (v1): how uncorrelated the input Jacobians of the batch's images are."""
    inputs = _require(batch, "jacob_cov")[0].clone().requires_grad_(True)
    net.train()
    output = net(inputs)
    output.backward(torch.ones_like(output))
    if inputs.grad is None:  # the output does not depend on the input at all
        return -math.inf
    jacobians = inputs.grad.reshape(len(inputs), -1).double()
    centred = jacobians - jacobians.mean(dim=1, keepdim=True)
    norms = centred.norm(dim=1)
    if not bool(torch.all(norms > 0)):  # an input-independent output: no correlation structure
        return -math.inf
    unit = centred / norms[:, None]
    eigenvalues = torch.linalg.eigvalsh(unit @ unit.T)  # the correlation matrix is symmetric
    return float(-(torch.log(eigenvalues + JACOB_COV_K) + 1.0 / (eigenvalues + JACOB_COV_K)).sum())


def naswot(net: nn.Module, config: NetworkConfig, batch: Batch | None) -> float:
    """Mellor et al. 2021: log-determinant of the Hamming-similarity kernel of ReLU activation codes."""
    inputs = _require(batch, "naswot")[0]
    kernel = torch.zeros((len(inputs), len(inputs)), dtype=torch.float64)

    def accumulate(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        # c cᵀ + (1−c)(1−c)ᵀ = 2 c cᵀ − s_i − s_j + n (s = active units per image, n = units): one
        # matmul; float32 counts stay exact up to 2^24 units per layer
        codes = (args[0].reshape(len(inputs), -1) > 0).float()
        active = codes.sum(dim=1, dtype=torch.float64)
        kernel.add_(2.0 * (codes @ codes.T).double() - active[:, None] - active[None, :] + codes.shape[1])

    hooks = [m.register_forward_hook(accumulate) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        net.train()
        with torch.no_grad():
            net(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) != 0.0 else -math.inf


def params(net: nn.Module, config: NetworkConfig, batch: Batch | None) -> float:
    """Trainable parameters of the scored network."""
    return float(count_parameters(net))


def _require(batch: Batch | None, proxy: str) -> Batch:
    if batch is None:
        raise ValueError(f"proxy {proxy!r} needs a batch of data")
    return batch


@dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy: higher scores predict higher accuracy."""

    name: str
    function: Callable[[nn.Module, NetworkConfig, Batch | None], float]
    needs_data: bool
    description: str
    unit: str = "score"


#: the registered proxies, by name
PROXIES: dict[str, Proxy] = {
    proxy.name: proxy
    for proxy in (
        Proxy("synflow", synflow, False, "synaptic flow of the |θ| network on an all-ones input (Tanaka et al. 2020)"),
        Proxy("snip", snip, True, "Σ|θ·∂L/∂θ| on one batch (Lee et al. 2019)"),
        Proxy("grad_norm", grad_norm, True, "Σ per-layer ‖∂L/∂W‖ on one batch"),
        Proxy("jacob_cov", jacob_cov, True, "input-Jacobian correlation score (Mellor et al. 2020, v1)"),
        Proxy("naswot", naswot, True, "log|K_H| of ReLU activation codes (Mellor et al. 2021)"),
        Proxy("params", params, False, "trainable parameters", unit="parameters"),
    )
}


def get_proxy(name: str) -> Proxy:
    """The proxy called ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    try:
        return PROXIES[name]
    except (KeyError, TypeError):
        raise UserError(f"unknown zero-cost proxy {name!r}; expected one of: {', '.join(PROXIES)}") from None


# ------------------------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32)
    images = (images - images.mean()) / images.std()
    return images, digits.target.astype(np.int64)


def proxy_batch(
    batch_size: int = 64,
    input_shape: tuple[int, int, int] = (3, 32, 32),
    num_classes: int = 10,
    data: str = "digits",
    seed: int = 0,
) -> Batch:
    """A seeded batch of ``(inputs, targets)`` for the data-based proxies (see the module docstring)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise UserError(f"batch_size must be an integer >= 2 (the kernels compare images), got {batch_size!r}")
    rng = np.random.default_rng(seed)
    channels, height, width = input_shape
    if data == "digits":
        images, labels = _digits()
        chosen = rng.choice(len(images), size=batch_size, replace=batch_size > len(images))
        small = torch.from_numpy(images[chosen])[:, None]
        inputs = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)
        inputs = inputs.expand(-1, channels, -1, -1).contiguous()
        targets = torch.from_numpy(labels[chosen] % num_classes)
    elif data == "gaussian":
        inputs = torch.from_numpy(rng.standard_normal((batch_size, *input_shape), dtype=np.float32))
        targets = torch.from_numpy(rng.integers(0, num_classes, size=batch_size))
    else:
        raise UserError(f"unknown proxy data source {data!r}; expected one of: {', '.join(DATA_SOURCES)}")
    return inputs, targets


# ---------------------------------------------------------------------------------------- scoring
def arch_ops(arch: str | Sequence[str]) -> Arch:
    """The 6 edge ops of ``arch``, an NB201 arch string or a sequence of op names
    (:class:`~.nb201.ArchError`, a ``ValueError``, for anything else)."""
    return parse_arch(arch) if isinstance(arch, str) else check_arch(arch)


def score(
    arch: str | Sequence[str],
    proxy: str,
    *,
    seed: int = 0,
    channels: int = 16,
    cells_per_stage: int = 5,
    dataset: str = "cifar10",
    batch: Batch | None = None,
    batch_size: int = 64,
    data: str = "digits",
    num_threads: int = 1,
) -> float:
    """Score one NB201 cell with one zero-cost proxy; higher predicts better accuracy.

    Args:
        arch: the cell, as an arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` or 6 op names.
        proxy: one of :data:`PROXIES`.
        seed: seeds the network's initialisation and the default batch; same seed, same score.
        channels, cells_per_stage: the network's size (NB201: 16 and 5).
        dataset: ``cifar10``, ``cifar100`` or ``ImageNet16-120`` (input shape and number of classes).
        batch: explicit ``(inputs, targets)``; default :func:`proxy_batch` (``batch_size``, ``data``, ``seed``).
        num_threads: torch intra-op threads while scoring (restored afterwards).
    """
    return score_many(
        arch, [proxy], seed=seed, channels=channels, cells_per_stage=cells_per_stage, dataset=dataset,
        batch=batch, batch_size=batch_size, data=data, num_threads=num_threads,
    )[proxy]


def score_many(
    arch: str | Sequence[str],
    proxies: Sequence[str],
    *,
    seed: int = 0,
    channels: int = 16,
    cells_per_stage: int = 5,
    dataset: str = "cifar10",
    batch: Batch | None = None,
    batch_size: int = 64,
    data: str = "digits",
    num_threads: int = 1,
) -> dict[str, float]:
    """Several proxies of one cell (arguments as :func:`score`); each on a freshly initialised network."""
    chosen = [get_proxy(name) for name in proxies]
    ops = arch_ops(arch)
    config = NetworkConfig.for_dataset(dataset, channels=channels, cells_per_stage=cells_per_stage)
    if batch is None and any(p.needs_data for p in chosen):
        batch = proxy_batch(batch_size, config.input_shape, config.num_classes, data, seed)
    elif batch is not None and tuple(batch[0].shape[1:]) != config.input_shape:
        raise ValueError(f"batch inputs have shape {tuple(batch[0].shape)}; {dataset} needs (batch, *{config.input_shape})")
    scores: dict[str, float] = {}
    with torch_threads(num_threads):
        for proxy in chosen:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                net = config.build(ops)
                scores[proxy.name] = proxy.function(net, config, batch if proxy.needs_data else None)
    return scores


# -------------------------------------------------------------------------------------- simulator
#: proxies that :class:`ProxyScoreSimulator` reports as natural logarithms
LOG_METRICS: frozenset[str] = frozenset({"synflow"})


class ProxyScoreSimulator(Simulator):
    """Zero-cost proxy scores of an NB201 cell as a :class:`~archgym.simulator.Simulator`.

    ``evaluate(design, workload)``: ``design`` holds the six ``edge_*`` op names
    (:data:`.nb201.EDGE_NAMES`, the NB201 design space's dict); ``workload`` is the data set
    (``cifar10``, ``cifar100``, ``ImageNet16-120``), which sets the input shape and class count.
    Metrics: one per chosen proxy, named after it, all to maximise; ``synflow`` is reported as its
    natural logarithm (the raw score spans ~40 orders of magnitude over the space, too wide for a
    reward or an observation; ranks are unchanged), the others as :func:`score` returns them. A
    non-finite value (a cell that passes no signal from its input: ``synflow`` 0,
    ``jacob_cov`` / ``naswot`` ``-inf``) raises :class:`~archgym.simulator.SimulationError`, which
    an env turns into its failure reward.
    Construction options are those of :func:`score`; ``num_threads`` is left out of the fingerprint
    (it changes speed, and at most the last bits of a score through summation order).
    """

    name = "nb201-proxy"
    version = "1"

    def __init__(
        self,
        proxies: str | Sequence[str] = ("synflow",),
        *,
        seed: int = 0,
        channels: int = 16,
        cells_per_stage: int = 5,
        batch_size: int = 64,
        data: str = "digits",
        num_threads: int = 1,
    ) -> None:
        names = (proxies,) if isinstance(proxies, str) else tuple(proxies)
        if not names:
            raise UserError(f"choose at least one proxy from: {', '.join(PROXIES)}")
        self.proxies = tuple(get_proxy(name).name for name in names)
        proxy_batch(batch_size, data=data)  # rejects a bad batch size or data source now, not at the first step
        NetworkConfig(channels, cells_per_stage).build(["none"] * len(EDGES))  # likewise the network size
        self.options: dict[str, Any] = dict(
            seed=seed, channels=channels, cells_per_stage=cells_per_stage, batch_size=batch_size, data=data,
            num_threads=num_threads,
        )
        self.metrics = tuple(
            Metric(name, f"ln({PROXIES[name].unit})" if name in LOG_METRICS else PROXIES[name].unit, "maximize",
                   PROXIES[name].description)
            for name in self.proxies
        )

    def fingerprint(self) -> str:
        options = ",".join(f"{k}={v}" for k, v in self.options.items() if k != "num_threads")
        return f"{self.identity}[{','.join(self.proxies)};{options}]"

    def workload_key(self, workload: str) -> str:
        NetworkConfig.for_dataset(workload)
        return workload

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        ops = design_to_arch(design)
        scores = score_many(ops, self.proxies, dataset=workload, **self.options)
        for name in LOG_METRICS.intersection(scores):
            scores[name] = math.log(scores[name]) if scores[name] > 0 else -math.inf
        bad = {name: value for name, value in scores.items() if not math.isfinite(value)}
        if bad:
            raise SimulationError(f"non-finite zero-cost score(s) {bad} for {ops}: the cell passes no signal from its input")
        return scores

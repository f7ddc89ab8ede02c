"""The weight-sharing supernet: data, seeded training, the checkpoint cache, evaluation, DARTS and GDAS."""

import os
import pickle

import numpy as np
import pytest
import torch

from archgym.simulators.nas import data_loaders, layers, nb201
from archgym.simulators.nas.data_loaders import ImageDataset, load_cifar10, load_dataset, restricted_loads
from archgym.simulators.nas.model import OP_NAMES, Cell, count_parameters, resolve_device
from archgym.simulators.nas.sampling import PathGroup, fair_paths, gdas_temperature, gumbel_hard_choices
from archgym.simulators.nas.supernet import (
    CheckpointError, Supernet, SupernetConfig, _metadata, build_network, checkpoint_path, evaluate_network,
    load_checkpoint, load_or_train_supernet, preserved_batchnorm, recalibrate_batchnorm,
    save_checkpoint, skeleton, train_supernet,
)
from archgym.simulators.nas.supernet_simulator import SupernetSimulator, ensemble_configs

torch.set_num_threads(1)

CELL = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none", "nor_conv_3x3")


@pytest.fixture(scope="module")
def digits() -> ImageDataset:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def tiny(digits) -> ImageDataset:
    """A 256/128-image slice of digits: real data, small enough for a training run per test."""
    return ImageDataset("digits", digits.train_x[:256], digits.train_y[:256], digits.valid_x[:128],
                        digits.valid_y[:128], 10)


def config(**overrides) -> SupernetConfig:
    return SupernetConfig(**{"channels": 4, "cells_per_stage": 1, "epochs": 1, "batch_size": 64, **overrides})


@pytest.fixture(scope="module")
def spos(tiny) -> Supernet:
    return train_supernet(config(epochs=2), tiny)


@pytest.fixture(scope="module")
def darts(tiny) -> Supernet:
    return train_supernet(config(mode="darts", epochs=2, arch_lr=0.05), tiny)


# -- data ------------------------------------------------------------------------------------------
def test_digits_split_is_seeded_stratified_and_standardised(digits):
    assert digits.input_shape == (1, 8, 8) and digits.num_classes == 10
    assert len(digits.train_y) + len(digits.valid_y) == 1797
    valid_share = np.bincount(digits.valid_y.numpy(), minlength=10) / np.bincount(
        np.concatenate([digits.train_y.numpy(), digits.valid_y.numpy()]), minlength=10)
    assert np.allclose(valid_share, 0.25, atol=0.02)  # every class split 75/25
    assert abs(float(digits.train_x.mean())) < 1e-4 and abs(float(digits.train_x.std()) - 1) < 1e-3
    assert load_dataset("digits").fingerprint() == digits.fingerprint()
    other = load_dataset("digits", seed=1)
    assert other.fingerprint() != digits.fingerprint() and not torch.equal(other.train_y, digits.train_y)


def _write_fake_cifar(root, images_per_batch=4):
    """A CIFAR-10 python folder in the official layout (dicts with bytes keys, pickled) with random pixels."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"data": rng.integers(0, 256, (images_per_batch, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, images_per_batch).tolist(), b"filenames": [b"x.png"] * images_per_batch}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


#: a mock of NAS-Bench-201's split for the 20-image fake CIFAR folder: images 0, 2, 4, ... train, the rest validate
MOCK_SPLIT = np.arange(20) % 2 == 0


@pytest.fixture
def mock_split(monkeypatch):
    """Replace NAS-Bench-201's 50,000-image split by :data:`MOCK_SPLIT` (the fake folder holds 20 images)."""
    monkeypatch.setattr(data_loaders, "nb201_cifar10_split", lambda: MOCK_SPLIT)


def test_cifar10_loads_the_python_batches_from_a_local_folder(tmp_path, mock_split):
    _write_fake_cifar(tmp_path)
    data = load_dataset("cifar10", tmp_path)
    assert data.input_shape == (3, 32, 32) and len(data.train_y) == 10 and len(data.valid_y) == 10
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    pixels = raw[b"data"].reshape(-1, 3, 32, 32) / 255.0
    # standardised per channel with the train split's statistics: a positive affine map of the pixels
    assert np.corrcoef(pixels[0].ravel(), data.train_x[0].numpy().ravel())[0, 1] > 0.999
    assert np.corrcoef(pixels[1].ravel(), data.valid_x[0].numpy().ravel())[0, 1] > 0.999
    assert data.train_y[:2].tolist() == raw[b"labels"][0::2] and data.valid_y[:2].tolist() == raw[b"labels"][1::2]
    assert len(load_cifar10(tmp_path / "cifar-10-batches-py", limit=3).train_y) == 3  # the folder itself works too


def test_cifar10_never_reads_the_test_batch(tmp_path, mock_split):
    folder = _write_fake_cifar(tmp_path)
    (folder / "test_batch").unlink()
    data = load_dataset("cifar10", tmp_path)
    assert len(data.train_y) + len(data.valid_y) == 20  # both splits come from the five training batches


def test_cifar10_split_is_nas_bench_201s_own(tmp_path):
    split = data_loaders.nb201_cifar10_split()
    assert split.shape == (50_000,) and split.sum() == 25_000
    # the first entries of the benchmark's cifar-split.txt: train 0, 5, 7, 11, 13; valid 1, 2, 3, 4, 6
    assert np.flatnonzero(split)[:5].tolist() == [0, 5, 7, 11, 13]
    assert np.flatnonzero(~split)[:5].tolist() == [1, 2, 3, 4, 6]
    _write_fake_cifar(tmp_path)  # 20 images: not the unmodified CIFAR-10 training set
    with pytest.raises(ValueError, match="covers 50000 training images.*hold 20"):
        load_dataset("cifar10", tmp_path)


def test_cifar10_missing_folder_names_the_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(ValueError, match="data_dir"):
        load_dataset("cifar10")


def test_cifar_unpickler_refuses_code(tmp_path, mock_split):
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').close()",))

    with pytest.raises(pickle.UnpicklingError, match="refusing to load global .*exec"):
        restricted_loads(pickle.dumps({b"data": Exploit()}, protocol=2))
    assert not marker.exists()
    folder = _write_fake_cifar(tmp_path / "evil")
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Exploit(), b"labels": []}, protocol=2))
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        load_dataset("cifar10", tmp_path / "evil")
    assert not marker.exists()


def test_bad_dataset_arguments_are_named():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*digits, cifar10"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="valid_fraction"):
        load_dataset("digits", valid_fraction=1.5)
    with pytest.raises(ValueError, match="data_dir and limit apply to cifar10"):
        load_dataset("digits", "/tmp")
    with pytest.raises(ValueError, match="limit"):
        load_dataset("cifar10", "/tmp", limit=0)


# -- training and evaluation ----------------------------------------------------------------------------
def test_same_seed_same_weights_different_seed_different_weights(tiny, spos):
    again = train_supernet(config(epochs=2), tiny)
    for (name, a), b in zip(spos.network.state_dict().items(), again.network.state_dict().values()):
        assert torch.equal(a, b), name
    assert spos.evaluate(CELL) == again.evaluate(CELL)
    other = train_supernet(config(epochs=2, seed=1), tiny)
    assert not torch.equal(other.network.classifier.weight, spos.network.classifier.weight)


def test_training_learns(digits, spos):
    assert spos.history.steps == 2 * 4 and len(spos.history.loss) == 2
    longer = train_supernet(config(epochs=3, channels=8), digits)
    assert longer.history.loss[-1] < longer.history.loss[0]
    # chance is 0.1 (sd 0.014 on 450 images); three SPOS epochs get about 0.3
    assert longer.evaluate(("nor_conv_3x3",) * 6, bn_batches=2)["accuracy"] > 0.2


def test_metrics_are_the_standalone_networks(tiny, spos):
    metrics = spos.evaluate(CELL)
    assert set(metrics) == {"accuracy", "loss", "params", "flops"} and 0 <= metrics["accuracy"] <= 1
    cfg = spos.config
    assert metrics["params"] == count_parameters(build_network(cfg, tiny, CELL))
    # two independent counts agree: the torch module's parameters and the layer table's
    assert metrics["params"] == layers.count_params(CELL, skeleton(cfg, tiny))
    assert metrics["flops"] == layers.count_flops(CELL, skeleton(cfg, tiny))
    assert spos.evaluate(("none",) * 6)["flops"] < metrics["flops"]


def test_batchnorm_recalibration_changes_statistics_and_restores_them(tiny, spos):
    network = spos.network
    bn = network.stem[1]
    before = {k: v.clone() for k, v in network.state_dict().items()}
    selection = [3, 1, 2, 4, 0, 3]
    with preserved_batchnorm(network):
        recalibrate_batchnorm(network, selection, tiny.train_x, batches=2, batch_size=64)
        assert not torch.allclose(bn.running_var, before["stem.1.running_var"])
        assert int(bn.num_batches_tracked) == 2
    for key, value in network.state_dict().items():
        assert torch.equal(value, before[key]), key
    spos.evaluate(CELL, bn_batches=2)
    assert all(torch.equal(v, before[k]) for k, v in network.state_dict().items())  # evaluate keeps the supernet
    with pytest.raises(ValueError, match="non-negative"):
        spos.evaluate(CELL, bn_batches=-1)


def test_isomorphic_cells_score_the_same(spos):
    # node 3 = avg(conv(x)) + avg(x) written two ways; the shared weights make them one function
    a = ("nor_conv_3x3", "skip_connect", "none", "none", "avg_pool_3x3", "avg_pool_3x3")
    b = ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "avg_pool_3x3", "none")
    assert nb201.canonical_key(a) == nb201.canonical_key(b)
    assert spos.evaluate(a)["accuracy"] == spos.evaluate(b)["accuracy"]


# -- DARTS --------------------------------------------------------------------------------------------
def test_darts_alpha_gets_gradients(tiny, darts):
    network = build_network(darts.config, tiny)
    alpha = torch.zeros(6, 5, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(network(tiny.valid_x[:32], list(torch.softmax(alpha, 1))), tiny.valid_y[:32])
    loss.backward()
    assert torch.isfinite(alpha.grad).all() and (alpha.grad.abs() > 0).all()
    # the arch step moves α: the same run with a 100x smaller α learning rate ends elsewhere
    slow = train_supernet(config(mode="darts", epochs=2, arch_lr=5e-4), tiny)
    assert (darts.alpha - slow.alpha).abs().max() > 10 * (slow.alpha.abs().max())


def test_argmax_selection_reads_alpha(darts):
    alpha = torch.zeros(6, 5)
    expected = ("skip_connect", "nor_conv_3x3", "none", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")
    for edge, op in enumerate(expected):
        alpha[edge, OP_NAMES.index(op)] = 1.0
    chosen = Supernet(darts.config, darts.dataset, darts.network, alpha).select_argmax()
    assert chosen == expected
    assert darts.select_argmax() == tuple(OP_NAMES[i] for i in darts.alpha.argmax(1).tolist())


def test_perturbation_selection_picks_the_op_whose_removal_hurts_most(tiny, darts):
    chosen = darts.select_perturbation(seed=0)
    nb201.check_arch(chosen)
    assert darts.select_perturbation(seed=0) == chosen  # deterministic
    # the first edge visited: its choice maximises the accuracy drop when masked
    first = torch.randperm(6, generator=torch.Generator().manual_seed(0))[0].item()
    weights = torch.softmax(darts.alpha, 1)
    valid = (tiny.valid_x, tiny.valid_y)
    base = evaluate_network(darts.network, list(weights), *valid)[0]
    drops = []
    for op in range(5):
        masked = weights.clone()
        masked[first, op] = 0
        drops.append(base - evaluate_network(darts.network, list(masked), *valid)[0])
    assert drops[OP_NAMES.index(chosen[first])] == max(drops)
    state = {k: v.clone() for k, v in darts.network.state_dict().items()}
    nb201.check_arch(darts.select_perturbation(finetune_epochs=1))
    assert all(torch.equal(v, state[k]) for k, v in darts.network.state_dict().items())  # tuned a copy


def test_selection_needs_darts(spos):
    with pytest.raises(ValueError, match="mode='darts'"):
        spos.select_argmax()


# -- GDAS ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gdas(tiny) -> Supernet:
    return train_supernet(config(mode="gdas", epochs=2, arch_lr=0.05), tiny)


def test_gdas_training_is_seeded(tiny, gdas):
    again = train_supernet(config(mode="gdas", epochs=2, arch_lr=0.05), tiny)
    assert torch.equal(gdas.alpha, again.alpha)
    for (name, a), b in zip(gdas.network.state_dict().items(), again.network.state_dict().values()):
        assert torch.equal(a, b), name
    other = train_supernet(config(mode="gdas", epochs=2, arch_lr=0.05, seed=1), tiny)
    assert not torch.equal(other.alpha, gdas.alpha)
    assert gdas.history.steps == 2 * 4 and len(gdas.history.loss) == 2


def test_gdas_alpha_gets_gradients_and_moves(tiny, gdas):
    network = build_network(gdas.config, tiny)
    alpha = torch.zeros(6, 5, requires_grad=True)
    choices = gumbel_hard_choices(alpha, 10.0, torch.Generator().manual_seed(0))
    torch.nn.functional.cross_entropy(network(tiny.valid_x[:32], choices), tiny.valid_y[:32]).backward()
    assert torch.isfinite(alpha.grad).all() and (alpha.grad != 0).all()  # every α, not only the sampled ops'
    slow = train_supernet(config(mode="gdas", epochs=2, arch_lr=5e-4), tiny)
    assert (gdas.alpha - slow.alpha).abs().max() > 10 * slow.alpha.abs().max()


def test_gdas_training_computes_only_the_sampled_op(tiny, monkeypatch):
    passes, calls = [0], []

    def instrumented(*args, **kwargs):
        """build_network with hooks: count forward passes, and every candidate op's call as (pass, cell, edge)."""
        network = build_network(*args, **kwargs)
        network.register_forward_pre_hook(lambda *_: passes.__setitem__(0, passes[0] + 1))
        for c, cell in enumerate(b for b in network.blocks if isinstance(b, Cell)):
            for e, ops in enumerate(cell.edges):
                for op in ops:
                    op.register_forward_hook(lambda *_, key=(c, e): calls.append((passes[0], *key)))
        return network

    monkeypatch.setattr("archgym.simulators.nas.supernet.build_network", instrumented)
    trained = train_supernet(config(mode="gdas"), tiny)
    assert passes[0] == 2 * trained.history.steps  # an α step and a weight step per batch
    # every pass ran exactly one op on each of the 6 edges of the 3 cells (1 cell per stage)
    expected = [(p, c, e) for p in range(1, passes[0] + 1) for c in range(3) for e in range(6)]
    assert sorted(calls) == expected


def test_gumbel_samples_follow_softmax_alpha_at_any_temperature():
    probabilities = torch.tensor([0.05, 0.1, 0.15, 0.3, 0.4])
    alpha = probabilities.log().repeat(6, 1)
    for tau in (10.0, 0.1):
        generator = torch.Generator().manual_seed(0)
        counts = torch.zeros(5)
        for _ in range(500):
            for choice in gumbel_hard_choices(alpha, tau, generator):
                counts[choice.index] += 1
                one_hot = torch.nn.functional.one_hot(torch.tensor(choice.index), 5).float()
                torch.testing.assert_close(choice.weights.detach(), one_hot)  # hard in value
        # the Gumbel-max trick: argmax(log p + g) ~ p; 3000 draws, binomial sd <= 0.009
        assert torch.allclose(counts / counts.sum(), probabilities, atol=0.03)


def test_gdas_temperature_anneals_linearly_from_tau_max_to_tau_min():
    cfg = config(mode="gdas", epochs=5)
    assert [gdas_temperature(cfg, e) for e in range(5)] == pytest.approx([10.0, 7.525, 5.05, 2.575, 0.1])
    assert gdas_temperature(config(mode="gdas", epochs=1), 0) == 10.0
    assert gdas_temperature(config(mode="gdas", epochs=3, tau_max=2.0, tau_min=1.0), 1) == pytest.approx(1.5)


def test_gdas_argmax_selection_and_checkpoint(tmp_path, tiny, gdas):
    chosen = gdas.select_argmax()
    assert nb201.check_arch(chosen) == chosen
    assert chosen == tuple(OP_NAMES[i] for i in gdas.alpha.argmax(1).tolist())
    loaded = load_checkpoint(save_checkpoint(gdas, tmp_path / "g.pt"), gdas.config, tiny)
    assert torch.equal(loaded.alpha, gdas.alpha) and loaded.select_argmax() == chosen
    assert loaded.evaluate(CELL) == gdas.evaluate(CELL)


# -- checkpoint cache ------------------------------------------------------------------------------------
def test_second_load_reuses_the_checkpoint_without_training(tmp_path, tiny, monkeypatch):
    cfg = config()
    first = load_or_train_supernet(cfg, tiny, cache_dir=tmp_path)
    assert not first.from_cache and first.history.steps > 0 and first.checkpoint.exists()
    mtime = first.checkpoint.stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("trained although a checkpoint exists")

    monkeypatch.setattr("archgym.simulators.nas.supernet.train_supernet", no_training)
    second = load_or_train_supernet(cfg, tiny, cache_dir=tmp_path)
    assert second.from_cache and second.history.steps == 0 and second.history.loss == first.history.loss
    assert second.checkpoint.stat().st_mtime_ns == mtime
    assert second.evaluate(CELL) == first.evaluate(CELL)


def test_cache_key_covers_config_seed_and_data(tmp_path, tiny, digits):
    path = checkpoint_path(config(), tiny, tmp_path)
    assert path.parent == tmp_path
    assert checkpoint_path(config(seed=1), tiny, tmp_path) != path
    assert checkpoint_path(config(channels=8), tiny, tmp_path) != path
    assert checkpoint_path(config(), digits, tmp_path) != path
    modes = {checkpoint_path(config(mode=mode), tiny, tmp_path) for mode in ("spos", "darts", "gdas")}
    assert len(modes) == 3
    assert checkpoint_path(config(mode="gdas", tau_min=0.5), tiny, tmp_path) != checkpoint_path(
        config(mode="gdas"), tiny, tmp_path)


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path, tiny):
    monkeypatch.setenv("ARCHGYM_CACHE_DIR", str(tmp_path))
    assert checkpoint_path(config(), tiny).parent == tmp_path / "supernet"


def test_corrupt_checkpoint_is_retrained_with_a_warning_or_rejected(tmp_path, tiny):
    cfg = config()
    path = checkpoint_path(cfg, tiny, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_or_train_supernet(cfg, tiny, cache_dir=tmp_path, on_bad_checkpoint="error")
    with pytest.warns(RuntimeWarning, match="cannot read.*retraining"):
        supernet = load_or_train_supernet(cfg, tiny, cache_dir=tmp_path)
    assert not supernet.from_cache
    assert load_checkpoint(path, cfg, tiny).from_cache  # replaced by a good one
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(path, cfg, tiny)


def test_mismatched_checkpoint_is_rejected_by_name(tmp_path, tiny):
    cfg, other = config(), config(seed=1)
    trained = load_or_train_supernet(cfg, tiny, cache_dir=tmp_path)
    with pytest.raises(CheckpointError, match="made for something else.*config"):
        load_checkpoint(trained.checkpoint, other, tiny)
    # copied under the other config's name: retrained, never used
    target = checkpoint_path(other, tiny, tmp_path)
    target.write_bytes(trained.checkpoint.read_bytes())
    with pytest.warns(RuntimeWarning, match="made for something else"):
        assert not load_or_train_supernet(other, tiny, cache_dir=tmp_path).from_cache


def test_tampered_tensors_are_rejected_before_loading(tmp_path, tiny, spos):
    path = save_checkpoint(spos, tmp_path / "c.pt")
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["classifier.weight"] = torch.zeros(3, 3)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="classifier.weight"):
        load_checkpoint(path, spos.config, tiny)
    payload = torch.load(save_checkpoint(spos, path), weights_only=True)
    payload["state_dict"]["stem.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="non-finite"):
        load_checkpoint(path, spos.config, tiny)


class _NotAllowed:
    """Any object outside torch's weights-only allow-list."""


def test_checkpoints_load_without_executing_code(tmp_path, tiny, spos):
    path = save_checkpoint(spos, tmp_path / "c.pt")
    payload = torch.load(path, weights_only=True)
    payload["history"] = _NotAllowed()
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="cannot read.*asks for the Python object .*_NotAllowed") as caught:
        load_checkpoint(path, spos.config, tiny)
    assert "weights_only=False" not in str(caught.value) and caught.value.__cause__ is None


class _RunsCode:
    """What a malicious checkpoint holds: an object whose unpickling calls a function."""

    def __reduce__(self):
        return (os.system, ("echo code ran",))


def test_a_code_running_checkpoint_is_refused_in_our_words(tmp_path, tiny, spos, capfd):
    path = save_checkpoint(spos, tmp_path / "c.pt")
    payload = torch.load(path, weights_only=True)
    payload["history"] = _RunsCode()
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"asks for the Python object \w+\.system.*no code in them is run") as caught:
        load_checkpoint(path, spos.config, tiny)
    message = str(caught.value)
    assert "weights_only=False" not in message and "trusted source" not in message and caught.value.__cause__ is None
    assert "code ran" not in capfd.readouterr().out


# -- simulator and bad names -------------------------------------------------------------------------
def test_simulator_evaluates_designs_and_rejects_other_workloads(spos):
    simulator = SupernetSimulator(spos, bn_batches=1)
    metrics = simulator.evaluate(nb201.arch_to_design(CELL), "digits")
    assert metrics == spos.evaluate(CELL, bn_batches=1)
    assert spos.key in simulator.fingerprint() and "bn=1" in simulator.fingerprint()
    with pytest.raises(ValueError, match="trained on 'digits'.*'cifar10'"):
        simulator.evaluate(nb201.arch_to_design(CELL), "cifar10")
    with pytest.raises(nb201.ArchError, match="conv_5x5"):
        simulator.evaluate({**nb201.arch_to_design(CELL), "edge_1_0": "conv_5x5"}, "digits")


def test_bad_configuration_is_named(tiny):
    with pytest.raises(ValueError, match="unknown supernet mode 'enas'.*spos, darts"):
        config(mode="enas")
    with pytest.raises(ValueError, match="epochs"):
        config(epochs=0)
    with pytest.raises(ValueError, match="tau_min \\(5.0\\) must not exceed tau_max \\(1.0\\)"):
        config(mode="gdas", tau_max=1.0, tau_min=5.0)
    with pytest.raises(ValueError, match="tau_max must be a positive number, got 0"):
        config(mode="gdas", tau_max=0)
    with pytest.raises(ValueError, match="on_bad_checkpoint 'ignore'"):
        load_or_train_supernet(config(), tiny, on_bad_checkpoint="ignore")
    with pytest.raises(ValueError, match="num_threads"):
        train_supernet(config(), tiny, num_threads=0)


# -- device -----------------------------------------------------------------------------------------
def test_device_argument_is_validated_with_a_clear_error(tiny, tmp_path):
    assert resolve_device(None) == resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "tpu", "", "mps"):
        with pytest.raises(ValueError, match=f"unknown device {bad!r}.*cpu, cuda, auto"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' needs CUDA"):
            train_supernet(config(), tiny, device="cuda")
        with pytest.raises(ValueError, match="device 'cuda:0' needs CUDA"):
            load_or_train_supernet(config(), tiny, cache_dir=tmp_path, device="cuda:0")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        train_supernet(config(), tiny, device="gpu")
    assert not list(tmp_path.iterdir())  # nothing trained or cached before the error


def test_explicit_cpu_device_is_the_default_run(tiny, spos):
    again = train_supernet(config(epochs=2), tiny, device="cpu")
    assert again.device == torch.device("cpu")
    assert torch.equal(again.network.classifier.weight, spos.network.classifier.weight)
    assert again.evaluate(CELL, bn_batches=1) == spos.evaluate(CELL, bn_batches=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu_within_tolerance(tiny, spos, tmp_path):
    # the same weights evaluate alike on both devices
    moved = load_checkpoint(save_checkpoint(spos, tmp_path / "s.pt"), spos.config, tiny).to("cuda")
    cpu, gpu = spos.evaluate(CELL, bn_batches=1), moved.evaluate(CELL, bn_batches=1)
    assert abs(cpu["loss"] - gpu["loss"]) < 1e-4 and abs(cpu["accuracy"] - gpu["accuracy"]) <= 1 / len(tiny.valid_y)
    # the same seeded run trained on either device ends with nearly the same weights
    trained = train_supernet(config(epochs=2), tiny, device="cuda")
    assert trained.device.type == "cuda"
    for (name, a), b in zip(spos.network.state_dict().items(), trained.network.state_dict().values()):
        assert torch.allclose(a.float(), b.cpu().float(), atol=1e-3, rtol=1e-3), name


# -- FairNAS' strict-fairness sampling ------------------------------------------------------------------
def test_fair_paths_use_every_op_of_every_edge_exactly_once():
    generator = torch.Generator().manual_seed(0)
    groups = [fair_paths(generator) for _ in range(50)]
    for group in groups:
        assert isinstance(group, PathGroup) and len(group) == len(OP_NAMES)
        assert all(len(path) == 6 for path in group)
        for edge in range(6):
            assert sorted(path[edge] for path in group) == list(range(len(OP_NAMES)))
    # the permutations are random, not a fixed rotation: over 50 groups the first path varies on every edge
    assert all(len({group[0][edge] for group in groups}) == len(OP_NAMES) for edge in range(6))
    again = torch.Generator().manual_seed(0)
    assert [fair_paths(again) for _ in range(50)] == groups


def test_fair_training_trains_each_op_once_per_step_and_is_seeded(tiny, spos, monkeypatch):
    calls: list[tuple[int, int, int]] = []
    passes = [0]

    def instrumented(*args, **kwargs):
        """build_network with hooks counting forward passes and every candidate op's call as (pass, edge, op)."""
        network = build_network(*args, **kwargs)
        network.register_forward_pre_hook(lambda *_: passes.__setitem__(0, passes[0] + 1))
        first = next(b for b in network.blocks if isinstance(b, Cell))
        for e, ops in enumerate(first.edges):
            for o, op in enumerate(ops):
                op.register_forward_hook(lambda *_, key=(e, o): calls.append((passes[0], *key)))
        return network

    monkeypatch.setattr("archgym.simulators.nas.supernet.build_network", instrumented)
    fair = train_supernet(config(epochs=2, sampling="fair"), tiny)
    steps = fair.history.steps
    assert steps == spos.history.steps and passes[0] == len(OP_NAMES) * steps  # five paths, one update per batch
    for step in range(steps):
        group = range(step * len(OP_NAMES) + 1, (step + 1) * len(OP_NAMES) + 1)
        for edge in range(6):
            # 'none' (op 0) computes nothing, so no hook fires for it; the four others run once each
            assert sorted(o for p, e, o in calls if p in group and e == edge) == list(range(1, len(OP_NAMES)))
    monkeypatch.undo()
    again = train_supernet(config(epochs=2, sampling="fair"), tiny)
    for (name, a), b in zip(fair.network.state_dict().items(), again.network.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(fair.network.classifier.weight, spos.network.classifier.weight)


def test_fair_sampling_is_checked_and_keyed(tmp_path, tiny):
    with pytest.raises(ValueError, match="unknown path sampling 'greedy'.*uniform, fair"):
        config(sampling="greedy")
    with pytest.raises(ValueError, match="sampling='fair' applies to mode 'spos' only, not 'darts'"):
        config(mode="darts", sampling="fair")
    assert checkpoint_path(config(sampling="fair"), tiny, tmp_path) != checkpoint_path(config(), tiny, tmp_path)
    # checkpoints made before the option existed keep their key: 'sampling' is left out at 'uniform'
    assert "sampling" not in _metadata(config(), tiny)["config"]


# -- scoring on all images (Supernet-v2) ------------------------------------------------------------------
def test_split_all_scores_train_and_validation_images_together(tiny, spos):
    valid, every = spos.evaluate(CELL, bn_batches=1), spos.evaluate(CELL, bn_batches=1, split="all")
    assert valid == spos.evaluate(CELL, bn_batches=1, split="valid")
    network, selection = spos.network, [OP_NAMES.index(op) for op in CELL]
    with preserved_batchnorm(network):
        recalibrate_batchnorm(network, selection, tiny.train_x, 1, spos.config.batch_size, spos.config.seed)
        train_acc, train_loss = evaluate_network(network, selection, tiny.train_x, tiny.train_y)
        valid_acc, valid_loss = evaluate_network(network, selection, tiny.valid_x, tiny.valid_y)
    n_train, n_valid = len(tiny.train_y), len(tiny.valid_y)
    assert valid["loss"] == pytest.approx(valid_loss)
    # the image-weighted mean of the two splits (256 train + 128 validation images)
    assert every["loss"] == pytest.approx((n_train * train_loss + n_valid * valid_loss) / (n_train + n_valid))
    assert every["accuracy"] == pytest.approx((n_train * train_acc + n_valid * valid_acc) / (n_train + n_valid))
    assert every["params"] == valid["params"] and every["loss"] != valid["loss"]
    with pytest.raises(ValueError, match="unknown evaluation split 'test'.*valid, all"):
        spos.evaluate(CELL, split="test")


def test_simulator_split_is_passed_on_and_fingerprinted(spos):
    valid, every = SupernetSimulator(spos, bn_batches=1), SupernetSimulator(spos, bn_batches=1, split="all")
    design = nb201.arch_to_design(CELL)
    assert every.evaluate(design, "digits") == spos.evaluate(CELL, bn_batches=1, split="all")
    assert "split" not in valid.fingerprint()  # evaluations cached before the option keep their key
    assert every.fingerprint() == f"{valid.fingerprint()}|split=all"
    with pytest.raises(ValueError, match="unknown evaluation split 'train'"):
        SupernetSimulator(spos, split="train")


# -- seed ensembles ----------------------------------------------------------------------------------
def test_one_member_ensemble_is_the_single_supernet(spos):
    single, one = SupernetSimulator(spos, bn_batches=1, split="all"), SupernetSimulator([spos], bn_batches=1, split="all")
    design = nb201.arch_to_design(CELL)
    assert one.evaluate(design, "digits") == single.evaluate(design, "digits")
    assert one.fingerprint() == single.fingerprint() and one.supernet is spos and one.supernets == (spos,)


def test_ensemble_averages_members_that_differ_by_seed(tiny, spos):
    members = [train_supernet(c, tiny) for c in ensemble_configs(config(epochs=2), 2)]
    assert [m.config.seed for m in members] == [0, 1]
    assert members[0].key == spos.key  # member 0 is the single supernet itself
    assert any(not torch.equal(a, b) for a, b in zip(members[0].network.state_dict().values(),
                                                     members[1].network.state_dict().values()))
    simulator = SupernetSimulator(members, bn_batches=1, split="all")
    design = nb201.arch_to_design(CELL)
    each = [m.evaluate(CELL, bn_batches=1, split="all") for m in members]
    assert each[0]["loss"] != each[1]["loss"]
    metrics = simulator.evaluate(design, "digits")
    assert metrics["loss"] == pytest.approx((each[0]["loss"] + each[1]["loss"]) / 2)
    assert metrics["accuracy"] == pytest.approx((each[0]["accuracy"] + each[1]["accuracy"]) / 2)
    assert metrics["params"] == each[0]["params"] and metrics["flops"] == each[0]["flops"]
    assert simulator.evaluate(design, "digits") == metrics  # deterministic
    single = SupernetSimulator(members[0], bn_batches=1, split="all").fingerprint()
    assert simulator.fingerprint() == f"{single}|ensemble={members[1].key}"


def test_bad_ensembles_are_named(tiny, spos, digits):
    for bad in (0, -2, 2.0, True, "3"):
        with pytest.raises(ValueError, match=f"ensemble must be a positive integer.*got {bad!r}"):
            ensemble_configs(config(), bad)
    with pytest.raises(ValueError, match="at least one supernet"):
        SupernetSimulator([])
    with pytest.raises(ValueError, match="distinct supernets"):
        SupernetSimulator([spos, spos])
    other = Supernet(spos.config, digits, spos.network)  # same weights, other data
    with pytest.raises(ValueError, match="share one dataset"):
        SupernetSimulator([spos, other])

"""archgym environments. Importing :mod:`archgym` registers them with gymnasium.

Each env module provides ``metadata()``, its design space, metrics and default objective
without constructing the env (:func:`archgym.spec_metadata`).
"""

from archgym.registration import register

register(
    "archgym/DRAM-v0",
    entry_point="archgym.envs.dram:DRAMEnv",
    metadata="archgym.envs.dram:metadata",
    max_episode_steps=100,
    description="DDR memory-controller design (ArchGym's DRAMSys knobs) on a cycle-level trace-driven simulator",
)

register(
    "archgym/Accelerator-v0",
    entry_point="archgym.envs.accelerator:AcceleratorEnv",
    metadata="archgym.envs.accelerator:metadata",
    max_episode_steps=100,
    description="DNN-accelerator design (PE array, dataflow, buffers, bandwidths) on an analytical, ZigZag or SCALE-Sim back-end",
)

register(
    "archgym/Synthetic-v0",
    entry_point="archgym.envs.synthetic:SyntheticEnv",
    metadata="archgym.envs.synthetic:metadata",
    max_episode_steps=100,
    description="separable cost function with a known optimum (10 parameters, 1,048,576 designs) for testing agents",
)

register(
    "archgym/Supernet-v0",
    entry_point="archgym.envs.supernet:SupernetEnv",
    metadata="archgym.envs.supernet:metadata",
    max_episode_steps=100,
    description="NAS-Bench-201 cells scored by a weight-sharing supernet (SPOS, DARTS or GDAS) trained on the CPU on real data",
)

register(
    "archgym/Supernet-v1",
    entry_point="archgym.envs.supernet:SupernetEnv",
    metadata="archgym.envs.supernet:metadata",
    max_episode_steps=100,
    description="Supernet-v0 with defaults that rank cells better than their parameter count (longer training, BatchNorm recalibration)",
    kwargs={"epochs": 60, "bn_batches": 16},
)

register(
    "archgym/Supernet-v2",
    entry_point="archgym.envs.supernet:SupernetEnv",
    metadata="archgym.envs.supernet:metadata",
    max_episode_steps=100,
    description="Supernet-v1 trained 300 epochs, cells scored by cross-entropy on all digits images (reward -loss); ranks better than v1, still below parameter count",
    kwargs={"epochs": 300, "bn_batches": 16, "split": "all", "targets": {"loss": 1.0}},
)

register(
    "archgym/NASBench201-v0",
    entry_point="archgym.envs.nasbench201:NASBench201Env",
    metadata="archgym.envs.nasbench201:metadata",
    max_episode_steps=100,
    description="NAS-Bench-201 cell search on the exact tables: accuracy, device latency, params, FLOPs (hardware-aware optional)",
)

register(
    "archgym/CoDesign-v0",
    entry_point="archgym.envs.codesign:CoDesignEnv",
    metadata="archgym.envs.codesign:metadata",
    max_episode_steps=100,
    description="NAS-Bench-201 cell and DNN accelerator designed together (NASAIC): accuracy, latency, energy, area",
)

# -- v1: rewards in interpretable units (issue 11). v0 ids stay as they were, for reproduction.
register(
    "archgym/DRAM-v1",
    entry_point="archgym.envs.dram:DRAMEnv",
    metadata="archgym.envs.dram:metadata",
    max_episode_steps=100,
    description="DRAM-v0 with reward log_ratio (0 = baseline controller, +0.1 = 10% better latency/power) on the cloud-1 trace",
    kwargs={"workload": "cloud-1", "reward": "log_ratio"},
)

register(
    "archgym/Accelerator-v1",
    entry_point="archgym.envs.accelerator:AcceleratorEnv",
    metadata="archgym.envs.accelerator:metadata",
    max_episode_steps=100,
    description="Accelerator-v0 with reward log_ratio (0 = baseline design, +0.1 = 10% better latency/energy)",
    kwargs={"reward": "log_ratio"},
)

register(
    "archgym/CoDesign-v1",
    entry_point="archgym.envs.codesign:CoDesignEnv",
    metadata="archgym.envs.codesign:metadata",
    max_episode_steps=100,
    description="CoDesign-v0 with reward log_ratio (0 = baseline, +0.1 = 10% better accuracy/latency/energy/area)",
    kwargs={"reward": "log_ratio"},
)

register(
    "archgym/Training-v0",
    entry_point="archgym.envs.training:TrainingEnv",
    metadata="archgym.envs.training:metadata",
    max_episode_steps=100,
    description="distributed-training system: network topology, link bandwidths, collective algorithms, chunks and DP x TP x PP (ASTRA-sim analytical)",
)

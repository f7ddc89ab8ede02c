"""archgym environments. Importing :mod:`archgym` registers them with gymnasium."""

from archgym.registration import register

register(
    "archgym/DRAM-v0",
    entry_point="archgym.envs.dram:DRAMEnv",
    max_episode_steps=100,
    description="DDR memory-controller design (ArchGym's DRAMSys knobs) on a cycle-level trace-driven simulator",
)

register(
    "archgym/Accelerator-v0",
    entry_point="archgym.envs.accelerator:AcceleratorEnv",
    max_episode_steps=100,
    description="DNN-accelerator design (PE array, dataflow, buffers, bandwidths) on an analytical, ZigZag or SCALE-Sim back-end",
)

register(
    "archgym/Synthetic-v0",
    entry_point="archgym.envs.synthetic:SyntheticEnv",
    max_episode_steps=100,
    description="separable cost function with a known optimum (10 parameters, 1,048,576 designs) for testing agents",
)

register(
    "archgym/Supernet-v0",
    entry_point="archgym.envs.supernet:SupernetEnv",
    max_episode_steps=100,
    description="NAS-Bench-201 cells scored by a weight-sharing supernet (SPOS, DARTS or GDAS) trained on the CPU on real data",
)

register(
    "archgym/Supernet-v1",
    entry_point="archgym.envs.supernet:SupernetEnv",
    max_episode_steps=100,
    description="Supernet-v0 with defaults that rank cells better than their parameter count (longer training, BatchNorm recalibration)",
    kwargs={"epochs": 60, "bn_batches": 16},
)

register(
    "archgym/NASBench201-v0",
    entry_point="archgym.envs.nasbench201:NASBench201Env",
    max_episode_steps=100,
    description="NAS-Bench-201 cell search on the exact tables: accuracy, device latency, params, FLOPs (hardware-aware optional)",
)

register(
    "archgym/CoDesign-v0",
    entry_point="archgym.envs.codesign:CoDesignEnv",
    max_episode_steps=100,
    description="NAS-Bench-201 cell and DNN accelerator designed together (NASAIC): accuracy, latency, energy, area",
)

"""Training on several devices: a `tf.distribute.MirroredStrategy` over N GPUs (or N logical CPUs for testing), or
on several machines: `tf.distribute.MultiWorkerMirroredStrategy` when the TF_CONFIG environment variable names
a cluster of two or more workers (docs/scale-out.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf

from gan_mnist.errors import GanMnistError
from gan_mnist.run.directory import WORKERS


def split_cpu(n: int) -> None:
    """Make the CPU appear as `n` logical devices (to try multi-device training without GPUs).

    Only possible before TensorFlow has started its runtime, i.e. before the first op of the process.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as e:
        if len(tf.config.list_logical_devices("CPU")) == n:  # (listing them starts TF: only ask afterwards)
            return
        raise GanMnistError(f"cannot split the CPU into {n} devices once TensorFlow has started; call "
                            "gan_mnist.split_cpu first thing in a fresh process (the CLI does this itself)") from e


def cluster() -> tuple[int, int]:
    """(workers in TF_CONFIG's cluster, this process's 0-based rank among them, the chief first); (1, 0) without
    TF_CONFIG. Rank 0 is the chief: the worker that writes the run directory."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return 1, 0
    try:
        config = json.loads(text)
        tasks = config["cluster"]
        task_type, index = config["task"]["type"], int(config["task"]["index"])
        order = [(kind, i) for kind in ("chief", "worker") for i in range(len(tasks.get(kind, [])))]
        return len(order), order.index((task_type, index))
    except (ValueError, KeyError, TypeError) as e:
        raise GanMnistError(f"TF_CONFIG is not a cluster spec with this task in it ({e}): {text}") from e


def worker_dir(out: str | os.PathLike) -> Path:
    """Where this process writes a run: `out` on the chief (and without a cluster), out/workers/RANK on the others
    (each worker saves what it computed; only the chief's copy is the run)."""
    rank = cluster()[1]
    return Path(out) if rank == 0 else Path(out) / WORKERS / str(rank)


def make_strategy(devices: int | None) -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy when TF_CONFIG names two or more workers (each using all its GPUs, or its CPU);
    otherwise TF's default strategy for None/1 device; else MirroredStrategy over the first `devices` GPUs, or, on a
    machine without GPUs, over `devices` logical CPUs (see `split_cpu`). Batches are split across devices:
    the config's batch_size stays the global batch."""
    if cluster()[0] > 1:
        if devices not in (None, 1):
            raise GanMnistError("with TF_CONFIG (several machines) each worker uses all its GPUs: leave devices unset")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices is None or devices == 1:
        return tf.distribute.get_strategy()
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise GanMnistError(f"devices must be a positive integer, got {devices!r}")
    gpus = tf.config.list_logical_devices("GPU")
    pool = gpus or tf.config.list_logical_devices("CPU")
    if len(pool) < devices:
        kind = "GPU" if gpus else "CPU"
        raise GanMnistError(f"asked for {devices} devices, found {len(pool)} {kind} device(s)"
                            + ("" if gpus else "; on a CPU-only machine call gan_mnist.split_cpu(N) first"))
    return tf.distribute.MirroredStrategy([d.name for d in pool[:devices]])

"""Training on several devices: a `tf.distribute.MirroredStrategy` over N GPUs, or N logical CPUs for testing."""

from __future__ import annotations

import tensorflow as tf

from gan_mnist.errors import GanMnistError


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


def make_strategy(devices: int | None) -> tf.distribute.Strategy:
    """TF's default strategy for None/1 device; else MirroredStrategy over the first `devices` GPUs, or, on a
    machine without GPUs, over `devices` logical CPUs (see `split_cpu`). Batches are split across devices:
    the config's batch_size stays the global batch."""
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

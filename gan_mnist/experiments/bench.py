"""Training throughput: our fit() step per model, and the TensorFlow DCGAN tutorial's loop as the yardstick.

A benchmark, never a test: it times things. Each measurement warms up (tracing, oneDNN kernel selection), then
times `repeats` windows of a fixed number of optimizer steps on real images and reports the median window, so
that one window hit by a stall of the (shared) machine does not decide the result.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from gan_mnist.clustering import ANCHORS
from gan_mnist.config import TrainConfig, preset_flags
from gan_mnist.errors import GanMnistError
from gan_mnist.networks import build_dcgan_discriminator, build_dcgan_generator
from gan_mnist.presets import BENCHED, DEFAULT_RUNS
from gan_mnist.run.data import make_dataset
from gan_mnist.run.precision import Device, auto_policy, detect, supported

TUTORIAL_BATCH = 256


def _median_rate(run_steps, steps: int, batch_size: int, repeats: int) -> float:
    """Median images/s over `repeats` timed calls of run_steps() (each runs `steps` steps of `batch_size`)."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_steps()
        rates.append(steps * batch_size / (time.perf_counter() - start))
    return statistics.median(rates)


class _EpochClock(keras.callbacks.Callback):
    """Records, per epoch, when it began and when each batch (of steps_per_execution steps) ended. Listed last,
    so the time from one epoch's start to the next's holds its steps and every per-epoch callback's work."""

    def __init__(self):
        super().__init__()
        self.epochs: list[dict] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append({"begin": time.perf_counter(), "batches": []})

    def on_train_batch_end(self, batch, logs=None):
        self.epochs[-1]["batches"].append(time.perf_counter())

    def on_train_end(self, logs=None):
        self.epochs.append({"begin": time.perf_counter()})  # closes the last epoch


def tutorial_loop_throughput(images: np.ndarray, steps: int = 30, warmup: int = 5, latent_dim: int = 100,
                             seed: int = 0, repeats: int = 3) -> float:
    """Images/s of the TensorFlow DCGAN tutorial's loop on images float32 (N, 28, 28, 1) in [-1, 1].

    Written the way the tutorial writes it: `tf.data` shuffle + batch(256), a `@tf.function` step with two
    `GradientTape`s and `tf.random.normal` noise, Adam 1e-4, a Python loop over the dataset. Same architecture
    as our `dcgan` model.
    """
    keras.utils.set_random_seed(seed)
    # the tutorial's layers: keras.layers.BatchNormalization and Dropout, not our faster equivalents
    generator = build_dcgan_generator(latent_dim, fast_layers=False)
    discriminator = build_dcgan_discriminator(fast_layers=False)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(batch):
        noise = tf.random.normal([TUTORIAL_BATCH, latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(batch, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))

    # the tutorial keeps the last partial batch; drop it here so every timed step is a full one
    dataset = (tf.data.Dataset.from_tensor_slices(images).shuffle(len(images))
               .batch(TUTORIAL_BATCH, drop_remainder=True).repeat())
    batches = iter(dataset)
    for _ in range(warmup):
        train_step(next(batches))

    def run_steps():
        for _ in range(steps):
            train_step(next(batches))
        # the step's outputs are not awaited by the loop; reading a weight waits for the last one
        np.asarray(generator.trainable_variables[0])

    return _median_rate(run_steps, steps, TUTORIAL_BATCH, repeats)


def fit_throughput(config: TrainConfig, images: np.ndarray, labels: np.ndarray | None = None, steps: int = 30,
                   warmup: int = 5, repeats: int = 3) -> float:
    """Images/s of our GAN.fit() for `config` (its model, batch size and speed options) on real images."""
    from gan_mnist.run.training import build_gan  # training imports plotting; keep `bench` importable on its own

    gan = build_gan(config)
    if config.clusters:  # self-conditioned: timed on stand-in pseudo-labels (clustering is train()'s, timed there)
        labels = (labels % config.clusters).astype(np.int32)
    dataset = make_dataset(images, config.batch_size, seed=config.seed,
                           labels=labels if gan.conditional else None).repeat()
    # steps_per_execution runs several steps per call: warm-up and windows must be whole numbers of those
    k = config.steps_per_execution
    warmup, steps = max(k, warmup - warmup % k), max(k, steps - steps % k)
    # one fit() call, clocked at batch ends: the iterator is made once, as in the tutorial loop
    clock = _EpochClock()
    gan.fit(dataset, epochs=1, steps_per_epoch=warmup + repeats * steps, verbose=0, shuffle=False, callbacks=[clock])
    ends = clock.epochs[0]["batches"][warmup // k - 1::steps // k]  # the end of the warm-up, then of each window
    rates = [steps * config.batch_size / (b - a) for a, b in zip(ends, ends[1:], strict=False)]
    return statistics.median(rates)


def train_path_seconds(config: TrainConfig, images: np.ndarray, labels: np.ndarray | None = None, epochs: int = 3,
                       epoch_images: int = 60_000) -> dict[str, float]:
    """Time `train()` itself (input pipeline, frames, GIF, plots, checkpoints) for `config` on `images`.

    Runs `epochs` epochs into a temporary directory (the first is a warm-up) and returns, as medians over the
    others: images/s within an epoch, the seconds an epoch spends beyond its steps at that rate (every per-epoch
    callback, the iterator's restart and the first batch's wait; self-conditioned, plus its share of a clustering
    of `epoch_images` images), and from both the seconds one epoch of `epoch_images` images takes.
    """
    from gan_mnist.run.training import train

    clock = _EpochClock()
    with tempfile.TemporaryDirectory() as out:
        # live=False: in a notebook train() would redraw its live view between epochs; bench times that on its own
        # row (live_view_seconds), so it must not hide in every recipe's cost
        history = train(config.replace(epochs=epochs, limit=0, eval_every=0), out, images=images,
                        labels=labels if config.conditional else None, verbose=0, callbacks=[clock],
                        live=False).history
    # a self-conditioned run clusters at the start of every recluster_every-th epoch (inside the gap before it):
    # those clusterings leave the gaps, and one of epoch_images is spread over recluster_every epochs. Its work
    # grows with the anchors (clustering.ANCHORS of the images), so it is scaled from the ones timed here by
    # their ratio; the once-per-run pixel graph that grows with all images is a small part and left unscaled
    clustered = history["cluster_s"].fillna(0.0).to_numpy() if "cluster_s" in history else np.zeros(epochs)
    anchors = min(epoch_images, ANCHORS) / min(len(images), ANCHORS)
    clustering = clustered[clustered > 0].mean() * anchors / config.recluster_every if config.clusters else 0.0
    k, rates, gaps = config.steps_per_execution, [], []
    for i, (this, after) in enumerate(zip(clock.epochs[1:-1], clock.epochs[2:], strict=False), start=2):
        ends = this["batches"]
        if len(ends) < 2:  # one compiled call per epoch: no interval inside the epoch to time
            raise GanMnistError(f"{len(images)} images make {len(ends)} call(s) of {k} batch(es) of "
                                f"{config.batch_size} per epoch; timing train() needs at least 2: give more images")
        rates.append((len(ends) - 1) * k * config.batch_size / (ends[-1] - ends[0]))
        # the epoch's whole time (its first batch's wait for the data included) less its steps at the steady rate,
        # less the clustering before epoch index i (none before the clock's closing entry, i = epochs)
        steps_s = len(ends) * k * config.batch_size / rates[-1]
        gaps.append(after["begin"] - this["begin"] - steps_s - (clustered[i] if i < epochs else 0.0))
    rate, gap = statistics.median(rates), statistics.median(gaps) + clustering
    return {"images_per_s": rate, "epoch_overhead_s": gap, "s_per_epoch": epoch_images / rate + gap}


def live_view_seconds(epochs: int = 50, repeats: int = 5) -> float:
    """Median seconds of one redraw of the notebook live view (run.live: render the PNG, hand it to a display that
    drops it) at epoch `epochs` of a run evaluated every epoch: what the view adds to each epoch of a notebook run."""
    from gan_mnist.run.live import LiveView

    class _Drop:
        def update(self, obj):
            pass

    rng = np.random.default_rng(0)
    history = pd.DataFrame({"epoch": np.arange(1, epochs + 1), "d_loss": rng.random(epochs),
                            "g_loss": rng.random(epochs), "fd": 100 / np.arange(1, epochs + 1)})
    grid = rng.integers(0, 255, (3 * 182, 3 * 182), dtype=np.uint8)  # a 6x6 frame, enlarged 3x
    view = LiveView(2 * epochs, display=lambda obj, display_id=True: _Drop())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        view.update(history, grid, epochs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def policy_name(policy: str) -> str:
    """A run.precision policy as a bench row names it: 'float32', 'bf16' or 'fp16'."""
    return "float32" if policy == "off" else policy


def default_setups(models: tuple[str, ...] | None = None, batch_size: int = TUTORIAL_BATCH,
                   policies: tuple[str, ...] | None = None) -> dict[str, TrainConfig]:
    """Setups to time: each architecture (all by default) in each precision the device has kernels for
    (`policies`, default run.precision.supported: float32 first) and with its other speed settings
    (`recipes.ARCHITECTURES[...].speed`), one step per call unless those say otherwise."""
    from gan_mnist.recipes import ARCHITECTURES

    policies = policies or supported(detect())
    setups = {}
    for model in models or tuple(ARCHITECTURES):
        plain = TrainConfig(model=model, batch_size=batch_size, mixed_precision="off", steps_per_execution=1)
        for policy in policies:
            setups[f"{model} {policy_name(policy)}"] = plain.replace(mixed_precision=policy)
        tuned = ARCHITECTURES[model].speed
        if tuned:
            setups[f"{model} " + " ".join(f"{k}={v}" for k, v in tuned.items())] = plain.replace(**tuned)
    return setups


def device_header(device: Device | None = None) -> dict[str, str]:
    """The device a bench runs on, what `--mixed-precision auto` picks there and why (run.precision)."""
    device = device or detect()
    policy, why = auto_policy(device)
    return {"device": device.describe(), "auto": policy, "why": why}


def device_check(images: np.ndarray, labels: np.ndarray, steps: int = 30, warmup: int = 5, repeats: int = 3,
                 progress=print) -> pd.DataFrame:
    """What a machine gets from the default (bare `train`): images/s of its fit() step in float32 and in each
    16-bit policy the device has kernels for, then one epoch of `images` through train() as `auto` picks."""
    from gan_mnist.run.training import train

    rows, default = [], TrainConfig()
    for name, config in default_setups((default.model,), default.batch_size).items():
        if progress:
            progress(f"timing {name} ...")
        rows.append({"setup": f"fit() {name}", "images_per_s": fit_throughput(config, images, labels, steps,
                                                                                warmup, repeats)})
    if progress:
        progress(f"one epoch of the default on {len(images)} images ...")
    with tempfile.TemporaryDirectory() as out:
        result = train(default.replace(epochs=1), out, images=images, verbose=0, live=False)
    seconds = float(result.history["seconds"].iloc[0])  # its clustering included, as in every default run
    rows.append({"setup": f"train() 1 epoch, auto = {policy_name(result.gan.precision.policy)}",
                 "images_per_s": len(images) / seconds, "seconds": seconds})
    return pd.DataFrame(rows).set_index("setup")


def preset_setups(presets: tuple[str, ...] | None = None) -> dict[str, TrainConfig]:
    """The `train()` path of each named preset (presets.BENCHED by default: the default runs 'default',
    'default-cgan', 'default-mlp', named by their flags, then the tutorial, fast and WGAN-GP presets), as bench
    setups."""
    return {f"train() {preset_flags(name) or '(defaults)'}" if name in DEFAULT_RUNS else f"train() --preset {name}":
            TrainConfig.preset(name) for name in presets or BENCHED}


def run_benchmark(images: np.ndarray, labels: np.ndarray, setups: dict[str, TrainConfig] | None = None,
                  steps: int = 30, warmup: int = 5, repeats: int = 3, progress=print,
                  train_setups: dict[str, TrainConfig] | None = None, train_epochs: int = 3) -> pd.DataFrame:
    """One row per setup: images/s, seconds per 60k-image epoch, and the ratio to the tutorial loop.

    Rows of `train_setups` also give `run_tl_epochs`: the whole run (the config's epochs of 60,000 images) in
    tutorial-loop epochs, the budget unit of the docs.

    The first row is the tutorial loop (dcgan, float32, batch 256); `setups` (default `default_setups()`) time
    fit() steps. `train_setups` time the whole `train()` path for `train_epochs` epochs of `images` (see
    `train_path_seconds`): their images_per_s is 60,000 / s_per_epoch, per-epoch outputs included, so that a
    slowdown anywhere in what users run shows in `vs_tutorial`.
    """
    setups = default_setups() if setups is None else setups
    rows = []
    for name, config in {"tutorial loop (dcgan float32)": None, **setups}.items():
        if progress:
            progress(f"timing {name} ...")
        speed = (tutorial_loop_throughput(images, steps, warmup, repeats=repeats) if config is None
                 else fit_throughput(config, images, labels, steps, warmup, repeats))
        rows.append({"setup": name, "model": "dcgan" if config is None else config.model,
                     "batch_size": TUTORIAL_BATCH if config is None else config.batch_size,
                     "images_per_s": speed, "s_per_epoch": 60_000 / speed})
    for name, config in (train_setups or {}).items():
        if progress:
            progress(f"timing {name} ({train_epochs} epochs of {len(images)} images) ...")
        timed = train_path_seconds(config, images, labels, train_epochs)
        rows.append({"setup": name, "model": config.model, "batch_size": config.batch_size,
                     "images_per_s": 60_000 / timed["s_per_epoch"], "s_per_epoch": timed["s_per_epoch"],
                     "epoch_overhead_s": timed["epoch_overhead_s"], "epochs": config.epochs})
    if train_setups:  # the notebook's live view, redrawn once per epoch: its cost between epochs
        if progress:
            progress("timing the live view's redraw ...")
        rows.append({"setup": "live view redraw (notebooks)", "epoch_overhead_s": live_view_seconds()})
    table = pd.DataFrame(rows).set_index("setup")
    table["vs_tutorial"] = table["images_per_s"] / table["images_per_s"].iloc[0]
    if "epochs" in table:
        table["run_tl_epochs"] = table["epochs"] * table["s_per_epoch"] / table["s_per_epoch"].iloc[0]
    return table

"""One training run end to end: data, models, fit() with per-epoch outputs, resume, and the final GIF/plots."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from gan_mnist.clustering import Clusters, Recluster
from gan_mnist.config import RAN, TrainConfig
from gan_mnist.ema import make_ema_copy
from gan_mnist.errors import GanMnistError
from gan_mnist.gan import GAN
from gan_mnist.limits import TRAIN_IMAGES
from gan_mnist.networks import NUM_CLASSES, build_models
from gan_mnist.objectives.penalties import combined
from gan_mnist.recipes import ARCHITECTURES, LOSSES, PENALTIES, penalty_names, resolve
from gan_mnist.run.callbacks import EpochBook, Outputs, StopOnNonFinite, write_run_pictures
from gan_mnist.run.checkpoint import list_checkpoints, load_checkpoint
from gan_mnist.run.data import batch_count, load_training_data, make_dataset
from gan_mnist.run.directory import (
    BEST,
    CHECKPOINTS,
    CONFIG,
    FRAMES,
    GENERATOR,
    GIF,
    HISTORY,
    LOSS_PLOT,
    check_folder,
    claim,
    clear,
    epoch_files,
    is_run,
    locked,
    remove_temporaries,
)
from gan_mnist.run.distribute import cluster, make_strategy, worker_dir
from gan_mnist.run.live import LiveView, wanted
from gan_mnist.run.precision import Precision
from gan_mnist.run.precision import resolve as resolve_precision
from gan_mnist.sample import fixed_noise


@dataclasses.dataclass
class TrainResult:
    """What a run produced: the trained GAN, its per-epoch history and the paths of its files."""

    gan: GAN
    history: pd.DataFrame
    out_dir: Path
    config: TrainConfig

    @property
    def frames(self) -> list[Path]:
        return frame_paths(self.out_dir, self.config.epochs)

    @property
    def gif_path(self) -> Path:
        return self.out_dir / GIF

    @property
    def generator_path(self) -> Path:
        return self.out_dir / GENERATOR

    @property
    def best_path(self) -> Path:
        """best.keras: the sampler at the epoch of lowest FD (runs with eval_every on MNIST)."""
        return self.out_dir / BEST


def frame_paths(out_dir: str | os.PathLike, last_epoch: int | None = None) -> list[Path]:
    """The run's per-epoch frames in epoch order, up to `last_epoch`."""
    return epoch_files(Path(out_dir) / FRAMES, ".png", last_epoch)


def whole_batches(config: TrainConfig) -> bool:
    """Whether the run drops a ragged last batch: n_critic slices need a whole one (the next epoch reshuffles)."""
    return config.n_critic > 1


def steps_per_epoch(config: TrainConfig, images: int | None = None) -> int:
    """Generator steps in one epoch over `images` training images (default: config.limit, or the whole split)."""
    return batch_count(images or config.limit or TRAIN_IMAGES, config.batch_size, whole_batches(config))


def learning_rate(rate: float, end: float, steps: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Adam's rate: `rate` throughout when `end` is 1, else a cosine from `rate` at step 0 to `end` x `rate` at
    `steps` and after. Keras evaluates it at the optimizer's own step count, which checkpoints keep: a resumed run
    continues the same curve."""
    if end >= 1.0:
        return rate
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=max(steps, 1), alpha=end)


def build_gan(config: TrainConfig, precision: Precision | None = None, images: int | None = None) -> GAN:
    """A compiled GAN for `config`, with weights initialised from `config.seed`, computing in `precision` (default:
    what config.mixed_precision resolves to on this device, run.precision); `gan.precision` says which. `images`:
    how many training images an epoch holds (default: config.limit, or the whole split), for config.lr_end's decay."""
    precision = precision or resolve_precision(config.mixed_precision)
    if config.deterministic:
        # process-wide and one-way in TF's public API: a later non-deterministic run needs a fresh process
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    # the dtype policy is global in Keras: set it only while the layers are built
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision.dtype_policy)
    try:
        # a self-conditioned run's networks take its clusters where a conditional one's take digits
        classes = {"num_classes": config.clusters or NUM_CLASSES} if ARCHITECTURES[config.model].conditional else {}
        generator, discriminator = build_models(config.model, config.latent_dim, config.width, config.spectral_norm,
                                                config.d_scale, config.d_dropout, d_growth=config.d_growth,
                                                **classes)
        ema = None
        if config.ema_kimg > 0:
            make_generator = resolve(ARCHITECTURES[config.model].generator)
            ema = make_ema_copy(generator, lambda: make_generator(config.latent_dim, width=config.width, **classes))
    finally:
        keras.config.set_dtype_policy(previous)
    clusters = Clusters(config.clusters, config.seed) if config.clusters else None
    gan = GAN(generator, discriminator, seed=config.seed, ema_generator=ema, ema_half_life=config.ema_kimg * 1000,
              ema_rampup=config.ema_rampup, clusters=clusters, name=f"{config.model}_gan")
    gan.precision = precision
    loss = LOSSES[config.loss]
    # the decay spans the configured epochs; D steps n_critic times per generator step
    g_steps = steps_per_epoch(config, images) * config.epochs
    d_optimizer = keras.optimizers.Adam(learning_rate(config.d_learning_rate, config.lr_end, g_steps * config.n_critic),
                                        beta_1=config.beta_1, beta_2=config.beta_2)
    g_optimizer = keras.optimizers.Adam(learning_rate(config.g_learning_rate, config.lr_end, g_steps),
                                        beta_1=config.beta_1, beta_2=config.beta_2)
    if precision.loss_scaling:
        # float16 gradients underflow: each loss is scaled up before the gradients and they are scaled back before
        # Adam; a step whose gradients overflow is skipped and the scale halved (the NaN guard knows)
        d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
        g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
    gan.compile(
        d_optimizer=d_optimizer,
        g_optimizer=g_optimizer,
        d_loss_fn=resolve(loss.d), g_loss_fn=resolve(loss.g),
        penalty_fn=combined([resolve(PENALTIES[name].fn) for name in penalty_names(config.penalty)])
        if penalty_names(config.penalty) else None,
        gamma=config.gamma or 0.0, penalty_every=config.penalty_every, n_critic=config.n_critic,
        mode_seeking=config.mode_seeking,
        top_k=config.top_k,
        # several steps per call break under a tf.distribute strategy (TF 2.21: "You must feed a value for
        # placeholder tensor" from Keras's multi-step loop): one step per call there; the maths is the same
        steps_per_execution=config.steps_per_execution if tf.distribute.get_strategy().num_replicas_in_sync == 1
        else 1,
    )
    # slot variables now, not inside the first compiled step (where a tf.distribute strategy cannot create them)
    gan.build_optimizers()
    return gan


def frame_inputs(config: TrainConfig) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(noise, labels or None, columns) of the per-epoch frames.

    Unconditional: a grid_size x grid_size grid. Conditional: 10x10, row i is digit i, noise fixed per column.
    Self-conditioned: unconditional, with the noise coordinate that picks the cluster (`cluster_sampler`).
    """
    if not config.conditional:
        latent_dim = config.latent_dim + (config.clusters > 0)
        return fixed_noise(config.grid_size**2, latent_dim, config.seed), None, config.grid_size
    noise = np.tile(fixed_noise(NUM_CLASSES, config.latent_dim, config.seed), (NUM_CLASSES, 1))
    return noise, np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), NUM_CLASSES), NUM_CLASSES


def _start_over(out: Path, config: TrainConfig, resume: bool, force: bool) -> bool:
    """Whether to discard the run in `out`. Never mixes two configs in one directory (only `epochs` and
    `budget_minutes` may change on resume); with force, a different or unwanted run is discarded, not refused."""
    if not (is_run(out) and (out / CONFIG).exists()):
        if resume and is_run(out) and list_checkpoints(out / CHECKPOINTS) and not force:
            raise GanMnistError(f"{out} holds checkpoints but no {CONFIG}: which config they belong to is lost; "
                                f"restore {out / CONFIG}, or start over with force=True (CLI: --force)")
        return False
    if not resume:
        if not force:
            raise GanMnistError(f"{out} already holds a run: continue it with resume=True (CLI: --resume) or "
                                "start over with force=True (--force)")
        return True
    saved = TrainConfig.load(out / CONFIG)
    diff = [f"{k}: {v!r} -> {getattr(config, k)!r}" for k, v in saved.to_dict().items()
            if k not in ("epochs", "budget_minutes") and v != getattr(config, k)]
    if diff and not force:
        raise GanMnistError(f"{out} holds a run with a different config ({'; '.join(diff)}); "
                            "use another run directory, or force=True (CLI: --force) to start over")
    return bool(diff)


def _restore(gan: GAN, out: Path, checkpoint_every: int) -> int:
    """Load the newest readable checkpoint; returns its epoch, 0 when the run never wrote one.

    A run that wrote checkpoints but has none readable left (truncated, deleted) is an error naming what was tried:
    starting again from epoch 0 would silently replace the history of the epochs it lost. A history row is written
    before its epoch's checkpoint, so only a row past the first checkpoint's epoch proves that one was written: a
    run killed before (or while) writing its first checkpoint starts over.
    """
    tried = []
    for path in reversed(list_checkpoints(out / CHECKPOINTS)):
        try:
            return load_checkpoint(gan, path)
        except GanMnistError as e:
            tried.append(path)
            warnings.warn(f"{e}; trying an older checkpoint", stacklevel=2)
    recorded = _epochs_recorded(out)
    try:
        first = min(checkpoint_every, TrainConfig.load(out / CONFIG).epochs)  # as the run was last started
    except GanMnistError:
        first = checkpoint_every
    if tried:
        raise GanMnistError(f"cannot restore {out}: no checkpoint is readable (tried "
                            f"{', '.join(str(p) for p in tried)}); to train it again from the start: force=True "
                            "(CLI: --force)")
    if recorded > first:
        raise GanMnistError(f"cannot restore {out}: {HISTORY} records {recorded} epochs but {out / CHECKPOINTS} "
                            "holds no checkpoint; to train it again from the start: force=True (CLI: --force)")
    return 0


def _history_until(out: Path, start: int) -> pd.DataFrame:
    """The rows of epochs 1..`start` of the run's history.csv (a resumed run's checkpoint epoch); an error when the
    file is missing, unreadable or lacks one of them: resuming would lose those rows."""
    path = out / HISTORY
    fix = "restore it, or start over with force=True (CLI: --force)"
    try:
        table = pd.read_csv(path)
        epochs = pd.to_numeric(table["epoch"], errors="raise")
    except FileNotFoundError:
        raise GanMnistError(f"cannot resume {out}: {path} is missing (the checkpoint is at epoch {start}); "
                            f"{fix}") from None
    except (OSError, ValueError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise GanMnistError(f"cannot resume {out}: {path} is not a run's history ({reason}); {fix}") from None
    kept = table[epochs <= start]
    if len(kept) != start or kept["epoch"].tolist() != list(range(1, start + 1)):
        raise GanMnistError(f"cannot resume {out}: {path} does not record epochs 1-{start} one row each (the "
                            f"checkpoint is at epoch {start}); {fix}")
    return kept


def _ran_in(out: Path) -> str | None:
    """The precision policy config.json says the run computed in (None: not recorded)."""
    try:
        ran = json.loads((out / CONFIG).read_text()).get(RAN, {})
    except (OSError, ValueError, AttributeError):
        return None
    return ran.get("mixed_precision") if isinstance(ran, dict) else None


def _epochs_recorded(out: Path) -> int:
    """The last epoch in the run's history.csv (0 without one)."""
    try:
        epochs = pd.read_csv(out / HISTORY)["epoch"]
    except (OSError, ValueError, KeyError, pd.errors.EmptyDataError):
        return 0
    return int(epochs.max()) if len(epochs) else 0


def load_run(out_dir: str | os.PathLike) -> GAN:
    """The GAN of a run directory at its newest checkpoint: both networks, the EMA generator and the optimizers.

    `gan.generator` is the raw trained generator, `gan.sampler` the one the run shipped (its EMA when it has one).
    """
    out = Path(out_dir)
    if not (out / CONFIG).exists():
        raise GanMnistError(f"{out} holds no run (no {CONFIG})")
    config = TrainConfig.load(out / CONFIG)
    gan = build_gan(config)
    if not _restore(gan, out, config.checkpoint_every):
        raise GanMnistError(f"{out} has no checkpoint in {out / CHECKPOINTS}")
    return gan


def _check_options(config: TrainConfig, strategy, live_every: int | None) -> None:
    """Refuse what a run cannot do on this strategy or cluster, before anything is loaded or written."""
    if config.clusters and (cluster()[0] > 1 or strategy.num_replicas_in_sync > 1):
        raise GanMnistError("self-conditioning (clusters) trains on one device: its pseudo-labels are not shared "
                            "between devices yet")
    if live_every is not None and (isinstance(live_every, bool) or not isinstance(live_every, int) or live_every <= 0):
        raise GanMnistError(f"live_every must be a positive integer or None, got {live_every!r}")
    if config.budget_minutes and cluster()[0] > 1:
        raise GanMnistError("budget_minutes cannot stop several workers together (each has its own clock): "
                            "give a number of epochs")


def _check_data(config: TrainConfig, x: np.ndarray, y: np.ndarray | None, strategy) -> None:
    """Refuse training images (N, 28, 28, 1) and labels (N,) that the config cannot train on."""
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1) or len(x) == 0:
        raise GanMnistError(f"training images must have shape (N>0, 28, 28, 1), got {x.shape}")
    if config.conditional and (y is None or len(y) != len(x)):
        raise GanMnistError(f"model {config.model!r} needs one label per training image")
    if config.batch_size > len(x):
        raise GanMnistError(f"batch_size={config.batch_size} is larger than the {len(x)} training images")
    if config.batch_size % strategy.num_replicas_in_sync:
        raise GanMnistError(f"batch_size={config.batch_size} does not split evenly over "
                            f"{strategy.num_replicas_in_sync} devices")


def _built_or_restored(config: TrainConfig, out: Path, precision: Precision, resume: bool, force: bool,
                       images: int):
    """(gan, epochs trained, history of those epochs or None): a new GAN for `images` training images, or with
    `resume` the run's last checkpoint; a run that cannot resume starts over when `force` says so. Called in the
    strategy's scope."""
    gan = build_gan(config, precision, images)
    start, previous = 0, None
    if resume:
        try:
            start = _restore(gan, out, config.checkpoint_every)
            if start > config.epochs:
                raise GanMnistError(f"{out} has trained {start} epochs, more than epochs={config.epochs}: a "
                                    f"resumed run only goes on (give {start} or more), or start over with "
                                    "force=True (CLI: --force)")
            # epochs that ran after the checkpoint are dropped: they run again
            previous = _history_until(out, start) if start else None
        except GanMnistError as e:
            if not force:
                raise
            warnings.warn(f"{e}: starting over, as force=True asks", stacklevel=4)  # (the caller of train)
            clear(out)
            gan, start, previous = build_gan(config, precision, images), 0, None
    return gan, start, previous


def train(
    config: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    data_path: str | os.PathLike | None = None,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    resume: bool = False,
    force: bool = False,
    verbose: int | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    devices: int | None = None,
    live: bool | None = None,
    live_every: int | None = None,
) -> TrainResult:
    """Train `config` into `out_dir` (frames, history.csv, losses.png, training.gif, generator.keras, checkpoints,
    tensorboard/).

    `images` (float32 (N, 28, 28, 1) in [-1, 1]) and `labels` (N,) replace loading `config.dataset`;
    `resume` continues from the last checkpoint in `out_dir` (an error if the run has checkpoints but none readable);
    `force` discards a previous run there, deleting only the files a run writes (run_directory). `out_dir` must be
    new, empty, free of names a run uses, or marked as a run; the run holds its lock until it returns.
    `devices` > 1 trains data-parallel on that many GPUs (or logical CPUs), config.batch_size being the global batch;
    with TF_CONFIG naming a cluster, on all its workers (the chief writes `out_dir`, worker k out_dir/workers/k).
    `live` redraws one notebook display every epoch (samples, curves, time left; see run.live): None turns it on
    in a notebook kernel outside pytest; `live_every` N also redraws it every N steps.
    """
    strategy = make_strategy(devices)  # first: a multi-worker strategy must start before any other op
    check_folder(out_dir, "out_dir")  # (a linked workers/ too)
    out = check_folder(worker_dir(out_dir), "out_dir")
    if out != Path(out_dir) and out.is_symlink():  # a worker's folder is one the run makes
        raise GanMnistError(f"{out} -> {os.readlink(out)}: a worker's run directory must be a real folder it made; "
                            "nothing was changed: remove the link (its target stays as it is)")
    _check_options(config, strategy, live_every)
    _start_over(out, config, resume, force)  # its errors before the data is loaded; decided again under the lock
    precision = resolve_precision(config.mixed_precision)  # refuses a precision this device cannot run
    if images is None:
        images, labels = load_training_data(data_path, config.limit or None, config.dataset)
    x, y = images, labels
    _check_data(config, x, y, strategy)
    # every check passed: say how the run computes, and only now touch the disk, holding the folder's lock until the
    # run ends
    if verbose:
        print(precision.line(), file=sys.stderr, flush=True)
    with locked(out):
        return _train_locked(config, out, x, y, strategy, precision, resume=resume, force=force, verbose=verbose,
                             callbacks=callbacks, data_path=data_path, live=live, live_every=live_every)


def _train_locked(config: TrainConfig, out: Path, x: np.ndarray, y: np.ndarray | None, strategy,
                  precision: Precision, *, resume: bool,
                  force: bool, verbose, callbacks, data_path, live: bool | None = None,
                  live_every: int | None = None) -> TrainResult:
    """`train` once it holds the run directory's lock: the folder's state is read again (another process may have
    changed it since the first look), then the run starts or resumes."""
    check_folder(out, "out_dir")
    start_over = _start_over(out, config, resume, force)
    if start_over:
        clear(out)
    claim(out)
    remove_temporaries(out)  # half-written files of a process killed mid-save: no writer is alive now

    with strategy.scope():  # the default strategy's scope changes nothing
        gan, start, previous = _built_or_restored(config, out, precision, resume and not start_over, force, len(x))
    before = _ran_in(out) if start else None
    if before and before != precision.policy:
        warnings.warn(f"{out} computed in {before} before; it continues in {precision.policy} here ({precision.why}), "
                      f"so it will not match a run that stayed in {before} bit for bit", stacklevel=3)
    config.save(out / CONFIG, ran=precision.record())

    noise, frame_labels, ncols = frame_inputs(config)
    outputs = Outputs(out, config.epochs, noise, frame_labels, ncols, config.gif_frame_ms, config.checkpoint_every,
                      save_every=config.save_every, eval_every=config.eval_every, eval_samples=config.eval_samples,
                      budget_s=config.budget_minutes * 60 if config.budget_minutes else None, data_path=data_path)
    # self-conditioned: clustered at the first epoch and every recluster_every after; the true labels, where the
    # data has them, only measure the clusters' purity
    recluster = Recluster(gan.clusters, x, config.recluster_every,
                          truth=y if y is not None and len(y) == len(x) else None) if config.clusters else None
    # epoch e's batch order depends on (seed, e) only, so a resumed run sees the batches it would have seen
    epoch = tf.Variable(start, dtype=tf.int64, trainable=False)
    book = EpochBook(outputs, epoch, previous, recluster, live=LiveView(config.epochs) if wanted(live) else None,
                     live_every=live_every)
    # the NaN guard stops a broken epoch before the book saves anything; the book hands its record on in `logs`
    run_callbacks = [StopOnNonFinite(out / CHECKPOINTS), book, *(callbacks or [])]
    if start < config.epochs:
        labels = gan.clusters.labels if config.clusters else y if config.conditional else None
        dataset = make_dataset(x, config.batch_size, seed=config.seed, labels=labels, epoch=epoch,
                               drop_remainder=whole_batches(config))
        gan.fit(dataset, epochs=config.epochs, initial_epoch=start, callbacks=run_callbacks, verbose=verbose,
                shuffle=False)  # the dataset shuffles itself

    frame = book.history
    if start >= config.epochs:  # nothing trained now: the pictures of a finished run, drawn again to be sure
        write_run_pictures(frame, out / FRAMES, out / LOSS_PLOT, out / GIF, config.gif_frame_ms, config.epochs)
    return TrainResult(gan=gan, history=frame, out_dir=out, config=config)

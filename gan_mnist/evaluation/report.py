"""Comparing finished runs: one row of quality metrics per run directory (every panel member's), plus the row of
real digits scored the same way: each member's floor; against one of the runs, whether each row beats it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gan_mnist.config import TrainConfig
from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation.reference import Reference
from gan_mnist.evaluation.registry import baseline_of, beats, evaluate_images, pool_draws
from gan_mnist.limits import DRAWS
from gan_mnist.networks import is_conditional
from gan_mnist.recipes import penalty_names
from gan_mnist.run.directory import CONFIG, GENERATOR, HISTORY, SNAPSHOTS, snapshot_epoch
from gan_mnist.sample import all_digit_labels, generate, load_generator

if TYPE_CHECKING:
    import keras


def evaluate_run(out_dir: str | os.PathLike, n: int = 5000, seed: int = 0, reference: Reference | None = None,
                 raw: bool = False, draws: int = 1) -> dict:
    """Metrics of a run directory's generator.keras, with its recipe (architecture, loss, penalty, spectral norm,
    EMA), epochs and training wall time. `out_dir` may also be one of a run's snapshots, RUN/generators/
    epoch_NNNN.keras (`--save-every`): its run's recipe, its epoch and the wall time up to it. `raw=True` scores the
    raw generator of the newest checkpoint instead (for a run with an EMA generator: how much the average helps).
    `draws` > 1 scores that many draws of n samples (noise seeds seed, seed + 1, ...) and reports their means and
    standard deviations (`registry.pool_draws`)."""
    out = Path(out_dir)
    snapshot = snapshot_epoch(out)
    if snapshot is not None and raw:
        raise GanMnistError(f"{out}: a snapshot has no raw twin (--raw takes run directories)")
    run = out.parent.parent if snapshot is not None else out
    if not (run / CONFIG).exists() or not (run / HISTORY).exists():
        raise GanMnistError(f"{out} is neither a finished run (no {CONFIG} / {HISTORY}) nor a run's "
                            f"{SNAPSHOTS}/epoch_NNNN.keras snapshot")
    config = TrainConfig.load(run / CONFIG)
    history = pd.read_csv(run / HISTORY)
    if snapshot is not None:
        history = history[history["epoch"] <= snapshot]
        if history.empty:
            raise GanMnistError(f"{out}: epoch {snapshot} is not in the run's {HISTORY}")
    if raw:
        from gan_mnist.run.training import load_run

        gan = load_run(out)
        generator = gan.drawn(gan.generator)
    else:
        generator = load_generator(out if snapshot is not None else out / GENERATOR)
    metrics = evaluate_draws(generator, n, seed, draws, reference or Reference())
    recipe = {"model": config.model, "loss": config.loss,
              "penalty": f"{config.penalty} {config.gamma:g}" if penalty_names(config.penalty) else "-",
              "spectral_norm": config.spectral_norm, "ema_kimg": config.ema_kimg, "clusters": config.clusters}
    epochs = snapshot if snapshot is not None else int(history["epoch"].max())
    return {"run": f"{out} (raw)" if raw else str(out), **recipe, "epochs": epochs,
            "train_minutes": float(history["wall_s"].max() / 60), **metrics}


def evaluate_draws(generator: keras.Model, n: int, seed: int, draws: int, reference: Reference, **kwargs) -> dict:
    """`evaluate_images` of `draws` draws of n samples from `generator` (noise seeds seed ... seed + draws - 1; a
    conditional one asked for every digit equally), pooled by `registry.pool_draws`; kwargs go to evaluate_images."""
    DRAWS.check("draws", draws, integer=True)
    labels = all_digit_labels(n) if is_conditional(generator) else None
    return pool_draws([evaluate_images(generate(generator, n, seed=seed + i, labels=labels), labels, reference,
                                       **kwargs) for i in range(draws)])


def compare_runs(run_dirs: list[str | os.PathLike], n: int = 5000, seed: int = 0,
                 data_path: str | os.PathLike | None = None, raw: bool = False, draws: int = 1,
                 against: str | os.PathLike | None = None) -> pd.DataFrame:
    """A table (one row per run, then the real digits' row) of every metric, indexed by run. The real row scores
    n training digits never in the test split (the floor digits) like the runs' samples: fd_ratio 1 by definition.

    `run_dirs` may name snapshots too (RUN/generators/epoch_NNNN.keras, `evaluate_run`). With `raw`, each run
    directory that keeps an EMA generator gets a second row: its raw generator, "RUN (raw)". `draws`
    as in `evaluate_run` (the real row is one draw: the floor digits are a fixed set). `against`, one of
    `run_dirs`, adds the panel's verdict (`registry.beats`) on every other row: `beats` (True / False; None on its
    own row) and `why_not` (the failed conditions, "; "-joined).
    """
    baseline = baseline_of(run_dirs, against)
    reference = Reference(data_path)
    rows = []
    for d in run_dirs:
        rows.append(evaluate_run(d, n, seed, reference, draws=draws))
        if raw and rows[-1]["ema_kimg"] > 0 and snapshot_epoch(d) is None:
            rows.append(evaluate_run(d, n, seed, reference, raw=True, draws=draws))
    images, labels = reference.floor_digits(n)
    rows.append({"run": "real MNIST digits (reference)", "model": "-", **evaluate_images(images, labels, reference)})
    if baseline is not None:
        base = next(row for row in rows if row["run"] == baseline)
        for row in rows:
            verdict, reasons = beats(row, base) if row is not base else (None, [])
            row.update(beats=verdict, why_not="; ".join(reasons))
    return pd.DataFrame(rows).set_index("run")

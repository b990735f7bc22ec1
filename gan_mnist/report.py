"""Comparing finished runs: one row of quality metrics per run directory, plus the real-data reference row."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from gan_mnist.config import TrainConfig
from gan_mnist.errors import GanMnistError
from gan_mnist.evaluator import evaluator_card
from gan_mnist.metrics import Reference, evaluate_images
from gan_mnist.models import is_conditional
from gan_mnist.sample import all_digit_labels, generate, load_generator


def evaluate_run(out_dir: str | os.PathLike, n: int = 5000, seed: int = 0, reference: Reference | None = None) -> dict:
    """Metrics of a run directory's generator.keras, with its model, epochs and training wall time."""
    out = Path(out_dir)
    if not (out / "config.json").exists() or not (out / "history.csv").exists():
        raise GanMnistError(f"{out} is not a finished run (no config.json / history.csv)")
    config = TrainConfig.load(out / "config.json")
    history = pd.read_csv(out / "history.csv")
    generator = load_generator(out / "generator.keras")
    labels = all_digit_labels(n) if is_conditional(generator) else None
    metrics = evaluate_images(generate(generator, n, seed=seed, labels=labels), labels, reference or Reference())
    return {"run": str(out), "model": config.model, "epochs": int(history["epoch"].max()),
            "train_minutes": float(history["wall_s"].max() / 60), **metrics}


def compare_runs(run_dirs: list[str | os.PathLike], n: int = 5000, seed: int = 0,
                 data_path: str | os.PathLike | None = None) -> pd.DataFrame:
    """A table (one row per run, then the real-data reference row) of every metric, indexed by run."""
    reference = Reference(data_path)
    rows = [evaluate_run(d, n, seed, reference) for d in run_dirs]
    real = dict(evaluator_card()["real_data_reference"])
    real.pop("what", None)
    rows.append({"run": "real MNIST digits (reference)", "model": "-", **real})
    return pd.DataFrame(rows).set_index("run")

"""Confirming a search: its best recipes trained again with other seeds at the same budget, so a lucky seed is not
mistaken for a better recipe. A trial's own run is its first seed; each further seed is an ordinary run directory,
DIR/confirm/NNNN_seedS, resumed if a previous `tune --confirm` was stopped. Results go to DIR/confirm.csv, one row
per (trial, seed) as each run finishes, so a stopped confirmation loses only the run in progress."""

from __future__ import annotations

import io
import time
from pathlib import Path

import optuna
import pandas as pd

from gan_mnist.config import TrainConfig
from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation.registry import OBJECTIVE, SEARCH_METRICS, columns
from gan_mnist.run.directory import CONFIRM, CONFIRM_CSV, HISTORY, atomic_write_bytes

CONFIRM_SAMPLES = 10_000  # default samples behind each confirmed number (the targets are stated at 10,000)


def _score(generator, reference, samples: int) -> dict:
    from gan_mnist.evaluation.registry import evaluate_images
    from gan_mnist.sample import generate

    metrics = evaluate_images(generate(generator, samples, seed=0), reference=reference,
                              metrics=SEARCH_METRICS)
    return {k: v for k, v in metrics.items() if k != "n"}


def confirm(study: optuna.Study, out: Path, top: int = 3, seeds: int = 3, data_path=None, verbose: int = 0,
            deadline: float | None = None, samples: int = CONFIRM_SAMPLES) -> pd.DataFrame:
    """Train the `top` best complete trials with `seeds` seeds each (the trial's own run being the first) at the
    trial's budget, each scored on `samples` samples, starting no run after `deadline` (time.monotonic()); returns
    the rows of DIR/confirm.csv: trial, seed, the columns of registry.SEARCH_METRICS, epochs, train_s, run_dir."""
    from gan_mnist.evaluation.reference import Reference
    from gan_mnist.run.training import train
    from gan_mnist.sample import load_generator

    complete = sorted(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)),
                      key=lambda t: (t.value, t.number))[:top]
    if not complete:
        raise GanMnistError(f"{out}: no complete trial to confirm yet")
    path = out / CONFIRM_CSV
    rows = pd.read_csv(path).to_dict("records") if path.exists() else []
    done = {(int(r["trial"]), int(r["seed"])) for r in rows}
    reference = Reference(data_path)  # the real digits' statistics, loaded once for every run scored
    for trial in complete:
        config = TrainConfig.from_dict(trial.user_attrs["config"])
        for k in range(seeds):
            seed = config.seed + k
            if (trial.number, seed) in done:
                continue
            if k == 0:  # the trial's own run
                run = out / trial.user_attrs["run_dir"]
            else:
                if deadline is not None and time.monotonic() >= deadline:
                    return pd.DataFrame(rows)  # out of time: the same call later trains the rest
                run = out / CONFIRM / f"{trial.number:04d}_seed{seed}"
                train(config.replace(seed=seed), run, data_path=data_path, resume=run.exists(), force=True,
                      verbose=verbose)
            history = pd.read_csv(run / HISTORY)
            rows.append({"trial": trial.number, "seed": seed, **_score(load_generator(run), reference, samples),
                         "epochs": int(history["epoch"].iloc[-1]), "train_s": float(history["wall_s"].iloc[-1]),
                         "run_dir": run.relative_to(out).as_posix()})
            buf = io.StringIO()
            pd.DataFrame(rows).to_csv(buf, index=False)
            atomic_write_bytes(path, buf.getvalue().encode())
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per trial: the mean and standard deviation over its seeds of each confirmed number, best mean objective
    first."""
    numbers = columns(SEARCH_METRICS)
    table = rows.groupby("trial")[numbers].agg(["mean", "std"])
    table.columns = [f"{name}_{stat}" for name, stat in table.columns]
    table.insert(0, "seeds", rows.groupby("trial")["seed"].count())
    return table.sort_values(f"{OBJECTIVE}_mean")

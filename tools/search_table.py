"""A search's trials as markdown tables: one row per trial, in trial order, its recipe in one
line (only what differs from the searched defaults beyond model, loss and penalty), state, the objective (the
panel's worst FD / real floor), epochs and the last in-trial report (the shipped CNN's FD); with --confirmed, one
row per confirmed trial (`tune --confirm`): the `train` command that trains it, and its numbers on 10,000 samples
as mean ± standard deviation over its seeds, the values in brackets.

    python tools/search_table.py runs/search21 [--confirmed] [--storage URL] [--study-name gan_mnist]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna
import pandas as pd

from gan_mnist.config import TrainConfig, model_default
from gan_mnist.evaluation.registry import OBJECTIVE
from gan_mnist.experiments.confirm import summary
from gan_mnist.experiments.leaderboard import config_command
from gan_mnist.experiments.tune import STEPS
from gan_mnist.experiments.tune_report import trial_preset
from gan_mnist.run.directory import CONFIRM_CSV, STUDY_DB

# the recipe values a row leaves out when a trial uses them (the MLP/cGAN defaults' optimiser and shapes)
_USUAL = {"g_learning_rate": 2e-4, "d_learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999, "width": 1.0}


def recipe_line(params: dict) -> str:
    """'self_cgan ns r1 γ 0.05 k30, batch 128, EMA 10k', then whatever differs from _USUAL, D's dropout where it
    differs from the architecture's (config.model_default) and spectral norm when on."""
    gamma = next((value for name, value in params.items() if name.startswith("gamma_")), None)
    head = [params["model"], params["loss"], "gp" if params["loss"] == "wgan" else params.get("penalty", "none")]
    if gamma is not None:
        every = params.get("penalty_every", 1)
        head.append(f"γ {gamma:.3g}" + (f" every {every}" if every > 1 else ""))
    if "clusters" in params:
        head.append(f"k{params['clusters']}")
    if "d_scale" in params:
        head.append(f"dscale {params['d_scale']:g}")
    parts = [" ".join(head), f"batch {params['batch_size']}", f"EMA {params['ema_kimg']:g}k"]
    def off(*names: str) -> bool:
        return any(params[name] != _USUAL[name] for name in names)

    if off("g_learning_rate", "d_learning_rate"):
        parts.append(f"lr G {params['g_learning_rate']:.2g} / D {params['d_learning_rate']:.2g}")
    if off("beta_1", "beta_2"):
        parts.append(f"β {params['beta_1']:g}/{params['beta_2']:g}")
    if off("width"):
        parts.append(f"width {params['width']:g}")
    if params["d_dropout"] != model_default(params["model"], "d_dropout"):
        parts.append(f"D dropout {params['d_dropout']:g}")
    if params["spectral_norm"]:
        parts.append("SN")
    return ", ".join(parts)


def trials(study: optuna.Study) -> None:
    print("| trial | recipe | state | worst FD ÷ floor | epochs | last report (FD) |")
    print("| ---: | --- | --- | ---: | ---: | --- |")
    for t in study.get_trials(deepcopy=False):
        if not t.params:
            continue  # queued, not started
        value = "" if t.value is None else f"{t.value:.2f}"
        epochs = t.user_attrs.get("epochs", "")
        step = max(t.intermediate_values) if t.intermediate_values else None
        last = "–" if step is None else f"{step}/{STEPS}: {t.intermediate_values[step]:.1f}"
        print(f"| {t.number} | {recipe_line(t.params)} | {t.state.name.lower()} | {value} | {epochs} | {last} |")


def confirmed(study: optuna.Study, rows: pd.DataFrame) -> None:
    def cell(trial: int, name: str, digits: int) -> str:
        values = rows.loc[rows["trial"] == trial, name]
        if len(values) == 1:
            return f"{values.iloc[0]:.{digits}f}"
        inner = ", ".join(f"{v:.{digits}f}" for v in values)
        return f"{values.mean():.{digits}f} ± {values.std():.{digits}f} ({inner})"

    print("| trial | command | epochs | worst FD ÷ floor | FD | P | R | MNIST score | rarest digit |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for trial in summary(rows).index:
        preset = trial_preset(study.trials[trial])
        command = config_command(TrainConfig(**preset), f"runs/trial{trial}").removeprefix("python -m gan_mnist ")
        epochs = "/".join(str(e) for e in rows.loc[rows["trial"] == trial, "epochs"])
        print(f"| {trial} | `{command}` | {epochs} | {cell(trial, OBJECTIVE, 2)} | {cell(trial, 'fd', 2)} | "
              f"{cell(trial, 'precision', 3)} | {cell(trial, 'recall', 3)} | {cell(trial, 'mnist_score', 2)} | "
              f"{cell(trial, 'min_class_share', 3)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study_dir", type=Path)
    parser.add_argument("--confirmed", action="store_true", help="the confirmed trials (STUDY_DIR/confirm.csv)")
    parser.add_argument("--storage", help=f"default: sqlite:///STUDY_DIR/{STUDY_DB}")
    parser.add_argument("--study-name", default="gan_mnist")
    args = parser.parse_args()
    storage = args.storage or f"sqlite:///{args.study_dir / STUDY_DB}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=args.study_name, storage=storage)
    if args.confirmed:
        confirmed(study, pd.read_csv(args.study_dir / CONFIRM_CSV))
    else:
        trials(study)


if __name__ == "__main__":
    main()

"""What a search leaves to look at: the trials as a table (trials.csv), the best trial as a preset file for
`train --preset-file`, and Optuna's own plots (optimisation history, parameter importances, slice) as PNGs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import optuna
import pandas as pd

from gan_mnist.config import TrainConfig, fields_from
from gan_mnist.evaluation.registry import OBJECTIVE, SEARCH_METRICS, columns
from gan_mnist.plotting import save_figure
from gan_mnist.run.directory import BEST_PRESET, PLOTS, RESULTS, atomic_write_bytes

# run-specific fields a preset leaves out: the budget becomes the epochs the trial reached, evaluation is per run
_NOT_IN_PRESET = ("budget_minutes", "epochs", "eval_every", "eval_samples", "limit", "seed")


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial, best first: state, the objective (registry.OBJECTIVE, on 5,000 samples; empty for a pruned
    trial, whose last_reported_fd is the shipped CNN's FD on eval_samples), the other columns of
    registry.SEARCH_METRICS, epochs, training seconds, run_dir, worker, the searched parameters (param_*)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        rows.append({"trial": t.number, "state": t.state.name, OBJECTIVE: t.value,
                     **{k: attrs.get(k) for k in columns(SEARCH_METRICS) if k != OBJECTIVE},
                     "epochs": attrs.get("epochs"), "train_s": attrs.get("train_s"),
                     "last_reported_fd": t.intermediate_values[max(t.intermediate_values)]
                     if t.intermediate_values else None,
                     "baseline": bool(attrs.get("baseline", False)), "run_dir": attrs.get("run_dir"),
                     "worker": attrs.get("worker"), **{f"param_{k}": v for k, v in t.params.items()}})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values([OBJECTIVE, "trial"], na_position="last").set_index("trial")


def trial_preset(trial: optuna.trial.FrozenTrial) -> dict:
    """A finished trial's recipe as TrainConfig fields, with `epochs` the epochs it trained in its budget."""
    config = {k: v for k, v in trial.user_attrs["config"].items() if k not in _NOT_IN_PRESET}
    preset = fields_from({**config, "epochs": int(trial.user_attrs["epochs"])})  # (a study's older spellings read)
    TrainConfig(**preset)  # a preset that does not validate is a bug here, not a surprise in `train`
    return preset


def best_preset(study: optuna.Study) -> dict:
    """The best complete trial's recipe as TrainConfig fields, with `epochs` the epochs it trained in its budget."""
    return trial_preset(study.best_trial)  # (study.best_trial raises ValueError when no trial is complete)


def _most_important(study: optuna.Study, n: int) -> list[str] | None:
    """The n parameters Optuna ranks most important (None, i.e. all, before two trials are complete): one row of
    slice plots stays readable."""
    if len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))) < 2:
        return None
    return list(optuna.importance.get_param_importances(study))[:n]


def _save(ax, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure  # slice plots return an array of axes
    figure.set_size_inches(max(figure.get_size_inches()[0], 8), max(figure.get_size_inches()[1], 4.5))
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)
    return path


def write_report(study: optuna.Study, out: str | Path) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Write out/trials.csv, out/best_preset.json (when a trial is complete) and out/plots/*.png (those Optuna can
    draw from the trials so far: importances need two complete trials). Returns (table, {name: path})."""
    import matplotlib
    from optuna.visualization import matplotlib as plots

    out = Path(out)
    table = trials_table(study)
    files = {"trials": out / RESULTS}
    atomic_write_bytes(files["trials"], table.to_csv().encode())
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if complete:
        files["best_preset"] = out / BEST_PRESET
        preset = json.dumps(best_preset(study), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(files["best_preset"], preset.encode())
    (out / PLOTS).mkdir(exist_ok=True)
    drawers = {"history": plots.plot_optimization_history, "slice": lambda study: plots.plot_slice(
                   study, params=_most_important(study, 6)), "importances": plots.plot_param_importances}
    # Optuna's drawers switch matplotlib to its ggplot style for the whole process: rc_context puts the user's back
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # matplotlib layout and Optuna's few-trials notes
        for name, draw in drawers.items():
            if not complete or (name == "importances" and len(complete) < 2):
                continue
            try:
                files[name] = _save(draw(study), out / PLOTS / f"{name}.png")
            except (ValueError, RuntimeError) as e:  # e.g. importances when no parameter varied yet
                print(f"note: Optuna could not draw the {name} plot yet: {e}")
    return table, files


def plot_trial_curves(study_dir: str | Path, table: pd.DataFrame, path: str | Path | None = None):
    """FD against training minutes for every trial, read back from each run's TensorBoard logs: complete trials
    solid, pruned ones dashed, the baseline (the default recipe) black. Returns the figure; saves it to `path`."""
    import matplotlib.pyplot as plt

    from gan_mnist.run.directory import TENSORBOARD
    from gan_mnist.run.tensorboard_logs import read_tensorboard

    figure, ax = plt.subplots(figsize=(9, 4.5))
    for trial, row in table.iterrows():
        logs = Path(study_dir) / str(row["run_dir"]) / TENSORBOARD
        if not isinstance(row["run_dir"], str) or not logs.is_dir():
            continue
        scalars = read_tensorboard(logs)[0]
        if "fd" not in scalars:
            continue
        style = {"color": "black", "linewidth": 2.5} if row["baseline"] else {}
        ax.plot(scalars["wall_s"] / 60, scalars["fd"], "--" if row["state"] == "PRUNED" else "-", marker=".",
                label=f"{trial}: {row.get('param_model', '')} {row.get('param_loss', '')} "
                      f"{'gp' if row.get('param_loss') == 'wgan' else row.get('param_penalty', '')}"  # WGAN: always GP
                      f"{' (default)' if row['baseline'] else ''}", **style)
    ax.set(xlabel="training minutes", ylabel="FD of the in-training evaluations (log scale)", yscale="log",
           title="Every trial's FD as it trained (dashed: pruned)")
    ax.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure

"""Recipe search on Optuna: what is the best Fréchet distance a recipe reaches in M minutes of training?

A study is a folder: study.db (Optuna's SQLite storage, unless `storage` names a shared database), trials/NNNN
(each trial an ordinary run directory: frames, history.csv, tensorboard/, generator.keras, checkpoints) and the
results `tune_report` writes. Several `tune` processes given one storage URL share the study (Optuna hands each
its own trials). Every trial trains under a training-time budget and reports the FD of its EMA/raw sampler at
each tenth of it, so the pruner (`MarginPruner`) stops trials that trail the best at the same point by more
than a margin that narrows as the budget is spent: hopeless trials are short, promising ones run the whole
budget. A trial whose process dies stops sending heartbeats; once they are `stale_after` seconds old the next
`tune` marks it failed and re-runs it (RetryHeartbeatStaleTrialCallback), resuming its run directory from the
last checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import socket
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote, unquote

import keras
import optuna
import sqlalchemy

from gan_mnist.config import TrainConfig
from gan_mnist.errors import GanMnistError, TrainingDiverged
from gan_mnist.evaluation.registry import OBJECTIVE
from gan_mnist.experiments.confirm import CONFIRM_SAMPLES, confirm
from gan_mnist.experiments.sampler import TrialSeededSampler
from gan_mnist.experiments.search_space import BASELINE, largest_clusters, space, suggest_config
from gan_mnist.experiments.tune_arguments import check_tune_arguments
from gan_mnist.limits import CLUSTER_NEIGHBOURS, most_clusters
from gan_mnist.run.directory import CONFIG, CONFIRM_CSV, STUDY, STUDY_DB, TRIALS, check_folder, claim, holding

STEPS = 10  # pruning checkpoints: a trial reports at each tenth of its training-time budget
FINAL_SAMPLES = 5000  # default samples behind a trial's objective value (its intermediate values use eval_samples)
EPOCH_CAP = 100_000  # trials stop on their time budget; this only bounds `epochs`

class ReportToTrial(keras.callbacks.Callback):
    """At the first epoch end past each tenth of the budget, reports the epoch's `fd` (the run's EpochBook puts its
    record in the logs) to the trial as step 1..10; when the pruner says so, stops training cleanly (pictures and
    checkpoint of that epoch written) and remembers it, for the objective to raise TrialPruned after `train`
    returns."""

    def __init__(self, trial: optuna.Trial, budget_s: float):
        super().__init__()
        self.trial, self.budget_s = trial, budget_s
        self.step, self.pruned = 0, False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = min(STEPS, math.floor(STEPS * logs.get("wall_s", 0.0) / self.budget_s))
        if step <= self.step or "fd" not in logs:
            return
        self.step = step
        self.trial.report(float(logs["fd"]), step)
        if step < STEPS and self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


class MarginPruner(optuna.pruners.BasePruner):
    """Multi-fidelity without ranking by early results: at step s (of STEPS) a trial stops when its FD is more than
    `margin(s)` times the best FD any other trial reported at step s. The margin is 4 for the first half of the
    budget (only the hopeless stop there) and then narrows to 1.2 at 9/10.

    Why not successive halving (Optuna's Hyperband): it keeps the best third at each rung, which assumes that early
    ranks predict final ones. Here they do not: the self-conditioned cGAN trails the MLP for most of its run and
    then passes it, its FD even rising while its clusters settle, and a slow pair's first report comes late and far
    behind (the trials that showed it: docs/results.md). The margin still stops the hopeless recipes (FD in the
    hundreds) within a tenth or two of their budget, which is where the compute goes."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        at_step = [t.intermediate_values[step] for t in study.get_trials(deepcopy=False)
                   if t.number != trial.number and step in t.intermediate_values]
        return bool(at_step) and trial.intermediate_values[step] > margin(step) * min(at_step)


def margin(step: int) -> float:
    """How many times the best FD at `step` (of STEPS) a trial may report and go on: 4 up to half the budget, then
    falling linearly to 1.2 at 9/10."""
    half = STEPS // 2
    return 4.0 if step <= half else 4.0 - 2.8 * (step - half) / (STEPS - 1 - half)


def _run_dir(out: Path, trial: optuna.Trial) -> Path:
    """trials/NNNN of the trial; a re-run of a killed trial inherits that trial's user attributes, run_dir among
    them (RetryHeartbeatStaleTrialCallback copies them), and so resumes the killed run's directory."""
    return out / trial.user_attrs.get("run_dir", f"{TRIALS}/{trial.number:04d}")


def make_objective(out: Path, base: TrainConfig, data_path=None, verbose: int = 0, final_samples: int = FINAL_SAMPLES):
    """The objective: train the suggested config for base.budget_minutes, return the sampler's worst FD / floor over
    the panel (registry.OBJECTIVE) on `final_samples` samples. Each trial's run directory, config, epochs and scores
    (registry.SEARCH_METRICS) go into its user attributes."""
    from gan_mnist.evaluation.registry import OBJECTIVE, SEARCH_METRICS, Reference, evaluate_images
    from gan_mnist.run.training import train
    from gan_mnist.sample import generate

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, base)
        run = _run_dir(out, trial)
        trial.set_user_attr("run_dir", run.relative_to(out).as_posix())
        trial.set_user_attr("config", config.to_dict())
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        resume = (run / CONFIG).exists()
        report = ReportToTrial(trial, config.budget_minutes * 60)
        try:
            result = train(config, run, data_path=data_path, resume=resume, force=True, verbose=verbose,
                           callbacks=[report])
        except TrainingDiverged as e:
            trial.set_user_attr("diverged", str(e))
            raise
        history = result.history
        trial.set_user_attr("epochs", int(history["epoch"].iloc[-1]))
        trial.set_user_attr("train_s", float(history["wall_s"].iloc[-1]))
        if report.pruned:
            raise optuna.TrialPruned(f"FD {history['fd'].iloc[-1]:.1f} at step {report.step}/{STEPS}")
        metrics = evaluate_images(generate(result.gan.sampler, final_samples, seed=0), reference=Reference(data_path),
                                  metrics=SEARCH_METRICS)
        for key, value in metrics.items():
            trial.set_user_attr(key, value)
        return float(metrics[OBJECTIVE])

    return objective


def open_study(out: Path, storage: str | None = None, study_name: str = "gan_mnist",
               stale_after: float = 120.0, seed: int = 0) -> optuna.Study:
    """Create or load the study (SQLite file out/study.db unless `storage` is a database URL), with heartbeats:
    a trial silent for `stale_after` seconds is failed and queued again (once per trial, twice at most), and TPE
    seeded per trial from `seed` (sampler.TrialSeededSampler). Errors show the URL with its password masked."""
    url = storage or f"sqlite:///{(out / STUDY_DB).resolve()}"
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    for attempt in range(5):  # workers starting at once race to create the tables and the study: losers retry
        try:
            return optuna.create_study(study_name=study_name, storage=_storage(url, engine, stale_after),
                                       direction="minimize", load_if_exists=True,
                                       sampler=TrialSeededSampler(seed),
                                       pruner=MarginPruner())
        except (optuna.exceptions.DuplicatedStudyError, sqlalchemy.exc.IntegrityError,
                sqlalchemy.exc.OperationalError) as e:
            error = e
            if isinstance(e, sqlalchemy.exc.OperationalError) and not url.startswith("sqlite"):
                break  # a server that refuses (down, wrong password) will not change its mind in a second
            time.sleep(1 + attempt)
        except Exception as e:  # SQLAlchemy's many errors for a bad URL or a missing driver
            error = e
            break
    # one line: the first line of the driver's message, with the password (if any) masked
    reason = redact(f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}",
                    url)
    raise GanMnistError(f"cannot open the study storage {masked_url(url)}: {reason}") from None


_SECRET_KEY = re.compile(r"pass|secret|token", re.IGNORECASE)  # query parameters that carry a secret (sslpassword)


def _url_parts(url: str) -> tuple[str, str | None, str, list[tuple[str, str]] | None]:
    """(scheme:// or "", userinfo or None, host and path, query pairs or None) of a URL, told apart the way a
    password cannot fool: the userinfo ends at the last "@" before the query, so an unencoded "@" stays in it."""
    scheme, sep, rest = url.partition("://")
    head, rest = (scheme + sep, rest) if sep else ("", url)
    main, question, query = rest.partition("?")
    userinfo, at, where = main.rpartition("@")
    pairs = [(k, v) for k, _, v in (part.partition("=") for part in query.split("&"))] if question else None
    return head, userinfo if at else None, where if at else main, pairs


def _passwords(url: str) -> set[str]:
    """Every secret in `url`, as written and decoded: the userinfo's password and the values of query parameters
    named like a secret (password, sslpassword, ...token, ...secret); empty when there is none."""
    _, userinfo, _, pairs = _url_parts(url)
    found = set()
    if userinfo and ":" in userinfo:
        password = userinfo.partition(":")[2]
        # a driver that ends the userinfo at the first "@" shows the rest as part of the host: mask the pieces too
        # (those of 4 characters or more: masking every "e" of a message would hide the reason it gives)
        found |= {password, *(piece for piece in password.split("@") if len(piece) >= 4)}
    found |= {v for k, v in pairs or () if _SECRET_KEY.search(unquote(k))}
    found |= {unquote(p) for p in found} | {quote(unquote(p), safe="") for p in found}
    return {p for p in found if p}


def redact(text: str, url: str) -> str:
    """`text` with `url` shown as masked_url(url) and every other form of its secrets replaced by ***."""
    text = text.replace(url, masked_url(url))
    for password in sorted(_passwords(url), key=len, reverse=True):
        text = text.replace(password, "***")
    return text


def masked_url(url: str) -> str:
    """`url` for messages and logs: the userinfo's password (all of it, an unencoded "@" included) and the values
    of query parameters named like a secret shown as ***."""
    head, userinfo, where, pairs = _url_parts(url)
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        where = f"{user}{':***' if colon else ''}@{where}"
    if pairs is not None:
        where += "?" + "&".join(f"{k}={'***' if _SECRET_KEY.search(unquote(k)) else v}" for k, v in pairs)
    return head + where


def _storage(url: str, engine: dict, stale_after: float) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url, engine_kwargs=engine, heartbeat_interval=max(1, int(stale_after // 4)),
            grace_period=max(1, int(stale_after)),
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2))


def _check_arguments(limit, **numbers) -> None:
    """`tune`'s arguments, refused before anything is opened or written (bounds: tune_arguments.TUNE_BOUNDS)."""
    check_tune_arguments(limit=limit, **numbers)
    if limit and most_clusters(limit) < largest_clusters():  # (TrainConfig's names a flag tune lacks)
        needed = largest_clusters() * CLUSTER_NEIGHBOURS
        raise GanMnistError(f"limit={limit} (--limit) is too few images for the search: its self-conditioned trials "
                            f"cluster them into up to {largest_clusters()} groups of {CLUSTER_NEIGHBOURS} or more; "
                            f"give {needed} or more")


def _check_study(study: optuna.Study, out: Path, final_samples: int) -> None:
    """Refuse to add trials to a study scored another way or searched over another space; then record both."""
    # one study, one yardstick: values on two scales, or from two sample counts, cannot be ranked together
    scored_by = study.user_attrs.get("objective", "fd" if study.trials else OBJECTIVE)
    if scored_by != OBJECTIVE:
        raise GanMnistError(f"{out}: this study's trials were scored by {scored_by!r}, tune now minimises "
                            f"{OBJECTIVE!r}; start a new study (another --out, or another --study-name)")
    scored_on = study.user_attrs.get("final_samples", final_samples)
    if scored_on != final_samples:
        raise GanMnistError(f"{out}: this study's trials were scored on {scored_on:,} samples, not {final_samples:,} "
                            f"(--final-samples {scored_on})")
    searched = space()
    if study.trials and study.user_attrs.get("space") != searched:
        raise GanMnistError(f"{out}: this study searched other choices than the recipe tables offer now (an "
                            "architecture, loss or penalty added or changed since); start a new study (another "
                            "--out, or another --study-name)")
    study.set_user_attr("objective", OBJECTIVE)
    study.set_user_attr("final_samples", final_samples)
    study.set_user_attr("space", searched)


@dataclasses.dataclass
class TuneResult:
    """A finished (or stopped) search: the study, its trials as a table, and the files `tune` wrote."""

    study: optuna.Study
    table: object  # pandas.DataFrame, tune_report.trials_table
    out_dir: Path
    files: dict[str, Path]


def tune(out_dir: str | os.PathLike, n_trials: int = 20, budget_minutes: float = 10.0, storage: str | None = None,
         limit: int | None = None, data_path=None, seed: int = 0, study_name: str = "gan_mnist",
         stale_after: float = 120.0, progress: bool = True, eval_samples: int = 2000, confirm_top: int = 0,
         seeds: int = 3, timeout_minutes: float | None = None, final_samples: int = FINAL_SAMPLES,
         confirm_samples: int = CONFIRM_SAMPLES) -> TuneResult:
    """Run (or resume, or join) a search until the study has `n_trials` complete or pruned trials; then write the
    leaderboard CSV, the best trial's preset file and Optuna's plots (see tune_report); with `confirm_top`, train
    that many best trials with `seeds` seeds each into confirm.csv (see confirm). Returns them. With
    `timeout_minutes`, no trial or confirmation run starts after that many minutes (those running finish), so a
    search fits a session; the same call later goes on where it stopped. A trial's objective is scored on
    `final_samples` samples, a confirmed seed on `confirm_samples`; one study keeps one `final_samples`."""
    from gan_mnist.experiments.tune_report import write_report

    _check_arguments(n_trials=n_trials, budget_minutes=budget_minutes, stale_after=stale_after,
                     timeout_minutes=timeout_minutes, final_samples=final_samples, confirm_samples=confirm_samples,
                     confirm_top=confirm_top, seeds=seeds, limit=limit, eval_samples=eval_samples)
    base = TrainConfig(epochs=EPOCH_CAP, budget_minutes=budget_minutes, limit=limit or 0, seed=seed, eval_every=1,
                       eval_samples=eval_samples)
    out = check_folder(out_dir, "out_dir", STUDY)
    if storage is None:
        claim(out, STUDY)  # the SQLite file goes in it
    optuna.logging.set_verbosity(logging.INFO if progress else logging.WARNING)
    study = open_study(out, storage, study_name, stale_after, seed)
    if storage is not None:
        claim(out, STUDY)  # only now: a storage that cannot be opened leaves the folder untouched
    _check_study(study, out, final_samples)
    if storage and _passwords(storage):
        print(f"warning: the password in {masked_url(storage)} is visible to everyone on this machine (`ps`, shell "
              "history); keep it in ~/.pgpass (mode 0600) or a libpq service file instead (docs/tuning.md)",
              file=sys.stderr)
    # workers that start a new study together would each queue the default: under a lock on the folder (the workers
    # of one machine) the first queues it and the others see it; skip_if_exists narrows the window across machines
    with holding(out, wait=True):
        if not study.trials:
            study.enqueue_trial(BASELINE, user_attrs={"baseline": True}, skip_if_exists=True)
    # a trial whose worker died is failed (and queued again) now, not only once a new trial starts: the report
    # below then says FAIL for it rather than RUNNING
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    counted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    remaining = n_trials - len(study.get_trials(deepcopy=False, states=counted))
    # the clock starts with the search itself (opening the study is not counted): a first trial always starts
    deadline = None if timeout_minutes is None else time.monotonic() + 60 * timeout_minutes
    if remaining > 0:
        objective = make_objective(out, base, data_path, final_samples=final_samples)
        study.optimize(objective, n_trials=remaining, catch=(TrainingDiverged,),
                       callbacks=[optuna.study.MaxTrialsCallback(n_trials, states=counted)],
                       timeout=None if deadline is None else deadline - time.monotonic(),
                       show_progress_bar=progress, gc_after_trial=True)
    table, files = write_report(study, out)
    if confirm_top:
        confirm(study, out, confirm_top, seeds, data_path, deadline=deadline, samples=confirm_samples)
        files["confirm"] = out / CONFIRM_CSV
    return TuneResult(study=study, table=table, out_dir=out, files=files)

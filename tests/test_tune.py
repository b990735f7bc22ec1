"""`tune`: the Optuna recipe search. Its space, pruning reports and pruner, bad arguments, a killed trial re-run,
and PostgreSQL storage (a whole study on SQLite, two workers, resume, preset and confirm: test_tune_study)."""

import json
import re
import signal
import time

import optuna
import pandas as pd
import pytest

from gan_mnist.config import TrainConfig
from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation.registry import OBJECTIVE
from gan_mnist.experiments.sampler import STARTUP_TRIALS, TrialSeededSampler, trial_seed
from gan_mnist.experiments.search_space import BASELINE, space, suggest_config
from gan_mnist.experiments.tune import STEPS, ReportToTrial, tune
from gan_mnist.experiments.tune_arguments import TUNE_BOUNDS
from tests.conftest import TUNE_SMALL, assert_usage_error, trials_table, tune_process


def test_the_first_trial_is_the_default_recipe():
    base = TrainConfig(epochs=99, budget_minutes=10.0, limit=500, eval_every=1)
    config = suggest_config(optuna.trial.FixedTrial(BASELINE), base)
    assert config == TrainConfig().replace(epochs=99, budget_minutes=10.0, limit=500, eval_every=1)


def test_searched_configs_are_valid_and_vary():
    configs = _drawn(80)  # each validated by TrainConfig
    assert {c.model for c in configs} == {"mlp", "conv", "resize", "self_cgan", "self_resize"}
    # a search for unconditional generators: conditional networks always self-condition, on 10-50 clusters
    assert not any(c.conditional for c in configs)
    assert {c.clusters for c in configs if c.model in ("self_cgan", "self_resize")} == {10, 20, 30, 50}
    assert {c.d_scale for c in configs if c.model in ("conv", "resize")} == {1.0, 2.0, 3.0}
    assert {c.batch_size for c in configs} == {64, 128, 256, 512} and {c.d_dropout for c in configs} == {0.0, 0.3}
    assert {c.mode_seeking for c in configs} == {0.0, 0.02, 0.05, 0.1}
    assert {c.penalty for c in configs} == {"none", "r1", "r2", "r1,r2", "gp"}
    assert all(c.penalty == "gp" for c in configs if c.loss == "wgan")  # WGAN always gets its Lipschitz penalty
    assert len({c.g_learning_rate for c in configs}) == 80


def _drawn(n: int = 150) -> list[TrainConfig]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    return [suggest_config(study.ask(), TrainConfig()) for _ in range(n)]


def _searched(seed: int, n: int = 8) -> list[dict]:
    """The params of the first `n` trials of a one-worker in-memory search seeded `seed` (objective: trial number,
    so TPE's model phase, after STARTUP_TRIALS, has values to fit)."""
    study = optuna.create_study(sampler=TrialSeededSampler(seed))
    study.optimize(lambda trial: suggest_config(trial, TrainConfig()) and trial.number, n_trials=n)
    return [trial.params for trial in study.trials]


def test_a_seeded_search_repeats_and_each_trial_draws_its_own():
    first = _searched(3)
    assert len(first) > STARTUP_TRIALS
    assert _searched(3) == first  # random phase and TPE phase alike
    assert _searched(4) != first
    # trial N's draws depend on (seed, N) alone: workers sharing a study, whose trials have different numbers, draw
    # from different seeds
    assert len({json.dumps(p, sort_keys=True) for p in first}) == len(first)
    assert trial_seed(3, 1) != trial_seed(3, 2) and trial_seed(3, 1) != trial_seed(4, 1)


def test_a_new_table_entry_is_searched(monkeypatch):
    # the search space is read off recipes.py: a loss, a penalty and an architecture added there are drawn, with no
    # other edit, and the baseline still maps to bare `train`
    import dataclasses

    from gan_mnist import recipes
    from gan_mnist.experiments import search_space

    monkeypatch.setitem(recipes.LOSSES, "ns2", recipes.LOSSES["ns"])
    monkeypatch.setitem(recipes.PENALTIES, "r3", dataclasses.replace(recipes.PENALTIES["r1"], gamma_range=(1.0, 2.0)))
    monkeypatch.setitem(recipes.ARCHITECTURES, "mlp2", recipes.ARCHITECTURES["mlp"])
    monkeypatch.setitem(recipes.ARCHITECTURES, "conv", dataclasses.replace(recipes.ARCHITECTURES["conv"], search=None))
    configs = _drawn()
    assert {"ns2"} <= {c.loss for c in configs} and {"mlp2"} <= {c.model for c in configs}
    assert "conv" not in {c.model for c in configs}  # a pair whose entry says search=None is left out
    assert {"r3", "r1,r3", "r1,r2,r3"} <= {c.penalty for c in configs}  # alone, and with the other lazy ones
    assert all(1.0 <= c.gamma <= 2.0 for c in configs if c.penalty == "r3")  # its own range
    assert search_space.space()["gamma_r3"] == [1.0, 2.0] and "mlp2" in search_space.space()["model"]
    base = TrainConfig()
    assert suggest_config(optuna.trial.FixedTrial(search_space.parameters(base)), base) == base


def test_a_study_of_another_space_is_refused_and_nothing_changes(tmp_path, monkeypatch, mnist_path):
    from gan_mnist import recipes
    from gan_mnist.experiments.tune import open_study
    from gan_mnist.run.directory import STUDY, claim

    claim(tmp_path, STUDY)
    study = open_study(tmp_path)
    trial = study.ask()
    suggest_config(trial, TrainConfig())
    study.tell(trial, 1.0)  # a study with one trial, with the attributes `tune` gives it
    for key, value in {"objective": OBJECTIVE, "final_samples": 5000, "space": space()}.items():
        study.set_user_attr(key, value)
    monkeypatch.setitem(recipes.LOSSES, "ns2", recipes.LOSSES["ns"])
    before = (tmp_path / "study.db").read_bytes()
    with pytest.raises(GanMnistError, match="searched other choices than the recipe tables offer now"):
        tune(tmp_path, n_trials=2, budget_minutes=0.05, limit=1024, data_path=mnist_path, progress=False)
    assert (tmp_path / "study.db").read_bytes() == before


class _Trial:
    """What ReportToTrial uses of an Optuna trial: report() and should_prune()."""

    def __init__(self, prune_at: int):
        self.reports, self.prune_at = [], prune_at

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return self.reports[-1][0] >= self.prune_at


def test_reports_once_per_tenth_of_the_budget_and_stops_when_pruned():
    class Model:
        stop_training = False

    report = ReportToTrial(_Trial(prune_at=4), budget_s=100.0)
    report.set_model(Model())
    # epochs end at 7, 14, ... s of training: the report for tenth k is the FD of the first epoch end past k x 10 s
    for epoch, wall in enumerate(range(7, 100, 7)):
        if report.model.stop_training:  # as fit() does
            break
        report.on_epoch_end(epoch, {"wall_s": float(wall), "fd": 100.0 - wall})
    # 28 s falls in the same tenth as 21 s: no second report for step 2
    assert report.trial.reports == [(1, 86.0), (2, 79.0), (3, 65.0), (4, 58.0)]
    assert report.pruned and report.model.stop_training and report.step == 4 < STEPS


def test_bad_arguments_are_one_line_errors(cli, tmp_path):
    code, _, err = cli("tune", "--out", tmp_path, "--n-trials", "0")
    assert_usage_error(code, err, "--n-trials")
    code, _, err = cli("tune", "--out", tmp_path, "--budget-minutes", "-1")
    assert_usage_error(code, err, "--budget-minutes")
    code, _, err = cli("tune", "--out", tmp_path, "--confirm", "-1")
    assert_usage_error(code, err, "argument --confirm: must be an integer from 0 to 1,000")
    code, _, err = cli("tune", "--out", tmp_path, "--seeds", "0")
    assert_usage_error(code, err, "argument --seeds: must be a positive integer")
    code, _, err = cli("tune", "--out", tmp_path, "--timeout-minutes", "0")
    assert_usage_error(code, err, "argument --timeout-minutes: must be > 0 and at most")
    code, _, err = cli("tune", "--out", tmp_path, "--storage", "nosuchdb://x", *TUNE_SMALL)
    assert_usage_error(code, err, "cannot open the study storage")
    bad = tmp_path / "preset.json"
    bad.write_text(json.dumps({"modle": "mlp"}))
    code, _, err = cli("train", "--out", tmp_path / "run", "--preset-file", bad)
    assert_usage_error(code, err, "unknown config keys ['modle']")


@pytest.mark.parametrize("name", sorted(TUNE_BOUNDS))
def test_each_of_tunes_numbers_is_refused_outside_its_bounds_before_anything_is_written(name, tmp_path):
    integer, bounds = TUNE_BOUNDS[name]
    for bad in (bounds.hi + 1, -1, True):  # above, below (0 may mean "all"), and a boolean is no number
        bad = int(bad) if integer and not isinstance(bad, bool) else bad
        with pytest.raises(GanMnistError, match=f"^{name} must be {re.escape(bounds.describe(integer))}, got"):
            tune(tmp_path / "study", **{name: bad})
    assert not (tmp_path / "study").exists()


def test_a_study_scored_another_way_is_refused_before_anything_trains(cli, tmp_path):
    from gan_mnist.experiments.tune import open_study
    from gan_mnist.run.directory import STUDY, claim

    out = tmp_path / "study"
    claim(out, STUDY)
    study = open_study(out)  # a study of the shipped CNN's FD alone: trials without the objective's record
    study.add_trial(optuna.trial.create_trial(value=7.1, params={}, distributions={}))
    code, _, err = cli("tune", "--out", out, *TUNE_SMALL)
    assert_usage_error(code, err, f"this study's trials were scored by 'fd', tune now minimises '{OBJECTIVE}'")
    study.set_user_attr("objective", OBJECTIVE)
    study.set_user_attr("final_samples", 500)
    code, _, err = cli("tune", "--out", out, "--budget-minutes", 0.05, "--final-samples", 5000, "--quiet")
    assert_usage_error(code, err, "scored on 500 samples, not 5,000 (--final-samples 500)")
    assert len(open_study(out).trials) == 1
    assert sorted(p.name for p in out.iterdir()) == [".gan_mnist_study", "study.db"]  # nothing else written


# both runs: the re-run trial keeps the budget. It is several first epochs long (a first epoch of 1,024 digits took
# 8.6 s on a CI machine), so the killed run is always still inside it and the re-run must train on.
RETRY_MINUTES = 0.4
RETRY = ("--budget-minutes", str(RETRY_MINUTES), "--stale-after", "2")


@pytest.mark.slow
def test_a_killed_trial_is_failed_and_rerun_from_its_checkpoint(cli, tmp_path):
    out = tmp_path / "study"
    # killed once its first checkpoint exists
    worker = tune_process(out, "--n-trials", "1", *RETRY)
    checkpoints = out / "trials" / "0000" / "checkpoints"
    deadline = time.time() + 300
    while not (checkpoints.is_dir() and any(checkpoints.iterdir())) and time.time() < deadline:
        assert worker.poll() is None, worker.communicate()[1][-2000:]
        time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed_at = len(pd.read_csv(out / "trials" / "0000" / "history.csv"))
    time.sleep(3)  # its heartbeat is now stale

    code, _, err = cli("tune", "--out", out, *TUNE_SMALL, "--n-trials", "1", *RETRY)
    assert code == 0, err
    table = trials_table(out)
    assert table.loc[0, "state"] == "FAIL"  # the killed trial is marked, not lost
    assert table.loc[1, "state"] == "COMPLETE" and table.loc[1, "run_dir"] == "trials/0000"  # re-run in its folder
    history = pd.read_csv(out / "trials" / "0000" / "history.csv")
    assert history["epoch"].tolist() == list(range(1, len(history) + 1)) and len(history) > killed_at >= 1
    assert history["wall_s"].iloc[-1] >= 60 * RETRY_MINUTES  # the budget counts the killed run's training time too


def _everything(capsys_text: str, root) -> str:
    """What a user can see of a run: its terminal output and every file it wrote under `root`."""
    files = [p.read_bytes().decode(errors="replace") for p in root.rglob("*") if p.is_file()]
    return "\n".join([capsys_text, *files])


@pytest.mark.slow
def test_a_study_on_postgresql_never_shows_its_password(postgres_url, cli, mnist_path, tmp_path, monkeypatch):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    out = tmp_path / "study"
    # the password in the URL: it works, is masked in the warning, and is written nowhere, even with Optuna's log and
    # progress bar on (no --quiet)
    code, stdout, err = cli("tune", "--out", out, "--n-trials", 1, "--storage", postgres_url,
                            *[a for a in TUNE_SMALL if a != "--quiet"], "--data", mnist_path)
    assert code == 0, err
    assert "warning: the password in postgresql://gan:***@127.0.0.1" in err and "~/.pgpass" in err
    assert url.password not in _everything(stdout + err, tmp_path)
    assert not (out / "study.db").exists()  # the study lives in the server
    loaded = optuna.load_study(study_name="gan_mnist", storage=postgres_url)
    assert [t.state for t in loaded.trials] == [optuna.trial.TrialState.COMPLETE]
    assert loaded.best_value == pytest.approx(trials_table(out)[OBJECTIVE].iloc[0])

    # libpq's own ways keep the password off the command line: ~/.pgpass (here PGPASSFILE), a service file
    pgpass, services = tmp_path / "pgpass", tmp_path / "services"
    pgpass.write_text(f"{url.host}:{url.port}:*:{url.username}:{url.password}\n")
    pgpass.chmod(0o600)  # libpq ignores a password file others can read
    services.write_text(f"[gan_test]\nhost={url.host}\nport={url.port}\nuser={url.username}\ndbname={url.database}\n")
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    for storage in (f"postgresql://{url.username}@{url.host}:{url.port}/{url.database}",
                    "postgresql:///?service=gan_test"):
        code, stdout, err = cli("tune", "--out", out, "--n-trials", 1, "--storage", storage, *TUNE_SMALL)
        assert code == 0, err
        summary = json.loads(stdout.strip().splitlines()[-1])
        assert "warning" not in err and summary[f"best_{OBJECTIVE}"] == pytest.approx(
            loaded.best_value, abs=1e-3)  # the same study, read back


@pytest.mark.parametrize("storage", [
    "postgresql://u:{pw}@127.0.0.1:1/db",  # nothing listens there
    "postgresql+nodriver://u:{pw}@localhost/db",  # an unknown driver
    "postgresql://u:p%40{pw}@127.0.0.1:1/db",  # a password written URL-encoded
    "postgresql//u:{pw}@nohost",  # not a URL at all
    "postgresql://u@127.0.0.1:1/db?password={pw}",  # the password as a query parameter
    "postgresql://u@127.0.0.1:1/db?sslmode=disable&sslpassword={pw}",  # the client key's password
    "postgresql://u:SE@{pw}@127.0.0.1:1/db",  # an "@" in the password, not encoded
    "postgresql://127.0.0.1:1/db?user=u&api_token={pw}",
])
def test_a_storage_that_cannot_open_never_shows_its_password(storage, cli, tmp_path, capsys):
    password = "SECRET-d6f1"
    code, stdout, err = cli("tune", "--out", tmp_path / "study", "--n-trials", 1, "--storage",
                            storage.format(pw=password), *TUNE_SMALL)
    assert_usage_error(code, err, "cannot open the study storage")
    assert password not in _everything(stdout + err, tmp_path)
    assert not (tmp_path / "study").exists(), "nothing is written when the storage cannot open"


@pytest.mark.slow
def test_a_wrong_password_on_a_real_server_is_not_shown(postgres_url, cli, tmp_path):
    wrong = postgres_url.replace(":pw-", ":wrong-pw-")
    code, stdout, err = cli("tune", "--out", tmp_path / "study", "--n-trials", 1, "--storage", wrong, *TUNE_SMALL)
    assert_usage_error(code, err, "password authentication failed")
    assert "wrong-pw" not in _everything(stdout + err, tmp_path) and ":***@" in err


def test_the_margin_pruner_stops_hopeless_trials_and_keeps_slow_starters():
    from gan_mnist.experiments.tune import MarginPruner, margin

    assert [margin(s) for s in (1, 5, 6, 9)] == pytest.approx([4.0, 4.0, 3.3, 1.2])
    study = optuna.create_study(direction="minimize", pruner=MarginPruner())
    # the MLP default's curve in the recipe search of docs/results.md (FD on 1,000 samples at tenths 1-4)
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, value=13.1,
                                              intermediate_values={1: 87.9, 2: 31.6, 3: 23.0, 4: 15.0}))

    def verdicts(curve):
        trial = study.ask()
        out = []
        for step, value in curve.items():
            trial.report(value, step)
            out.append(trial.should_prune())
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return out

    # the self-conditioned cGAN's curve, which Hyperband cut at 3/10 and a narrower margin at 4/10 (it finishes
    # ahead of the MLP): kept
    assert verdicts({1: 36.6, 2: 28.3, 3: 30.3, 4: 37.9}) == [False, False, False, False]
    # the conv pair's first report, one slow epoch in (it finished second): kept
    assert verdicts({1: 106.0}) == [False]
    # hopeless recipes: stopped at the first tenth that shows it
    assert verdicts({1: 364.8}) == [True]
    assert verdicts({1: 140.0, 2: 150.0}) == [False, True]  # 4 x the best at 2/10 (28.3) is 113
    # late in the budget the margin is narrow: 1.2 x the best
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, value=12.0,
                                              intermediate_values={9: 12.9}))
    assert verdicts({9: 16.0}) == [True] and verdicts({9: 15.0}) == [False]
    # nothing to compare with at a step no other trial reached: go on
    assert verdicts({7: 500.0}) == [False]

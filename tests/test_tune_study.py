"""`tune`'s whole study on SQLite: two workers share a new study, it resumes, its best recipe trains, the best trial
is confirmed with a second seed, and tools/search_table.py prints its tables.

Its own module (one of the longest tests in CI) so that CI's `--dist loadfile` can run it on one core while
test_tune's other slow tests take the other.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gan_mnist.config import TrainConfig
from gan_mnist.evaluation.registry import OBJECTIVE, SEARCH_METRICS, columns
from tests.conftest import TUNE_SMALL, trials_table, tune_process

# the search's seed: the sampler's draws for trial N come from (SEED, N) (experiments/sampler.py). Seed 2's trials
# 1-3 are an MLP, a self-conditioned and an unconditional convolutional recipe without a gradient penalty, seconds
# each on 1,024 images; seed 0's trial 1 (a convolutional WGAN-GP at batch 512) trains about 50 s
SEED = "2"


@pytest.mark.slow
def test_two_workers_share_a_new_study_then_it_resumes_and_its_best_recipe_trains(cli, mnist_path, tmp_path):
    out = tmp_path / "study"
    # both at once, one new SQLite study
    workers = [tune_process(out, "--n-trials", "2", "--seed", SEED) for _ in range(2)]
    results = [w.communicate(timeout=600) for w in workers]
    for worker, (_, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err[-2000:]
    table = trials_table(out)
    # the margin pruner may stop one of the two (the default's conv pair barely starts in 3 s), never the best
    assert table["state"].isin(["COMPLETE", "PRUNED"]).all() and (table["state"] == "COMPLETE").any()
    assert table["baseline"].sum() == 1
    assert table["worker"].nunique() == 2  # both processes ran trials of the one study
    assert table["run_dir"].is_unique and (out / "study.db").is_file()
    for name in ("history", "slice", "importances"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 5000, name
    for run_dir in table["run_dir"]:  # each trial is an ordinary run directory, scored every epoch
        run = out / run_dir
        assert (run / "generator.keras").is_file() and (run / "training.gif").is_file()
        history = pd.read_csv(run / "history.csv")
        assert history["fd"].notna().all()
        if table.loc[table["run_dir"] == run_dir, "state"].item() == "COMPLETE":
            assert history["wall_s"].iloc[-1] >= 3.0  # stopped by its budget

    # run again with a larger target but a timeout (3 s) shorter than a trial's training budget (3 s, plus the rest):
    # the trials stay, one more runs
    code, stdout, err = cli("tune", "--out", out, "--n-trials", len(table) + 3, "--timeout-minutes", "0.05",
                            "--seed", SEED, *TUNE_SMALL)
    assert code == 0, err
    again = trials_table(out)
    assert len(again) == len(table) + 1 and again.loc[table.index, OBJECTIVE].equals(table[OBJECTIVE])
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary[f"best_{OBJECTIVE}"] == pytest.approx(again[OBJECTIVE].min(), abs=1e-3)

    preset = json.loads((out / "best_preset.json").read_text())
    best = again[OBJECTIVE].idxmin()
    assert preset["epochs"] == again.loc[best, "epochs"] and preset["model"] == again.loc[best, "param_model"]
    # (1,024 images: the search may pick batches up to 512)
    code, stdout, err = cli("train", "--preset-file", out / "best_preset.json", "--epochs", "1", "--limit", "1024",
                            "--out", tmp_path / "best", "--quiet", "--data", mnist_path)
    assert code == 0, err
    trained = TrainConfig.load(tmp_path / "best" / "config.json").to_dict()
    assert {k: trained[k] for k in preset if k != "epochs"} == {k: v for k, v in preset.items() if k != "epochs"}

    # the best trial confirmed with a second seed: its own run is the search's seed, the next trains at the same budget
    own, second = int(SEED), int(SEED) + 1
    code, _, err = cli("tune", "--out", out, "--n-trials", len(again), "--confirm", 1, "--seeds", 2, *TUNE_SMALL)
    assert code == 0, err
    confirmed = pd.read_csv(out / "confirm.csv")
    assert confirmed["trial"].tolist() == [best, best] and confirmed["seed"].tolist() == [own, second]
    assert confirmed["run_dir"].tolist() == [again.loc[best, "run_dir"], f"confirm/{best:04d}_seed{second}"]
    assert confirmed[columns(SEARCH_METRICS)].notna().all().all() and confirmed[OBJECTIVE].nunique() == 2
    assert TrainConfig.load(out / f"confirm/{best:04d}_seed{second}/config.json").seed == second
    assert f"{OBJECTIVE}_mean" in err  # the per-trial summary
    code, _, err = cli("tune", "--out", out, "--n-trials", len(again), "--confirm", 1, "--seeds", 2, *TUNE_SMALL)
    assert code == 0 and pd.read_csv(out / "confirm.csv").equals(confirmed)  # done runs are not trained again

    # tools/search_table.py's tables: every trial, then the confirmed one as a `train` command with mean ± sd over seeds
    tool = [sys.executable, str(Path(__file__).resolve().parents[1] / "tools" / "search_table.py"), str(out)]
    rows = subprocess.run(tool, capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(rows) == 2 + len(again) and rows[2].startswith("| 0 | self_resize rpgan r1,r2")
    rows = subprocess.run([*tool, "--confirmed"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(rows) == 3 and rows[2].startswith(f"| {best} | `train ") and " ± " in rows[2]

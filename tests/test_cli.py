"""The command line end to end, as a user runs it: real subprocesses on a tiny subset of real MNIST.

Bad input is tested case by case in test_bad_input.py, in-process; here only what needs a real process: the
start-up (no TensorFlow for --help and argument errors), exit codes and output files."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_mnist import TrainConfig
from gan_mnist.evaluation.registry import columns
from tests.conftest import assert_usage_error, run_cli


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, mnist_path):
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = run_cli("train", "--model", "dcgan", "--epochs", 2, "--batch-size", 64, "--limit", 128, "--seed", 1,
                   "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out, proc


@pytest.mark.slow
def test_train_writes_the_run(trained_run):
    out, proc = trained_run
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["epochs"] == 2
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "history.csv", "losses.png", "training.gif", "generator.keras", "frames"} <= names
    assert sorted(p.name for p in (out / "frames").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    assert TrainConfig.load(out / "config.json").seed == 1
    assert proc.stderr == "", "TensorFlow's start-up chatter must not reach the terminal"


@pytest.mark.slow
def test_resume_reuses_the_saved_config(trained_run):
    out, _ = trained_run
    proc = run_cli("train", "--out", out, "--resume", "--epochs", 3, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (out / "history.csv").read_text().count("\n") == 4  # header + epochs 1, 2, 3
    assert TrainConfig.load(out / "config.json").limit == 128


@pytest.mark.slow
def test_sample_writes_npz_png_grid_and_png_folder(tiny_run, tmp_path, cli):
    out = tiny_run.out_dir
    # --generator takes the run directory as well as the .keras file in it; the first as a user runs it, in a
    # process of its own, the others in this one
    proc = run_cli("sample", "--generator", out / "generator.keras", "--n", 10, "--out", tmp_path / "s.npz",
                   "--seed", 2)
    assert proc.returncode == 0, proc.stderr
    for target in ("grid.png", "pngs/"):
        code, _, err = cli("sample", "--generator", out, "--n", 10, "--out", f"{tmp_path}/{target}", "--seed", 2)
        assert code == 0, err
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (3 * (4 * 30 + 2), 3 * (3 * 30 + 2))  # 10 samples: 4 columns x 3 rows of 28 + padding, 3x
    files = sorted(p.name for p in (tmp_path / "pngs").iterdir())
    assert files == [f"sample_{i:05d}.png" for i in range(10)]
    # the PNG folder holds exactly the images of the .npz (same seed), 28x28 grayscale like MNIST
    first = Image.open(tmp_path / "pngs" / "sample_00000.png")
    assert first.mode == "L" and first.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(first), images[0])


def test_help_and_argument_errors_do_not_import_tensorflow(tmp_path):
    probe = ("import sys\nfrom gan_mnist.cli import main\n"
             "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
             "print('tensorflow' in sys.modules, 'keras' in sys.modules, code, file=sys.stderr)")
    for argv, code in ((["--help"], 0), (["train", "--epochs", "0", "--out", "r"], 2),
                       (["train", "--model", "vae", "--out", "r"], 2), (["sample", "--generator", "g", "--n", "0",
                                                                          "--out", "x.npz"], 2),
                       (["compare", "a", "--against", "b"], 2)):
        proc = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, cwd=tmp_path)
        assert proc.stderr.strip().splitlines()[-1] == f"False False {code}", (argv, proc.stderr)
    assert list(tmp_path.iterdir()) == []
    # and `python -m gan_mnist` itself: importing the package must not pull TensorFlow in either
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gan_mnist", "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "train" in proc.stdout and "sample" in proc.stdout
    assert "tensorflow" not in proc.stderr and "keras" not in proc.stderr


@pytest.mark.slow
def test_bad_input_in_a_real_process_is_one_line_and_exit_2(tmp_path):
    proc = run_cli("train", "--data", "nowhere.npz", "--out", "r", cwd=tmp_path)
    assert_usage_error(proc.returncode, proc.stderr, "mnist data not found: nowhere.npz (give the path of")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_evaluate_a_generator_and_its_samples(cli, tiny_run, tmp_path):
    import shutil

    out = Path(shutil.copytree(tiny_run.out_dir, tmp_path / "run"))  # evaluate records in the run: not the shared one
    proc = run_cli("evaluate", "--generator", out, "--n", 500, "--table", "--plot", tmp_path / "shares.png")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[0])
    assert result["n"] == 500 and result["fd"] > 0 and 1 <= result["mnist_score"] <= 10
    assert 0 <= result["precision"] <= 1 and 0 <= result["recall"] <= 1 and len(result["class_share"]) == 10
    table = [line.split()[0] for line in proc.stdout.splitlines()[1:]]  # the readable table follows the JSON
    assert {"fd", "mnist_score", "nn_ratio", "precision", "recall", "class_share"} <= set(table)
    assert Image.open(tmp_path / "shares.png").size[0] > 400  # the bar chart of each digit's share
    # the rest in this process (one TensorFlow start-up is enough to show a user's command line end to end)
    code, _, err = cli("sample", "--generator", out / "generator.keras", "--n", 300, "--out", tmp_path / "s.npz")
    assert code == 0, err
    code, stdout, err = cli("evaluate", "--samples", tmp_path / "s.npz", "--metrics", "fd_ratio,kid")
    assert code == 0, err
    result = json.loads(stdout)  # only what was asked for, on every member of the panel
    assert result["n"] == 300 and set(result) == {"source", "n", *columns(("fd_ratio", "kid")), "class_share"}
    assert all(result[c] > 3 for c in columns(("fd_ratio",)))  # a barely trained generator: far above real digits


@pytest.mark.slow
def test_evaluate_appends_a_runs_scores_to_its_evaluations_file(cli, tiny_run, tmp_path):
    import shutil

    from gan_mnist.run.directory import EVALUATIONS, locked

    run = Path(shutil.copytree(tiny_run.out_dir, tmp_path / "run"))
    (run / EVALUATIONS).unlink(missing_ok=True)
    shutil.copy(run / "generator.keras", tmp_path / "loose.keras")
    printed = []
    for generator in (run, run / "generator.keras", tmp_path / "loose.keras"):  # in this process: one TF start-up
        code, out, err = cli("evaluate", "--generator", generator, "--n", 100, "--metrics", "fd", "--seed", 3)
        assert code == 0, err
        printed.append(json.loads(out))
    lines = [json.loads(line) for line in (run / EVALUATIONS).read_text().splitlines()]
    assert [line["generator"] for line in lines] == ["generator.keras"] * 2  # the loose file is no run's
    for line, shown in zip(lines, printed[:2], strict=True):
        assert line["fd"] == shown["fd"] and line["seed"] == 3 and line["n"] == 100
    assert not (tmp_path / EVALUATIONS).exists()
    with locked(run):  # a run being trained (flock: a second open file conflicts, even in one process)
        code, out, err = cli("evaluate", "--generator", run, "--n", 100, "--metrics", "fd")
    assert code == 0 and "not recorded" in err and json.loads(out)["fd"] > 0
    assert len((run / EVALUATIONS).read_text().splitlines()) == 2


@pytest.mark.slow
def test_evaluate_draws_pools_one_draw_per_seed(cli, tiny_run, tmp_path):
    single = []
    for seed in (3, 4):
        code, out, err = cli("evaluate", "--generator", tiny_run.out_dir / "generator.keras", "--n", 100, "--metrics",
                             "fd", "--seed", seed)
        assert code == 0, err
        single.append(json.loads(out)["fd"])
    code, out, err = cli("evaluate", "--generator", tiny_run.out_dir / "generator.keras", "--n", 100, "--metrics", "fd",
                         "--seed", 3, "--draws", 2)
    assert code == 0, err
    pooled = json.loads(out)
    assert single[0] != single[1] and pooled["draws"] == 2 and pooled["n"] == 100
    assert pooled["fd"] == pytest.approx(np.mean(single), abs=2e-4)
    assert pooled["fd_sd"] == pytest.approx(abs(single[0] - single[1]) / 2**0.5, abs=2e-4)


@pytest.mark.slow
def test_evaluate_scores_real_digits_with_their_labels_as_real(cli, tmp_path, mnist_path):
    # real test digits saved like `sample` saves them: the evaluator must read their labels, and fd be small
    # (measured: 4.9 for these 5,000, 12.0 for 1,000 — the estimate's bias grows as the sample shrinks; uniform
    # noise scores about 600)
    with np.load(mnist_path) as f:
        np.savez(tmp_path / "real.npz", images=f["x_test"][-5000:], labels=f["y_test"][-5000:])
    code, out, err = cli("evaluate", "--samples", tmp_path / "real.npz", "--plot", tmp_path / "digits.png",
                         "--metrics", "fd,precision,recall,conditional_accuracy,min_digit_accuracy")
    assert code == 0, err
    result = json.loads(out)
    assert result["conditional_accuracy"] > 0.97 and result["fd"] < 10, result
    # per digit: the table users ask for when "my cGAN draws only 8s", and its bar chart
    assert len(result["digit_accuracy"]) == 10 and result["min_digit_accuracy"] == min(result["digit_accuracy"]) > 0.95
    assert result["precision"] > 0.7 and result["recall"] > 0.7  # real digits: both high
    assert (tmp_path / "digits.png").stat().st_size > 5000


@pytest.mark.slow
def test_compare_shows_each_runs_recipe_and_raw_vs_ema(tmp_path, mnist_path, cli):
    from gan_mnist import GanMnistError, TrainConfig, train
    from gan_mnist.evaluation.report import evaluate_run

    run = tmp_path / "run"
    train(TrainConfig(model="mlp", epochs=1, limit=128, batch_size=64, latent_dim=16, penalty="r1", save_every=1),
          run, data_path=mnist_path, verbose=0)
    snapshot = run / "generators" / "epoch_0001.keras"
    code, out, err = cli("compare", run, snapshot, "--n", 100, "--raw", "--markdown", "--data", mnist_path,
                         "--against", run)
    assert code == 0, err
    header = out.splitlines()[0]
    for column in ("model", "loss", "penalty", "spectral_norm", "ema_kimg", "fd", "mnist_score", "precision",
                   "recall"):
        assert column in header, header
    rows = {line.split("|")[1].strip(): line for line in out.splitlines()[2:]}
    assert set(rows) == {str(run), f"{run} (raw)", str(snapshot), "real MNIST digits (reference)"}
    assert "| mlp " in rows[str(run)] and "r1 0.05" in rows[str(run)] and "| ns " in rows[str(run)]
    # two steps in, the EMA's ramp-up (half-life <= 5% of the 128 images seen) keeps it on the raw weights
    column = [c.strip() for c in header.split("|")].index("fd")
    fd = lambda line: float(line.split("|")[column])  # noqa: E731
    assert fd(rows[str(run)]) == pytest.approx(fd(rows[f"{run} (raw)"]), rel=1e-3)
    # the last epoch's snapshot is the run's generator, scored under its run's recipe (and no raw twin of it)
    assert fd(rows[str(snapshot)]) == fd(rows[str(run)]) and "| mlp " in rows[str(snapshot)]
    with pytest.raises(GanMnistError, match="a snapshot has no raw twin"):
        evaluate_run(snapshot, n=100, raw=True)
    # the real digits' precision and recall, measured at the runs' sample size: high, unlike an untrained generator's
    names = [c.strip() for c in header.split("|")]
    text = lambda line, name: line.split("|")[names.index(name)].strip()  # noqa: E731
    cell = lambda line, name: float(text(line, name))  # noqa: E731
    real = rows["real MNIST digits (reference)"]
    assert cell(real, "precision") > 0.6 and cell(real, "recall") > 0.6 > cell(rows[str(run)], "recall")
    # every member of the panel, and the real row is its floor: FD / floor exactly 1
    assert all(column in header for column in columns(("fd", "fd_ratio", "kid", "precision", "recall")))
    assert all(cell(real, c) == 1.0 < cell(rows[str(run)], c) for c in columns(("fd_ratio",)))
    # the panel's verdict against the run: real digits beat it; its own last snapshot, the same generator, does not
    verdict = lambda line: (text(line, "beats"), text(line, "why_not"))  # noqa: E731
    assert verdict(real) == ("True", "") and verdict(rows[str(run)]) == ("", "")
    assert verdict(rows[str(snapshot)])[0] == "False" and "is not below" in verdict(rows[str(snapshot)])[1]


def _train_parser():
    from gan_mnist.cli import _parser

    parser = _parser()
    return next(a for a in parser._actions if a.dest == "command").choices["train"]


def test_every_config_field_is_a_train_flag_whose_help_states_the_configs_default():
    import re

    from gan_mnist.cli import _shown
    from gan_mnist.config import MODELS, config_fields, flag
    from gan_mnist.recipes import ARCHITECTURE_FIELDS, ARCHITECTURES, PENALTIES

    actions = {a.dest: a for a in _train_parser()._actions}
    for field in config_fields():
        action = actions[field.name]
        assert action.option_strings[0] == flag(field.name) and action.default is None, field.name
        if field.name in ARCHITECTURE_FIELDS:  # "default per model: dcgan 0.0001; mlp/cgan/... 0.0002"
            text = re.search(r"default per model: (.*?)\)\.", action.help).group(1)
            per_model = {m: value for part in text.split("; ") for names, value in [part.rsplit(" ", 1)]
                         for m in names.split("/")}
            assert per_model == {m: _shown(getattr(TrainConfig(model=m), field.name)) for m in MODELS}, field.name
        elif field.name in ("gamma", "penalty_every"):  # each penalty's: "default: the penalty's, r1 0.05, ..."
            values = ", ".join(f"{p} {_shown(getattr(TrainConfig(penalty=p), field.name))}" for p in PENALTIES)
            own = [f"{m}'s own {TrainConfig(model=m).penalty} {TrainConfig(model=m).penalty_every}" for m in MODELS
                   if field.name == "penalty_every" and ARCHITECTURES[m].penalty_every is not None]
            assert f"(default: the penalty's, {', '.join([values, *own])})" in action.help, field.name
        else:
            assert f"(default {_shown(getattr(TrainConfig(), field.name))})" in action.help, field.name


@pytest.mark.parametrize("name", ["batch_size", "g_learning_rate", "penalty", "spectral_norm", "limit", "model",
                                  "clusters", "mixed_precision", "ema_rampup"])
def test_a_flag_sets_its_config_field(name):
    from gan_mnist.cli import _train_config
    from gan_mnist.config import flag

    value = {"batch_size": 64, "g_learning_rate": 3e-4, "penalty": "r1,r2", "spectral_norm": True, "limit": 500,
             "model": "cgan", "clusters": 12, "mixed_precision": "fp16", "ema_rampup": 0.1}[name]
    base = ["--model", "resize_proj"] if name == "clusters" else []
    option = ([flag(name)] if value is True else [f"--no-{flag(name)[2:]}"] if value is False
              else [flag(name), str(value)])
    args = _train_parser().parse_args([*base, *option, "--out", "r"])
    assert getattr(_train_config(args), name) == value


def test_every_leaderboard_row_is_a_train_command_that_gives_its_config():
    import shlex

    from gan_mnist.cli import _train_config
    from gan_mnist.experiments.leaderboard import LEADERBOARD, command, leaderboard_config

    for name in LEADERBOARD:
        argv = shlex.split(command(name, "runs/NAME", seed=2))
        assert argv[:4] == ["python", "-m", "gan_mnist", "train"]
        config = _train_config(_train_parser().parse_args(argv[4:]))
        assert config == leaderboard_config(name, seed=2), name


def test_config_command_is_the_shortest_train_command_that_gives_the_config():
    import shlex

    from gan_mnist.cli import _train_config
    from gan_mnist.experiments.leaderboard import config_command

    searched = TrainConfig(model="self_cgan", loss="rpgan", penalty="r1,r2", d_dropout=0.0, epochs=14,
                           g_learning_rate=1e-4, mixed_precision="off", batch_size=256)
    for config in (TrainConfig(), TrainConfig(model="cgan", penalty="gp"), searched):
        argv = shlex.split(config_command(config, "runs/x"))
        assert argv[:4] == ["python", "-m", "gan_mnist", "train"] and argv[-2:] == ["--out", "runs/x"]
        assert _train_config(_train_parser().parse_args(argv[4:])) == config
    assert config_command(TrainConfig(), "runs/x") == "python -m gan_mnist train --out runs/x"
    assert config_command(TrainConfig(model="cgan", penalty="gp"), "d") == \
        "python -m gan_mnist train --model cgan --penalty gp --out d"  # gp's own weight comes with it
    assert "--mixed-precision off" in config_command(searched)


def _documented_lines() -> list[str]:
    """Every `python -m gan_mnist ...` line in README.md, docs/*.md and the notebooks' text (lines of code blocks and
    `inline code`, usage synopses with their indented continuation lines joined), comments cut, spaces collapsed."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    texts = [p.read_text() for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))] if p.exists()]
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        texts += ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]
    found = []
    for text in texts:
        text = re.sub(r"\n {20,}(?=\[|--)", " ", text)  # a synopsis' continuation lines
        for match in re.finditer(r"`(python -m gan_mnist [^`]+)`|^(python -m gan_mnist .+)$", text, re.M):
            line = (match.group(1) or match.group(2)).split("  #")[0].split(" # ")[0].strip()
            if len(line.split()) > 4:  # (not "the `train` command")
                found.append(" ".join(line.split()))
    return found


def _is_synopsis(line: str) -> bool:
    import re

    return bool(re.search(r"[\[\]{}|]|\.\.\.|…", line))


def test_every_documented_command_parses():
    # a renamed or removed flag breaks this test, not a reader's command
    import shlex

    from gan_mnist.cli import _parser

    commands = [line for line in _documented_lines() if not _is_synopsis(line)]
    assert len(commands) >= 15
    parser = _parser()
    for line in commands:
        try:
            parser.parse_args(shlex.split(line)[3:])
        except SystemExit as e:
            if e.code:  # (--help exits 0)
                pytest.fail(f"documented command does not parse: {line}")


def test_every_documented_synopsis_names_the_parsers_flags_and_choices():
    # synopses ([--flag X], {a,b}) cannot parse: their flags must be the subcommand's, their {choices} its choices,
    # and docs/usage.md's synopsis of each subcommand must name every flag the parser has
    import argparse
    import re

    from gan_mnist.cli import _parser

    subcommands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    synopses = [line for line in _documented_lines() if _is_synopsis(line)]
    assert len(synopses) >= len(subcommands)
    complete = set()
    for line in synopses:
        name = line.split()[3]
        actions = {o: a for a in subcommands[name]._actions for o in a.option_strings if o != "--help"}
        written = re.findall(r"(--[a-z][a-z0-9-]*)(?: \[?\{([^}]+)\})?", line)
        assert written, line
        for flag, choices in written:
            assert flag in actions, f"{flag} is not a flag of `{name}`: {line}"
            if choices and actions[flag].choices is not None:
                assert set(choices.split(",")) == set(actions[flag].choices), (flag, line)
        if {flag for flag, _ in written} >= {o for o in actions if o.startswith("--")}:
            complete.add(name)
    assert complete == set(subcommands), f"no synopsis names every flag of {sorted(set(subcommands) - complete)}"


def test_every_option_shows_its_default_once():
    # the formatter writes "(default X)" from the parser; a help text that writes it too would say it twice
    import argparse

    from gan_mnist.cli import _Formatter, _parser

    subcommands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, parser in subcommands.items():
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or action.dest == "help":
                continue
            shown = _Formatter(name)._get_help_string(action).count("(default")
            # (unset config flags state their per-model or config default themselves)
            assert shown == 1 or shown == 0 and (action.default is None or action.default is False), \
                (name, action.option_strings, action.help)

"""Every bad input from the issue list: one `error:` line on stderr, exit code 2, no traceback, nothing on disk
changed. Runs the CLI's entry point in this process (the subprocess path is covered in test_cli.py)."""

import hashlib

import keras
import numpy as np
import pytest

from gan_mnist import TrainConfig
from gan_mnist.cli import main
from gan_mnist.models import build_models
from tests.conftest import write_fake_mnist


@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    """An unconditional (mlp) and a conditional (cgan) generator saved as .keras, untrained."""
    folder = tmp_path_factory.mktemp("generators")
    paths = {}
    for model in ("mlp", "cgan"):
        paths[model] = folder / f"{model}.keras"
        build_models(model, latent_dim=8, width=0.25)[0].save(paths[model])
    return paths


def snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def fake(**overrides):
    return lambda d: write_fake_mnist(d / "data.npz", **overrides)


def existing_run(d):
    (d / "run").mkdir()
    TrainConfig(batch_size=4).save(d / "run" / "config.json")
    (d / "run" / "history.csv").write_text("epoch,d_loss,g_loss\n1,1.0,1.0\n")


def junk(name):
    return lambda d: (d / name).write_bytes(b"not what it claims to be")


TRAIN = ["train", "--out", "run", "--quiet"]
CASES = {
    # case: (setup(dir), argv, text the message must contain)
    "missing data file": (None, TRAIN + ["--data", "nowhere.npz"], "mnist data not found"),
    "unreadable data file": (junk("data.npz"), TRAIN + ["--data", "data.npz"], "data.npz"),
    "wrong keys": (fake(x_train=None), TRAIN + ["--data", "data.npz"], "x_train"),
    "wrong dtype": (fake(x_train=np.zeros((20, 28, 28), np.float32)), TRAIN + ["--data", "data.npz"],
                    "x_train must be uint8"),
    "wrong shape": (fake(x_train=np.zeros((20, 32, 32), np.uint8)), TRAIN + ["--data", "data.npz"],
                    "x_train must have shape (N, 28, 28)"),
    "wrong label shape": (fake(y_train=np.zeros(3, np.uint8)), TRAIN + ["--data", "data.npz"],
                          "y_train must have shape (20,)"),
    "empty data": (fake(x_train=np.zeros((0, 28, 28), np.uint8), y_train=np.zeros(0, np.uint8)),
                   TRAIN + ["--data", "data.npz"], "x_train is empty"),
    "limit larger than the data": (fake(), TRAIN + ["--data", "data.npz", "--limit", 21, "--batch-size", 4],
                                   "limit=21 is larger than the 20"),
    "epochs <= 0": (None, TRAIN + ["--epochs", 0], "epochs must be a positive integer"),
    "batch size <= 0": (None, TRAIN + ["--batch-size", -3], "batch_size must be a positive integer"),
    "sample --n <= 0": (None, ["sample", "--generator", "g.keras", "--n", 0, "--out", "s.npz"],
                        "--n must be a positive integer"),
    "evaluate --n <= 0": (None, ["evaluate", "--generator", "g.keras", "--n", 0], "--n must be at least 10"),
    "batch size larger than the data": (fake(), TRAIN + ["--data", "data.npz", "--batch-size", 21],
                                        "batch_size=21 is larger than the 20 training images"),
    "unknown model": (None, TRAIN + ["--model", "vae"], "invalid choice: 'vae'"),
    "unknown dataset": (None, TRAIN + ["--dataset", "cifar10"], "invalid choice: 'cifar10'"),
    "run with another config": (existing_run, TRAIN + ["--batch-size", 8], "already holds a run"),
    "resume with another config": (existing_run, TRAIN + ["--resume", "--batch-size", 8],
                                   "different config (batch_size: 4 -> 8)"),
    "sample: missing generator": (None, ["sample", "--generator", "g.keras", "--out", "s.npz"],
                                  "generator file not found"),
    "sample: corrupt generator": (junk("g.keras"), ["sample", "--generator", "g.keras", "--out", "s.npz"],
                                  "could not load generator"),
    "evaluate: missing generator": (None, ["evaluate", "--generator", "g.keras"], "generator file not found"),
    "evaluate: corrupt generator": (junk("g.keras"), ["evaluate", "--generator", "g.keras"],
                                    "could not load generator"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_exit_2_and_changes_nothing(case, tmp_path, monkeypatch, capsys):
    setup, argv, message = CASES[case]
    monkeypatch.chdir(tmp_path)
    if setup:
        setup(tmp_path)
    before = snapshot(tmp_path)
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own errors leave through SystemExit
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("model, labels, message", [
    ("cgan", "10", "labels must be digits 0-9"),
    ("cgan", "-1", "labels must be digits 0-9"),
    ("mlp", "3", "unconditional"),
])
def test_bad_labels_give_one_line_exit_2_and_change_nothing(model, labels, message, generators, tmp_path,
                                                             monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["sample", "--generator", str(generators[model]), "--n", "10", "--out", "s.npz", "--labels", labels])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_the_cases_are_real_errors_not_artefacts_of_the_setup(generators, tmp_path, monkeypatch, capsys):
    # the same commands with good input succeed, so each failure above is about the input it changes
    monkeypatch.chdir(tmp_path)
    write_fake_mnist(tmp_path / "data.npz")
    assert main(["train", "--out", "run", "--quiet", "--data", "data.npz", "--limit", "20", "--batch-size", "4",
                 "--epochs", "1", "--model", "mlp"]) == 0
    assert main(["sample", "--generator", str(generators["cgan"]), "--n", "10", "--out", "s.npz",
                 "--labels", "9"]) == 0
    assert keras.models.load_model(generators["mlp"], compile=False).name.startswith("mlp")

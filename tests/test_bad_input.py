"""Every bad input from the issue list: one `error:` line on stderr, exit code 2, no traceback, nothing on disk
changed. Runs the CLI's entry point in this process (test_cli.py checks one case in a real process)."""

import hashlib

import keras
import numpy as np
import pytest

from gan_mnist import TrainConfig
from gan_mnist.models import build_models
from tests.conftest import assert_usage_error, write_fake_mnist


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
    "sample: run directory without a generator": (lambda d: (d / "run").mkdir(),
                                                  ["sample", "--generator", "run", "--out", "s.npz"],
                                                  "directory without generator.keras"),
    "sample: unknown output kind": (None, ["sample", "--generator", "g.keras", "--out", "s.jpg"],
                                    "--out must be FILE.npz, FILE.png or a folder ending in '/'"),
    "evaluate: missing samples": (None, ["evaluate", "--samples", "s.npz"], "samples file not found"),
    "evaluate: unreadable samples": (junk("s.npz"), ["evaluate", "--samples", "s.npz"], "not a readable .npz"),
    "evaluate: float samples": (lambda d: np.savez(d / "s.npz", images=np.zeros((3, 28, 28), np.float32)),
                                ["evaluate", "--samples", "s.npz"], "uint8 (N, 28, 28)"),
    "limit beyond MNIST": (None, TRAIN + ["--limit", 70000], "limit=70000 is larger than the 60000"),
    "bench: steps <= 0": (None, ["bench", "--steps", 0], "--steps must be a positive integer"),
    "bench: repeats <= 0": (None, ["bench", "--repeats", -1], "--repeats must be a positive integer"),
    "devices <= 0": (None, TRAIN + ["--devices", 0], "devices must be a positive integer"),
    "wasserstein loss without a Lipschitz critic": (None, TRAIN + ["--loss", "wgan", "--penalty", "none"],
                                                    "needs a Lipschitz critic: add penalty 'gp'"),
    "n_critic that does not split the batch": (None, TRAIN + ["--n-critic", 3], "must split into n_critic=3"),
    "gamma without a penalty": (None, TRAIN + ["--penalty", "none", "--gamma", 1], "gamma weighs the gradient"),
    "unknown loss": (None, TRAIN + ["--loss", "softmax"], "invalid choice: 'softmax'"),
    "negative EMA half-life": (None, TRAIN + ["--ema-kimg", -1], "ema_kimg must be >= 0"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_exit_2_and_changes_nothing(case, tmp_path, monkeypatch, cli):
    setup, argv, message = CASES[case]
    monkeypatch.chdir(tmp_path)
    if setup:
        setup(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = cli(*argv)
    assert_usage_error(code, err, message)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("model, labels, message", [
    ("cgan", "10", "labels must be digits 0-9"),
    ("cgan", "-1", "labels must be digits 0-9"),
    ("cgan", "seven", "--labels must be 'all'"),
    ("cgan", "1,2", "got 2 labels for 10"),
    ("mlp", "3", "unconditional"),
])
def test_bad_labels_give_one_line_exit_2_and_change_nothing(model, labels, message, generators, tmp_path,
                                                             monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("sample", "--generator", generators[model], "--n", 10, "--out", "s.npz", "--labels", labels)
    assert_usage_error(code, err, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("labels, expected", [("7", [7] * 20), ("all", [d for d in range(10) for _ in range(2)]),
                                              (None, [d for d in range(10) for _ in range(2)])])
def test_good_labels_are_the_ones_written(labels, expected, generators, tmp_path, cli):
    code, _, err = cli("sample", "--generator", generators["cgan"], "--n", 20, "--out", tmp_path / "s.npz",
                       *(["--labels", labels] if labels else []))
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (20, 28, 28) and f["images"].dtype == np.uint8
        assert f["labels"].tolist() == expected


def test_the_cases_are_real_errors_not_artefacts_of_the_setup(generators, tmp_path, monkeypatch, cli):
    # the same commands with good input succeed, so each failure above is about the input it changes
    monkeypatch.chdir(tmp_path)
    write_fake_mnist(tmp_path / "data.npz")
    code, _, err = cli("train", "--out", "run", "--quiet", "--data", "data.npz", "--limit", 20, "--batch-size", 4,
                       "--epochs", 1, "--model", "mlp")
    assert code == 0, err
    assert cli("sample", "--generator", "run", "--n", 10, "--out", "s.jpg.png")[0] == 0
    assert cli("sample", "--generator", generators["cgan"], "--n", 10, "--out", "s.npz", "--labels", 9)[0] == 0
    assert keras.models.load_model(generators["mlp"], compile=False).name.startswith("mlp")

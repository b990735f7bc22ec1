"""Every bad input from the issue list: one `error:` line on stderr, exit code 2, no traceback, nothing on disk
changed. Runs the CLI's entry point in this process (test_cli.py checks one case in a real process)."""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

from gan_mnist import TrainConfig
from gan_mnist.networks import build_models
from gan_mnist.run.directory import LOCK, STUDY, claim
from tests.conftest import assert_usage_error, snapshot, write_fake_mnist


@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    """An unconditional (mlp) and a conditional (cgan) generator saved as .keras, untrained."""
    folder = tmp_path_factory.mktemp("generators")
    paths = {}
    for model in ("mlp", "cgan"):
        paths[model] = folder / f"{model}.keras"
        build_models(model, latent_dim=8, width=0.25)[0].save(paths[model])
    return paths


def fake(**overrides):
    return lambda d: write_fake_mnist(d / "data.npz", **overrides)


def existing_run(d):
    claim(d / "run")
    (d / "run" / LOCK).touch()  # as every run that has trained has it
    TrainConfig(batch_size=4).save(d / "run" / "config.json")
    (d / "run" / "history.csv").write_text("epoch,d_loss,g_loss\n1,1.0,1.0\n")


def pickled_checkpoint(d):
    """A run whose only checkpoint holds a pickled object (unpickling runs code): it must never be loaded."""
    fake(y_train=np.arange(20, dtype=np.uint8) % 10)(d)
    existing_run(d)
    (d / "run" / "checkpoints").mkdir()
    np.savez(d / "run" / "checkpoints" / "epoch_0001.npz", epoch=np.array(1), gadget=np.array([print], dtype=object))


def lambda_generator(d):
    """A .keras file whose Lambda layer carries Python bytecode (it would run on load without safe mode)."""
    model = keras.Sequential([keras.Input((8,)), keras.layers.Lambda(lambda x: x * 2)], name="gadget")
    model.save(d / "g.keras")


def junk(name):
    return lambda d: (d / name).write_bytes(b"not what it claims to be")


def json_file(name, data):
    """A JSON file `name` holding `data` (a run's config.json when name is run/config.json: the run is marked)."""
    def setup(d):
        if name.startswith("run/"):
            existing_run(d)
        (d / name).write_text(data if isinstance(data, str) else json.dumps(data))
    return setup


def put(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def samples(images, **arrays):
    return lambda d: np.savez(d / "s.npz", images=images, **arrays)


def a_zip_that_is_not_keras(d):
    with zipfile.ZipFile(d / "g.keras", "w") as z:
        z.writestr("readme.txt", "a zip, but no Keras model in it")


DIGITS = np.zeros((20, 28, 28), np.uint8)


TRAIN = ["train", "--out", "run", "--quiet"]
EVAL_N = "argument --n: must be an integer from 10 to 1,000,000"
SEEDS = "must be an integer from 0 to 4,294,967,295"
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
    "limit larger than the data": (fake(), TRAIN + ["--data", "data.npz", "--limit", 21, "--batch-size", 4,
                                                    "--model", "mlp"], "limit=21 is larger than the 20"),
    "fewer images than the default's clusters": (None, TRAIN + ["--limit", 20],
                                                 "clusters must be 0 (off) or 2-2, got 50; a cluster needs 10"),
    "epochs <= 0": (None, TRAIN + ["--epochs", 0], "epochs must be a positive integer"),
    "batch size <= 0": (None, TRAIN + ["--batch-size", -3], "batch_size must be a positive integer"),
    "--lr-end above 1": (None, TRAIN + ["--lr-end", 1.5], "lr_end must be >= 0 and at most 1, got 1.5"),
    "sample --n <= 0": (None, ["sample", "--generator", "g.keras", "--n", 0, "--out", "s.npz"],
                        "--n must be a positive integer"),
    "evaluate --n <= 0": (None, ["evaluate", "--generator", "g.keras", "--n", 0], EVAL_N),
    "evaluate --plot onto an existing file": (junk("mine.png"),
                                              ["evaluate", "--generator", "g.keras", "--plot", "mine.png"],
                                              "--plot must name a new .png file, got mine.png (it exists)"),
    "evaluate --metrics unknown": (None, ["evaluate", "--generator", "g.keras", "--metrics", "fd,fid"],
                                   "argument --metrics: unknown metric 'fid'; choose from fd, fd_ratio"),
    "train-evaluator --member unknown": (None, ["train-evaluator", "--member", "vit"], "invalid choice: 'vit'"),
    "evaluate --n too large": (None, ["evaluate", "--generator", "g.keras", "--n", 10**9], EVAL_N),
    "evaluate --draws 0": (None, ["evaluate", "--generator", "g.keras", "--draws", 0],
                           "argument --draws: must be a positive integer up to 20, got 0"),
    "evaluate --draws with a samples file": (None, ["evaluate", "--samples", "s.npz", "--draws", 2],
                                             "--draws 2 draws samples from a --generator; a --samples file is one"),
    "compare --draws 21": (None, ["compare", "run", "--draws", 21], "must be a positive integer up to 20, got 21"),
    "compare a folder that is no run": (None, ["compare", "."], "neither a finished run (no config.json"),
    "compare --against a run not compared": (None, ["compare", "run", "--against", "other"],
                                             "--against other is not one of the runs compared"),
    "sample --n too large": (None, ["sample", "--generator", "g.keras", "--n", 10**9, "--out", "s.npz"],
                             "up to 1,000,000"),
    "sample --n too large for a grid": (None, ["sample", "--generator", "g.keras", "--n", 20000, "--out", "s.png"],
                                        "up to 10,000 for png"),
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
                                  "not a .keras file"),
    "sample: a zip that holds no model": (a_zip_that_is_not_keras,
                                          ["sample", "--generator", "g.keras", "--out", "s.npz"],
                                          "could not load generator g.keras: not a Keras model"),
    "evaluate: missing generator": (None, ["evaluate", "--generator", "g.keras"], "generator file not found"),
    "evaluate: corrupt generator": (junk("g.keras"), ["evaluate", "--generator", "g.keras"],
                                    "not a .keras file"),
    "sample: run directory without a generator": (lambda d: (d / "run").mkdir(),
                                                  ["sample", "--generator", "run", "--out", "s.npz"],
                                                  "directory without generator.keras"),
    "sample: unknown output kind": (None, ["sample", "--generator", "g.keras", "--out", "s.jpg"],
                                    "--out must be FILE.npz, FILE.png or a folder ending in '/'"),
    "evaluate: missing samples": (None, ["evaluate", "--samples", "s.npz"], "samples file not found"),
    "evaluate: unreadable samples": (junk("s.npz"), ["evaluate", "--samples", "s.npz"], "not an .npz file"),
    "evaluate: a .npy file, not an .npz": (lambda d: np.save(open(d / "s.npz", "wb"), DIGITS),
                                           ["evaluate", "--samples", "s.npz"], "not an .npz file"),
    "evaluate: a damaged .npz": (lambda d: (d / "s.npz").write_bytes(b"PK\x03\x04" + b"\0" * 40),
                                 ["evaluate", "--samples", "s.npz"], "s.npz"),
    "evaluate: no images": (samples(DIGITS[:0]), ["evaluate", "--samples", "s.npz"], "need at least 10 images"),
    "evaluate: one image": (samples(DIGITS[:1]), ["evaluate", "--samples", "s.npz"], "need at least 10 images"),
    "evaluate: labels that do not match the images": (samples(DIGITS, labels=np.zeros(7, np.uint8)),
                                                      ["evaluate", "--samples", "s.npz"], "one per image (20)"),
    "evaluate: label 99": (samples(DIGITS, labels=np.full(20, 99, np.uint8)), ["evaluate", "--samples", "s.npz"],
                           "labels must be digits 0-9"),
    "evaluate: labels as text": (samples(DIGITS, labels=np.array(["7"] * 20)), ["evaluate", "--samples", "s.npz"],
                                 "labels must be integers"),
    "--out is a file": (junk("run"), TRAIN, "--out run is a file, not a folder"),
    "--out under a file": (junk("f"), ["train", "--out", "f/run", "--quiet"], "is under f, which is a file"),
    "sample --out under a file": (junk("f"), ["sample", "--generator", "g.keras", "--out", "f/s.npz"],
                                  "is under f, which is a file"),
    "preset file: a string for a boolean": (json_file("p.json", {"deterministic": "false"}),
                                            TRAIN + ["--preset-file", "p.json"],
                                            "p.json: deterministic must be a boolean (true or false)"),
    "preset file: an unknown precision": (json_file("p.json", {"mixed_precision": "half"}),
                                          TRAIN + ["--preset-file", "p.json"],
                                          "mixed_precision must be one of auto, bf16, fp16, off, got 'half'"),
    "--mixed-precision half": (None, TRAIN + ["--mixed-precision", "half"], "argument --mixed-precision: invalid "
                                                                           "choice: 'half'"),
    "preset file: 'no' for spectral norm": (json_file("p.json", {"spectral_norm": "no"}),
                                            TRAIN + ["--preset-file", "p.json"], "spectral_norm must be a boolean"),
    "preset file: a list for the model": (json_file("p.json", {"model": ["x"]}), TRAIN + ["--preset-file", "p.json"],
                                          "model must be a string, got ['x']"),
    "preset file: a string for the width": (json_file("p.json", {"width": "2"}), TRAIN + ["--preset-file", "p.json"],
                                            "width must be a number"),
    "preset file: a string for beta_1": (json_file("p.json", {"beta_1": "0.5"}), TRAIN + ["--preset-file", "p.json"],
                                         "beta_1 must be a number"),
    "preset file: a string for the seed": (json_file("p.json", {"seed": "0"}), TRAIN + ["--preset-file", "p.json"],
                                           "seed must be an integer"),
    "preset file: infinite width": (json_file("p.json", '{"width": Infinity}'), TRAIN + ["--preset-file", "p.json"],
                                    "width must be a number (finite)"),
    "preset file: a fraction of an epoch": (json_file("p.json", {"epochs": 1.5}), TRAIN + ["--preset-file", "p.json"],
                                            "epochs must be an integer"),
    "a pickled checkpoint is never loaded": (pickled_checkpoint, TRAIN + ["--resume", "--data", "data.npz"],
                                             "no checkpoint is readable (tried run/checkpoints/epoch_0001.npz)"),
    "sample: a generator with Python bytecode": (lambda_generator,
                                                 ["sample", "--generator", "g.keras", "--out", "s.npz"],
                                                 "refused to load generator g.keras: its config names "
                                                 "keras.layers.Lambda"),
    "evaluate: samples with a pickled object": (samples(DIGITS, labels=np.array([print] * 20, dtype=object)),
                                                ["evaluate", "--samples", "s.npz"], "not a readable .npz file"),
    "tune --out is a file": (junk("study"), ["tune", "--out", "study", "--n-trials", 1],
                             "--out study is a file, not a folder"),
    "tune: a folder holding someone's trials.csv": (lambda d: put(d / "study", {"trials.csv": b"mine"}),
                                                    ["tune", "--out", "study", "--n-trials", 1],
                                                    "study is not a gan_mnist study folder"),
    "config.json: a string for a boolean": (json_file("run/config.json", {"deterministic": "false"}),
                                            TRAIN + ["--resume"], "config.json: deterministic must be a boolean"),
    "evaluate: float samples": (lambda d: np.savez(d / "s.npz", images=np.zeros((3, 28, 28), np.float32)),
                                ["evaluate", "--samples", "s.npz"], "uint8 (N, 28, 28)"),
    "limit beyond MNIST": (None, TRAIN + ["--limit", 70000], "limit=70000 is larger than the 60000"),
    "bench: steps <= 0": (None, ["bench", "--steps", 0], "--steps: must be a positive integer up to 100,000, got 0"),
    "bench: repeats <= 0": (None, ["bench", "--repeats", -1],
                            "--repeats: must be a positive integer up to 1,000, got -1"),
    "bench: a candidate's unknown flag": (None, ["bench", "--train-flags", "--d-scale 3 --bogus"],
                                          "--train-flags '--d-scale 3 --bogus': unrecognized arguments: --bogus"),
    "bench: a candidate's value out of range": (None, ["bench", "--train-flags", "--d-growth 0"],
                                                "--train-flags '--d-growth 0': d_growth must be"),
    "devices <= 0": (None, TRAIN + ["--devices", 0], "--devices: must be a positive integer up to 4,096, got 0"),
    "wasserstein loss without a Lipschitz critic": (None, TRAIN + ["--loss", "wgan", "--penalty", "none"],
                                                    "needs a Lipschitz critic: add penalty 'gp'"),
    "n_critic that does not split the batch": (None, TRAIN + ["--n-critic", 3], "must split into n_critic=3"),
    "gamma without a penalty": (None, TRAIN + ["--penalty", "none", "--gamma", 1], "gamma weighs the gradient"),
    "unknown loss": (None, TRAIN + ["--loss", "softmax"], "invalid choice: 'softmax'"),
    "unknown penalty among several": (None, TRAIN + ["--penalty", "r1,r3"], "invalid choice: 'r1,r3'"),
    "penalties with different default weights": (None, TRAIN + ["--penalty", "r1,gp"],
                                                 "different default weights (r1 0.05, gp 10): give the weight"),
    "negative EMA half-life": (None, TRAIN + ["--ema-kimg", -1], "ema_kimg must be >= 0"),
    # numbers out of range: refused before anything is written (no config.json left to block the corrected command)
    "seed -1": (None, TRAIN + ["--seed", -1], f"seed {SEEDS}, got -1"),
    "seed 2**32": (None, TRAIN + ["--seed", 2**32], f"seed {SEEDS}, got 4294967296"),
    "grid of 100,000 x 100,000": (None, TRAIN + ["--grid-size", 100000],
                                  "grid_size must be a positive integer up to 32"),
    "a latent space of 10**8": (None, TRAIN + ["--latent-dim", 10**8], "latent_dim must be a positive integer up to "),
    "a discriminator 1e300 times wider": (None, TRAIN + ["--d-scale", 1e300], "d_scale must be > 0 and at most 8"),
    "a discriminator whose second layer has no units": (None, TRAIN + ["--d-growth", 0], "d_growth must be > 0"),
    "10**8 samples per evaluation": (None, TRAIN + ["--eval-every", 1, "--eval-samples", 10**8],
                                     "eval_samples must be an integer from 10 to 1,000,000"),
    "a learning rate of 5": (None, TRAIN + ["--lr-g", 5], "g_learning_rate must be > 0 and at most 1"),
    "sample --seed -1": (None, ["sample", "--generator", "g.keras", "--seed", -1, "--out", "s.npz"],
                         f"--seed: {SEEDS}"),
    "evaluate --seed 2**32": (None, ["evaluate", "--generator", "g.keras", "--seed", 2**32], f"--seed: {SEEDS}"),
    "compare --n 5,000,000": (None, ["compare", "run", "--n", 5000000], EVAL_N),
    "tune --eval-samples 10**8": (None, ["tune", "--out", "study", "--eval-samples", 10**8],
                                  "--eval-samples: must be an integer from 10 to 1,000,000"),
    "tune --seed -1": (None, ["tune", "--out", "study", "--seed", -1], f"--seed: {SEEDS}"),
    "evaluate: a samples file of 1,000,001 images": (samples(np.zeros((1_000_001, 28, 28), np.uint8)),
                                                     ["evaluate", "--samples", "s.npz"],
                                                     "`images` holds 1,000,001 samples, more than the 1,000,000"),
    # files that are not what they claim
    "preset file nested 100,000 deep": (json_file("p.json", "[" * 100_000 + "]" * 100_000),
                                        TRAIN + ["--preset-file", "p.json"], "p.json: not a config or preset file"),
    "preset file /dev/zero": (None, TRAIN + ["--preset-file", "/dev/zero"],
                              "/dev/zero: larger than 1,000,000 bytes"),
    "a missing preset file, named once": (None, TRAIN + ["--preset-file", "nj.json"],
                                          "error: nj.json: cannot be read (No such file or directory)"),
    "--out of 300 characters under two new folders": (None, ["train", "--out", "a/b/" + "x" * 300],
                                                       "is too long for a file system"),
    # a folder of one kind is never used as the other
    "tune --out on a run directory": (existing_run, ["tune", "--out", "run", "--n-trials", 1],
                                      "--out run is a gan_mnist run directory (it has .gan_mnist_run), not a study"),
    "train --out on a study folder": (lambda d: claim(d / "run", STUDY), TRAIN,
                                      "--out run is a gan_mnist study folder (it has .gan_mnist_study), not a run"),
    # (200 images make 20 clusters of 10: the search's 50 need 500)
    "tune --limit below its clusters": (None, ["tune", "--out", "study", "--limit", 200],
                                        "groups of 10 or more; give 500 or more"),
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
    (tmp_path / "p.json").write_text(json.dumps({"mixed_precision": False, "spectral_norm": True, "width": 1,
                                                   "beta_1": 0.5, "seed": 0}))
    code, _, err = cli("train", "--out", "run", "--quiet", "--data", "data.npz", "--limit", 20, "--batch-size", 4,
                       "--epochs", 1, "--model", "mlp", "--preset-file", "p.json", "--penalty", "r1,r2")
    assert code == 0, err
    assert TrainConfig.load(tmp_path / "run" / "config.json").penalty == "r1,r2"
    assert cli("train", "--out", "run", "--quiet", "--data", "data.npz", "--resume", "--epochs", 2)[0] == 0
    assert cli("sample", "--generator", "run", "--n", 10, "--out", "s.jpg.png")[0] == 0
    assert cli("sample", "--generator", generators["cgan"], "--n", 10, "--out", "s.npz", "--labels", 9)[0] == 0
    assert keras.models.load_model(generators["mlp"], compile=False).name.startswith("mlp")


@pytest.fixture(scope="module")
def nan_generator(tmp_path_factory):
    """An MLP generator whose weights are NaN (what a run that diverged unnoticed would leave), saved as .keras."""
    generator = build_models("mlp", latent_dim=8, width=0.25)[0]
    generator.set_weights([np.full(w.shape, np.nan, w.dtype) for w in generator.get_weights()])
    path = tmp_path_factory.mktemp("nan") / "g.keras"
    generator.save(path)
    return path


@pytest.mark.parametrize("argv", [["sample", "--out", "s.npz"], ["sample", "--out", "s.png"],
                                  ["sample", "--out", "pngs/"], ["evaluate"]])
def test_a_generator_that_draws_nan_exits_3_and_writes_nothing(argv, nan_generator, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(*argv, "--generator", nan_generator, "--n", 10)
    assert code == 3, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "NaN or infinite pixels" in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["train", "train --resume", "sample", "tune", "evaluate --plot"])
def test_a_read_only_folder_gives_one_line_and_changes_nothing(command, generators, read_only, tmp_path,
                                                               monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    write_fake_mnist(tmp_path / "data.npz")
    tiny = ["--data", tmp_path / "data.npz", "--limit", 20, "--batch-size", 4, "--model", "mlp", "--quiet"]
    (tmp_path / "ro").mkdir()
    if command == "train --resume":
        assert cli("train", "--out", "ro/run", "--epochs", 1, *tiny)[0] == 0
    read_only(tmp_path / "ro")
    before = snapshot(tmp_path)
    argv = {"train": ["train", "--out", "ro/run", "--epochs", 1, *tiny],
            "train --resume": ["train", "--out", "ro/run", "--resume", "--epochs", 2, *tiny],
            "sample": ["sample", "--generator", generators["mlp"], "--n", 10, "--out", "ro/s.npz"],
            "tune": ["tune", "--out", "ro/study", "--n-trials", 1, "--data", tmp_path / "data.npz", "--quiet"],
            # refused before the metrics are computed (and printed)
            "evaluate --plot": ["evaluate", "--generator", generators["mlp"], "--n", 10, "--plot", "ro/p.png"]}
    code, _, err = cli(*argv[command])
    assert_usage_error(code, err, "Read-only file system" if os.getuid() == 0 else "Permission denied")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["train", "sample", "tune"])
def test_ctrl_c_gives_one_line_and_exit_130(command, generators, tmp_path, monkeypatch, cli):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import gan_mnist.experiments.tune
    import gan_mnist.run.training
    import gan_mnist.sample

    monkeypatch.chdir(tmp_path)
    for module, name in ((gan_mnist.run.training, "train"), (gan_mnist.sample, "save_samples"),
                         (gan_mnist.experiments.tune, "tune")):
        monkeypatch.setattr(module, name, interrupted)
    argv = {"train": TRAIN, "sample": ["sample", "--generator", generators["mlp"], "--n", 10, "--out", "s.npz"],
            "tune": ["tune", "--out", "study"]}
    code, out, err = cli(*argv[command])
    assert code == 130 and out == "", err
    hint = {"train": "; continue with: python -m gan_mnist train --resume --out run",
            "tune": "; the same command goes on where it stopped", "sample": ""}
    assert err == f"\ninterrupted{hint[command]}\n"

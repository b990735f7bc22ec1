"""The command line end to end, as a user runs it: real subprocesses on a tiny subset of real MNIST."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "gan_mnist", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, mnist_path):
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = run_cli("train", "--model", "dcgan", "--epochs", 2, "--batch-size", 64, "--limit", 128, "--seed", 1,
                   "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_train_writes_the_run(trained_run):
    out, proc = trained_run
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["epochs"] == 2
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "history.csv", "losses.png", "training.gif", "generator.keras", "frames"} <= names
    assert sorted(p.name for p in (out / "frames").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    assert json.loads((out / "config.json").read_text())["seed"] == 1


def test_resume_reuses_the_saved_config(trained_run):
    out, _ = trained_run
    proc = run_cli("train", "--out", out, "--resume", "--epochs", 3, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (out / "history.csv").read_text().count("\n") == 4  # header + epochs 1, 2, 3
    assert json.loads((out / "config.json").read_text())["limit"] == 128


def test_sample_writes_mnist_like_uint8(trained_run, tmp_path):
    out, _ = trained_run
    proc = run_cli("sample", "--generator", out / "generator.keras", "--n", 10, "--out", tmp_path / "s.npz",
                   "--seed", 2)
    assert proc.returncode == 0, proc.stderr
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (10, 28, 28) and images.dtype == np.uint8


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "--generator", "missing.keras", "--n", 5, "--out", "x.npz"], "generator file not found"),
        (["train", "--epochs", 0, "--out", "r"], "epochs must be a positive integer"),
        (["train", "--batch-size", 1000, "--limit", 100, "--out", "r"], "larger than the 100 training images"),
        (["train", "--limit", 70000, "--out", "r"], "larger than the 60000"),
        (["train", "--data", "nowhere.npz", "--out", "r"], "mnist data not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "gan_mnist", *map(str, args)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_sample_rejects_bad_n(trained_run, tmp_path):
    out, _ = trained_run
    proc = run_cli("sample", "--generator", out / "generator.keras", "--n", 0, "--out", tmp_path / "s.npz")
    assert proc.returncode == 2 and "--n must be a positive integer" in proc.stderr


def test_unknown_model_and_help():
    assert run_cli("train", "--model", "vae", "--out", "r").returncode == 2
    proc = run_cli("--help")
    assert proc.returncode == 0 and "train" in proc.stdout and "sample" in proc.stdout


def test_refuses_to_overwrite_a_run(trained_run):
    out, _ = trained_run
    proc = run_cli("train", "--epochs", 1, "--out", out)
    assert proc.returncode == 2 and "--resume" in proc.stderr


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, mnist_path):
    out = tmp_path_factory.mktemp("cli") / "cgan"
    proc = run_cli("train", "--model", "cgan", "--epochs", 1, "--batch-size", 64, "--limit", 128, "--out", out,
                   "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("labels, expected", [("7", [7] * 20), ("all", [d for d in range(10) for _ in range(2)]),
                                              (None, [d for d in range(10) for _ in range(2)])])
def test_cgan_sample_writes_asked_labels(cgan_run, tmp_path, labels, expected):
    args = ["sample", "--generator", cgan_run / "generator.keras", "--n", 20, "--out", tmp_path / "s.npz"]
    proc = run_cli(*args, *(["--labels", labels] if labels else []))
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (20, 28, 28) and f["images"].dtype == np.uint8
        assert f["labels"].tolist() == expected


@pytest.mark.parametrize("labels, message", [("12", "labels must be digits 0-9"), ("-1", "labels must be digits 0-9"),
                                             ("seven", "--labels must be 'all'"), ("1,2", "got 2 labels for 20")])
def test_cgan_sample_rejects_bad_labels(cgan_run, tmp_path, labels, message):
    proc = run_cli("sample", "--generator", cgan_run / "generator.keras", "--n", 20, "--out", tmp_path / "s.npz",
                   "--labels", labels)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s.npz").exists()


def test_labels_for_an_unconditional_model_are_refused(trained_run, tmp_path):
    out, _ = trained_run
    proc = run_cli("sample", "--generator", out / "generator.keras", "--n", 5, "--out", tmp_path / "s.npz",
                   "--labels", "3")
    assert proc.returncode == 2 and "unconditional" in proc.stderr


def test_unknown_dataset_is_refused():
    proc = run_cli("train", "--dataset", "cifar10", "--out", "r")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_evaluate_a_generator_and_its_samples(trained_run, tmp_path):
    out, _ = trained_run
    proc = run_cli("evaluate", "--generator", out / "generator.keras", "--n", 500, "--table")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[0])
    assert result["n"] == 500 and result["fd"] > 0 and 1 <= result["mnist_score"] <= 10
    table = [line.split()[0] for line in proc.stdout.splitlines()[1:]]  # the readable table follows the JSON
    assert {"fd", "mnist_score", "nn_ratio"} <= set(table)
    sampled = run_cli("sample", "--generator", out / "generator.keras", "--n", 300, "--out", tmp_path / "s.npz")
    assert sampled.returncode == 0, sampled.stderr
    proc = run_cli("evaluate", "--samples", tmp_path / "s.npz")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n"] == 300


def test_evaluate_reports_conditional_accuracy(cgan_run, tmp_path):
    proc = run_cli("evaluate", "--generator", cgan_run / "generator.keras", "--n", 200)
    assert proc.returncode == 0, proc.stderr
    assert 0 <= json.loads(proc.stdout)["conditional_accuracy"] <= 1


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "samples file not found"),
    (lambda p: (p.write_bytes(b"junk"), p)[1], "not a readable .npz"),
    (lambda p: (np.savez(p, images=np.zeros((3, 28, 28), np.float32)), p)[1], "uint8 (N, 28, 28)"),
])
def test_evaluate_rejects_bad_samples(tmp_path, make, message):
    path = make(tmp_path / "bad.npz")
    proc = run_cli("evaluate", "--samples", path)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr

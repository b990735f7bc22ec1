"""Crash-safe resume and reproducibility: real training processes are SIGKILLed, mid-epoch or mid-save, then
`train --resume` finishes the run, which must equal an uninterrupted run with the same seed, bit for bit."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_mnist import TrainConfig, generate, load_generator, train
from gan_mnist.run.checkpoint import list_checkpoints
from gan_mnist.sample import runnable_here
from tests.conftest import run_cli
from tests.conftest import runs_here as trains_here

pytestmark = pytest.mark.slow  # child processes killed and resumed: minutes, not seconds

EPOCHS = 4
# a short run per model: 3 steps per epoch, so "step 1 of epoch 3" is the middle of an epoch
# (the tutorial's DCGAN left out for CI time: its batch norm is in the cGAN's networks, its resume path is theirs)
CONFIGS = {
    # one step per compiled call, so the kill lands mid-epoch (the MLP's default runs 10 per call)
    "mlp": TrainConfig(model="mlp", epochs=EPOCHS, batch_size=64, limit=192, grid_size=2, seed=3,
                       steps_per_execution=1),
    # a modern recipe: EMA generator, lazy R1, two critic steps per generator step and decaying learning rates must
    # resume bit for bit too, in float16 with loss scaling: the loss scales resume too (the MLP runs in float32)
    "recipe": TrainConfig(model="resize", loss="hinge", penalty="r1", penalty_every=2, n_critic=2, ema_kimg=0.2,
                          lr_end=0.1, epochs=EPOCHS, batch_size=64, limit=192, width=0.25, grid_size=2, seed=3,
                          mixed_precision="fp16"),
    # conditional and self-conditioned (the labels a variable that the checkpoint saves): clustered before epochs 1
    # and 3, so the resumed run (from epoch 3) clusters first thing, and in bfloat16 where this machine trains in it
    # (as bare `train` does on a CPU with native bfloat16)
    "selfcond": TrainConfig(model="cgan", clusters=4, recluster_every=2, epochs=EPOCHS, batch_size=64, limit=192,
                            width=0.5, grid_size=2, seed=3, mixed_precision="bf16" if trains_here("bf16") else "off"),
}

# runs in a child process: trains the config in argv[1] into argv[2] and SIGKILLs itself where argv[3] says
KILLER = """
import os, signal, sys
import keras
import gan_mnist.run.checkpoint as checkpoint
from gan_mnist import TrainConfig, train

config, out, where = TrainConfig.load(sys.argv[1]), sys.argv[2], sys.argv[3]

class KillMidEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 2 and batch == 1:  # epoch 3 of 4, after its second step
            os.kill(os.getpid(), signal.SIGKILL)

real_replace = os.replace
def replace_or_die(src, dst):
    # the temporary file of epoch 2's checkpoint is written; die before it is renamed into place
    if str(dst).endswith("epoch_0002.npz"):
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
checkpoint.os.replace = replace_or_die if where == "save" else real_replace

train(config, out, callbacks=[KillMidEpoch()] if where == "epoch" else [], verbose=0)
"""


def kill_during_training(config: TrainConfig, out, where: str, tmp_path) -> None:
    config.save(tmp_path / "config_in.json")
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path / "config_in.json"), str(out), where],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # it really died of SIGKILL


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    """The uninterrupted run of each config, trained in this process."""
    return {name: train(config, tmp_path_factory.mktemp(name) / "run", verbose=0) for name, config in CONFIGS.items()}


def assert_same_run(out, reference) -> None:
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == list(range(1, EPOCHS + 1))  # every epoch exactly once
    columns = [c for c in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc", "d_penalty", "skipped", "cluster_purity")
               if c in reference.history]
    np.testing.assert_array_equal(history[columns].to_numpy(), reference.history[columns].to_numpy())
    frames = sorted(p.name for p in (out / "frames").iterdir())
    assert frames == [f"epoch_{e:04d}.png" for e in range(1, EPOCHS + 1)]
    assert Image.open(out / "training.gif").n_frames == EPOCHS
    if reference.config.clusters:  # the same pseudo-labels, image for image
        saved = np.load(list_checkpoints(out / "checkpoints")[-1])
        np.testing.assert_array_equal(saved["clusters.0000"], reference.gan.clusters.labels.numpy())
    labels = [0, 1, 2, 3] if reference.config.conditional else None
    # generator.keras is the EMA generator where the run keeps one (the sampler), and so are the frames; loaded, it
    # computes in what this device has kernels for (a float16 one in float32 on most CPUs)
    np.testing.assert_array_equal(generate(load_generator(out / "generator.keras"), 4, seed=9, labels=labels),
                                  generate(runnable_here(reference.gan.sampler), 4, seed=9, labels=labels))


@pytest.mark.parametrize("model", sorted(CONFIGS))
def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(model, reference_runs, tmp_path):
    out = tmp_path / "run"
    kill_during_training(CONFIGS[model], out, "epoch", tmp_path)
    # killed in epoch 3: epochs 1 and 2 are saved, nothing of epoch 3 is
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["epoch_0001.npz", "epoch_0002.npz"]
    assert pd.read_csv(out / "history.csv")["epoch"].tolist() == [1, 2]
    # the pictures are those of the epochs done, without waiting for the run to finish or resume
    assert Image.open(out / "training.gif").n_frames == 2
    assert (out / "losses.png").stat().st_mtime >= (out / "frames" / "epoch_0002.png").stat().st_mtime

    proc = run_cli("train", "--resume", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    # equal to the uninterrupted run: weights, both optimizers, the noise seed and the batch order all carried on
    assert_same_run(out, reference_runs[model])


def test_sigkill_during_a_checkpoint_save_falls_back_and_resumes(reference_runs, tmp_path):
    out = tmp_path / "run"
    kill_during_training(CONFIGS["mlp"], out, "save", tmp_path)
    # the half-done save left only its temporary file; the latest real checkpoint is epoch 1's, intact
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["epoch_0001.npz"]
    assert len(list((out / "checkpoints").glob(".epoch_0002.*.tmp.npz"))) == 1
    # epoch 2's history row and frame were written before the save: resume must redo epoch 2, not repeat it
    assert pd.read_csv(out / "history.csv")["epoch"].tolist() == [1, 2]

    proc = run_cli("train", "--resume", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert_same_run(out, reference_runs["mlp"])
    assert not list((out / "checkpoints").glob(".*.tmp.npz")), "the killed save's temporary file is cleared"


def test_same_seed_same_run_and_another_seed_differs(tmp_path):
    config = CONFIGS["mlp"].replace(epochs=2)
    first = train(config, tmp_path / "a", verbose=0)
    again = train(config, tmp_path / "b", verbose=0)
    other = train(config.replace(seed=4), tmp_path / "c", verbose=0)
    columns = ["d_loss", "g_loss", "d_real_acc", "d_fake_acc"]
    np.testing.assert_array_equal(first.history[columns].to_numpy(), again.history[columns].to_numpy())
    np.testing.assert_array_equal(generate(first.gan.generator, 16, seed=1), generate(again.gan.generator, 16, seed=1))
    assert (Image.open(first.frames[-1]).tobytes() == Image.open(again.frames[-1]).tobytes())
    assert not np.array_equal(first.history[columns].to_numpy(), other.history[columns].to_numpy())


def test_quality_evaluations_and_a_budget_change_nothing_that_trains(tmp_path):
    # a search's trial runs with --eval-every 1 and --budget-minutes: its numbers are those of the same config run
    # plainly (the default's scores in the docs come from such runs), so neither may touch a weight or a noise draw
    config = CONFIGS["selfcond"].replace(epochs=2)
    plain = train(config, tmp_path / "plain", verbose=0)
    watched = train(config.replace(eval_every=1, eval_samples=200, budget_minutes=1000.0), tmp_path / "watched",
                    verbose=0)
    assert "fd" in watched.history and "fd" not in plain.history
    columns = ["d_loss", "g_loss", "d_real_acc", "d_fake_acc", "cluster_purity"]
    np.testing.assert_array_equal(plain.history[columns].to_numpy(), watched.history[columns].to_numpy())
    for a, b in zip(plain.gan.variables, watched.gan.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

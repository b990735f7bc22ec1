"""Speed (gan_mnist.experiments.bench): steps per execution, and the benchmark's table (never its timings)."""

import json

import numpy as np
import pytest

from gan_mnist import TrainConfig
from gan_mnist.experiments.bench import default_setups, preset_setups, run_benchmark
from gan_mnist.presets import PRESETS
from gan_mnist.run.data import make_dataset
from gan_mnist.run.precision import detect, supported
from gan_mnist.run.training import build_gan
from tests.conftest import run_cli


def test_steps_per_execution_runs_every_step(small_images):
    gan = build_gan(TrainConfig(model="mlp", batch_size=32, steps_per_execution=2))
    gan.fit(make_dataset(small_images[:128], 32), epochs=1, verbose=0, shuffle=False)
    assert int(gan.g_optimizer.iterations) == 4 and int(gan.d_optimizer.iterations) == 4


@pytest.mark.slow
def test_benchmark_table_has_the_tutorial_first(small_images, small_labels):
    setups = {"mlp": TrainConfig(model="mlp", batch_size=32), "cgan": TrainConfig(model="cgan", batch_size=32)}
    # one step per call: 8 batches per epoch would be less than one call of the MLP's default 10
    train_setups = {"train() mlp": TrainConfig(model="mlp", batch_size=32, grid_size=2, steps_per_execution=1),
                    # self-conditioned: its clusterings are taken out of the gaps and put back scaled to 60,000 images
                    "train() self": TrainConfig(model="self_cgan", clusters=4, width=0.25, batch_size=32, grid_size=2)}
    table = run_benchmark(small_images, small_labels, setups, steps=2, warmup=1, repeats=1, progress=None,
                          train_setups=train_setups)
    assert list(table.index) == ["tutorial loop (dcgan float32)", "mlp", "cgan", "train() mlp", "train() self",
                                 "live view redraw (notebooks)"]
    assert table.loc["train() self", "epoch_overhead_s"] > 0
    assert table.loc["live view redraw (notebooks)", "epoch_overhead_s"] > 0  # a notebook run's extra per epoch
    assert table["vs_tutorial"].iloc[0] == 1.0
    timed = table.iloc[:-1]
    np.testing.assert_allclose(timed["vs_tutorial"], timed["images_per_s"] / timed["images_per_s"].iloc[0])
    np.testing.assert_allclose(timed["s_per_epoch"], 60_000 / timed["images_per_s"])
    # the train() row counts the work between epochs (frames, GIF, plots, checkpoints), which fit() alone skips
    assert table.loc["train() mlp", "epoch_overhead_s"] > 0 and table["epoch_overhead_s"].iloc[:3].isna().all()
    # a row per precision the device has kernels for, float32 first, and one with the architecture's speed settings
    assert list(default_setups(("mlp",), policies=("off", "bf16"))) == ["mlp float32", "mlp bf16",
                                                                         "mlp steps_per_execution=10"]
    cgan = default_setups(("cgan",), policies=("off", "fp16", "bf16"))  # (the cGAN's default is auto)
    assert [c.mixed_precision for c in cgan.values()] == ["off", "fp16", "bf16"]
    here = default_setups(("cgan",))
    assert list(here)[0] == "cgan float32" and [c.mixed_precision for c in here.values()] == list(supported(detect()))
    assert list(preset_setups()) == ["train() (defaults)", "train() --model cgan", "train() --model mlp",
                                     "train() --preset fast", "train() --preset tutorial", "train() --preset wgan-gp"]
    assert preset_setups(("mlp_ns_ema",))["train() --preset mlp_ns_ema"] == TrainConfig(**PRESETS["mlp_ns_ema"])
    # a train() row also gives the whole run in tutorial-loop epochs: its epochs x its share of a tutorial epoch
    assert table.loc["train() mlp", "run_tl_epochs"] == pytest.approx(
        train_setups["train() mlp"].epochs * table.loc["train() mlp", "s_per_epoch"] / table["s_per_epoch"].iloc[0])


@pytest.mark.slow
def test_cli_bench_json_and_preset_train(tmp_path):
    candidate = "--model mlp --batch-size 64 --steps-per-execution 1 --grid-size 2 --epochs 7"
    proc = run_cli("bench", "--models", "mlp", "--steps", 2, "--warmup", 1, "--repeats", 1, "--limit", 256, "--json",
                   "--presets", "--train-flags", candidate)
    assert proc.returncode == 0, proc.stderr
    header, *rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert set(header) == {"device", "auto", "why"}  # the device, and what --mixed-precision auto picks there
    # (the MLP's own default is float32: its 16-bit rows are there only where the device has the kernels)
    assert [r["setup"] for r in rows][:2] == ["tutorial loop (dcgan float32)", "mlp float32"]
    assert [r["setup"] for r in rows][-3:] == ["mlp steps_per_execution=10", f"train() {candidate}",
                                               "live view redraw (notebooks)"]
    assert rows[0]["vs_tutorial"] == 1.0
    assert rows[1]["vs_tutorial"] == pytest.approx(rows[1]["images_per_s"] / rows[0]["images_per_s"])
    # the candidate's whole run (its own 7 epochs) in tutorial-loop epochs
    timed = rows[-2]
    assert timed["batch_size"] == 64 and timed["epochs"] == 7
    assert timed["run_tl_epochs"] == pytest.approx(7 * timed["s_per_epoch"] / rows[0]["s_per_epoch"])

    out = tmp_path / "fast"
    proc = run_cli("train", "--preset", "fast", "--epochs", 1, "--limit", 128, "--batch-size", 64, "--out", out,
                   "--quiet")
    assert proc.returncode == 0, proc.stderr
    saved = TrainConfig.load(out / "config.json").to_dict()
    assert saved["batch_size"] == 64, "a flag given beside --preset wins"
    assert all(saved[k] == v for k, v in PRESETS["fast"].items() if k not in ("batch_size", "epochs"))
    assert saved["epochs"] == 1 and (out / "generator.keras").is_file()

"""A non-finite loss stops training at once, keeps the last good checkpoint, and the CLI exits with code 3."""

import numpy as np
import pandas as pd
import pytest

from gan_mnist import TrainConfig, TrainingDiverged, train
from gan_mnist.checkpoint import list_checkpoints
from tests.conftest import run_cli


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, small_images):
    out = tmp_path / "run"
    config = TrainConfig(model="mlp", epochs=1, batch_size=64, seed=0)
    train(config, out, images=small_images, verbose=0)
    generator_bytes = (out / "generator.keras").read_bytes()

    broken = small_images.copy()
    broken[70] = np.nan  # one bad image: the loss turns NaN in whichever batch of epoch 2 holds it
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step \d+: d_loss=nan.*epoch_0001\.npz"):
        train(config.replace(epochs=3), out, images=broken, resume=True, verbose=0)

    # nothing of the broken epoch was written: checkpoint, generator, history and frames stop at epoch 1
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["epoch_0001.npz"]
    assert (out / "generator.keras").read_bytes() == generator_bytes
    assert list(pd.read_csv(out / "history.csv")["epoch"]) == [1]
    assert sorted(p.name for p in (out / "frames").iterdir()) == ["epoch_0001.png"]
    # and the run resumes from there once the data is fixed
    result = train(config.replace(epochs=2), out, images=small_images, resume=True, verbose=0)
    assert list(result.history["epoch"]) == [1, 2]


@pytest.mark.slow
def test_cli_exits_3_on_divergence(tmp_path):
    out = tmp_path / "run"
    # learning rates this large overflow the weights within a few steps
    proc = run_cli("train", "--model", "mlp", "--epochs", 2, "--limit", 256, "--batch-size", 64,
                   "--lr-g", 1e30, "--lr-d", 1e30, "--out", out, "--quiet")
    assert proc.returncode == 3, proc.stderr
    assert "error: training diverged at epoch 1" in proc.stderr and "Traceback" not in proc.stderr
    assert not list_checkpoints(out / "checkpoints") and not (out / "generator.keras").exists()

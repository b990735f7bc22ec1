"""A run's bookkeeping (gan_mnist.run.callbacks): the NaN guard keeps the last good checkpoint (the CLI exits 3),
quality metrics and best.keras join the history and TensorBoard, the time budget, and the record callbacks after the
book receive."""

import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_mnist import TrainConfig, generate, load_generator, train
from gan_mnist.errors import GanMnistError, TrainingDiverged
from gan_mnist.run.checkpoint import list_checkpoints
from tests.conftest import TINY


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


# Adam at a learning rate of 1e30 (beyond what --lr-g takes) overflows the weights within a few steps
_OVERFLOWING = """
import sys
import subprocess
import sys

import keras
from gan_mnist.cli import main
adam = keras.optimizers.Adam.__init__
keras.optimizers.Adam.__init__ = lambda self, learning_rate, *args, **kwargs: adam(self, 1e30, *args, **kwargs)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_cli_exits_3_on_divergence(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", _OVERFLOWING, "train", "--model", "mlp", "--epochs", "2", "--limit",
                           "256", "--batch-size", "64", "--out", str(out), "--quiet"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 3, proc.stderr
    assert "error: training diverged at epoch 1" in proc.stderr and "Traceback" not in proc.stderr
    assert not list_checkpoints(out / "checkpoints") and not (out / "generator.keras").exists()


@pytest.mark.slow
def test_the_best_generator_by_fd_is_kept_across_a_resume(tmp_path, mnist_path):
    from gan_mnist.evaluation.registry import Reference, evaluate_images

    config = TINY.replace(model="mlp", epochs=2, eval_every=1, eval_samples=200, limit=512, batch_size=32)
    train(config, tmp_path / "run", data_path=mnist_path, verbose=0)
    result = train(config.replace(epochs=4), tmp_path / "run", data_path=mnist_path, resume=True, verbose=0)
    history = pd.read_csv(result.out_dir / "history.csv")
    # best_fd is the lowest fd so far at every epoch, resumed ones included, and best_epoch where it was reached
    np.testing.assert_array_equal(history["best_fd"], history["fd"].cummin())
    assert history["best_epoch"].tolist() == [int(history["epoch"][history["fd"][: i + 1].idxmin()])
                                              for i in range(len(history))]
    assert history["fd"].nunique() == 4, "four different generators, so the test can tell them apart"
    # best.keras is the generator of that epoch: it scores that FD again (EpochBook's seed and sample count)
    best = load_generator(result.best_path)
    again = evaluate_images(generate(best, 200, seed=12345), reference=Reference(mnist_path), metrics=["fd"],
                            members=["cnn"])
    assert again["fd"] == pytest.approx(history["best_fd"].iloc[-1], rel=1e-4)
    assert "precision" in history and history["recall"].between(0, 1).all()


class _Spy(keras.callbacks.Callback):
    """Keeps the logs each epoch end hands to the callbacks after the run's own."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(dict(logs))


def test_quality_metrics_join_the_history(tmp_path, mnist_path):
    config = TINY.replace(model="mlp", epochs=3, eval_every=2, eval_samples=200)
    spy = _Spy()
    result = train(config, tmp_path / "q", data_path=mnist_path, verbose=0, callbacks=[spy])
    history = result.history
    # the run's bookkeeping is one callback with its own order; each epoch's record reaches the callbacks after it
    assert [logs for logs in spy.seen] == [{k: v for k, v in row.items() if v == v} for row in
                                            history.to_dict("records")]
    assert history["fd"].notna().tolist() == [False, True, True]  # every 2nd epoch and the last
    assert (history["fd"].dropna() > 0).all() and history["mnist_score"].dropna().between(1, 10).all()
    assert "fd" in pd.read_csv(result.out_dir / "history.csv").columns
    # evaluation time is its own column; seconds and wall_s count training only
    assert (history["eval_s"].dropna() > 0).all() and history["eval_s"].notna().tolist() == [False, True, True]
    np.testing.assert_allclose(history["wall_s"], history["seconds"].cumsum())
    from gan_mnist import plot_history

    assert len(plot_history(history).axes) == 4  # losses, accuracy, quality vs epoch, quality vs wall time
    with pytest.raises(GanMnistError, match="eval_every needs dataset 'mnist'"):
        TrainConfig(dataset="fashion_mnist", eval_every=1)

    # the same numbers open in TensorBoard (read back with its own event reader), and one sample grid per epoch
    from gan_mnist.run.tensorboard_logs import read_tensorboard

    scalars, images = read_tensorboard(result.out_dir / "tensorboard")
    assert scalars["epoch"].tolist() == [1, 2, 3]
    for column in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc", "wall_s"):
        np.testing.assert_allclose(scalars[column], history[column], rtol=1e-6)
    np.testing.assert_allclose(scalars["fd"].dropna(), history["fd"].dropna(), rtol=1e-6)
    np.testing.assert_allclose(scalars["g_learning_rate"], config.g_learning_rate, rtol=1e-6)  # (float32)
    frame = np.asarray(Image.open(result.out_dir / "frames" / "epoch_0003.png").convert("RGB"))
    assert sorted(images) == [1, 2, 3] and np.array_equal(images[3], frame)


@pytest.mark.slow
def test_time_budget_stops_at_the_first_epoch_end_past_it(tmp_path, mnist_path):
    result = train(TINY.replace(epochs=5, budget_minutes=1e-4), tmp_path / "b", data_path=mnist_path, verbose=0)
    assert result.history["epoch"].tolist() == [1]  # 6 ms: one epoch is past it
    # resuming with a larger budget goes on, counting the training time already spent
    result = train(TINY.replace(epochs=5, budget_minutes=10.0), tmp_path / "b", data_path=mnist_path, verbose=0,
                   resume=True)
    assert result.history["epoch"].tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(GanMnistError, match="budget_minutes must be 0 \\(no budget\\) or > 0"):
        TrainConfig(budget_minutes=-1.0)

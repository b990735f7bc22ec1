import json

import imageio.v3 as iio
import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_mnist import TrainConfig, build_gan, generate, load_generator, train
from gan_mnist.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from gan_mnist.errors import GanMnistError

TINY = TrainConfig(epochs=2, batch_size=64, limit=128, grid_size=3, latent_dim=32)


class _PicturesSoFar(keras.callbacks.Callback):
    """Notes, as each epoch begins, how many frames training.gif has and whether losses.png exists."""

    def __init__(self, out):
        super().__init__()
        self.out, self.seen = out, []

    def on_epoch_begin(self, epoch, logs=None):
        gif = self.out / "training.gif"
        self.seen.append((Image.open(gif).n_frames if gif.exists() else 0, (self.out / "losses.png").exists()))


def test_run_writes_every_output(tmp_path, mnist_path):
    pictures = _PicturesSoFar(tmp_path / "run")
    result = train(TINY, tmp_path / "run", data_path=mnist_path, verbose=0, callbacks=[pictures])
    assert pictures.seen == [(0, False), (1, True)], "the GIF and the loss plot are current after every epoch"
    out = result.out_dir
    assert [p.name for p in result.frames] == ["epoch_0001.png", "epoch_0002.png"]
    assert Image.open(result.frames[0]).size[0] == 3 * (3 * 30 + 2)  # 3x3 tiles of 28 + padding, enlarged 3x
    gif = iio.imread(result.gif_path, index=None)
    assert gif.shape[0] == 2
    assert Image.open(result.gif_path).info.get("loop") == 0  # loops forever
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [1, 2]
    assert {"d_loss", "g_loss", "seconds", "wall_s"} <= set(history.columns)
    assert (out / "losses.png").stat().st_size > 0
    assert json.loads((out / "config.json").read_text())["epochs"] == 2
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["epoch_0001.npz", "epoch_0002.npz"]
    assert result.history["epoch"].tolist() == [1, 2]


def test_generator_keras_round_trip(tmp_path, mnist_path):
    result = train(TINY.replace(epochs=1), tmp_path / "run", data_path=mnist_path, verbose=0)
    loaded = load_generator(result.generator_path)
    # generator.keras is the generator the run shows: its EMA twin (the default recipe keeps one)
    assert result.gan.sampler is result.gan.ema_generator
    np.testing.assert_allclose(generate(loaded, 8, seed=4), generate(result.gan.sampler, 8, seed=4), atol=1e-6)


def test_checkpoint_round_trip_restores_everything(tmp_path, small_images):
    from gan_mnist import make_dataset

    gan = build_gan(TINY)
    gan.fit(make_dataset(small_images[:128], 64), epochs=1, verbose=0, shuffle=False)
    path = save_checkpoint(gan, tmp_path, epoch=7)
    fresh = build_gan(TINY.replace(seed=99))
    assert load_checkpoint(fresh, path) == 7
    for a, b in zip(gan.variables + gan.g_optimizer.variables + gan.d_optimizer.variables,
                    fresh.variables + fresh.g_optimizer.variables + fresh.d_optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), fresh.seed_generator.state.numpy())
    assert int(fresh.g_optimizer.iterations) == 2


def test_truncated_checkpoint_names_the_file(tmp_path, small_images):
    gan = build_gan(TINY)
    path = save_checkpoint(gan, tmp_path, epoch=1)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(GanMnistError, match="epoch_0001.npz"):
        load_checkpoint(build_gan(TINY), path)


def test_resume_continues_the_epoch_count(tmp_path, mnist_path):
    out = tmp_path / "run"
    train(TINY, out, data_path=mnist_path, verbose=0)
    result = train(TINY.replace(epochs=4), out, data_path=mnist_path, resume=True, verbose=0)
    assert result.history["epoch"].tolist() == [1, 2, 3, 4]
    assert int(result.gan.g_optimizer.iterations) == 4 * 2  # two steps per epoch, optimizer state carried over
    assert [p.name for p in result.frames][-1] == "epoch_0004.png"
    assert iio.imread(result.gif_path, index=None).shape[0] == 4


@pytest.mark.slow
def test_resume_after_lost_epoch_keeps_each_epoch_once(tmp_path, mnist_path):
    out = tmp_path / "run"
    train(TINY.replace(epochs=3), out, data_path=mnist_path, verbose=0)
    # simulate a crash after epoch 3's history row and frame were written but before its checkpoint
    (out / "checkpoints" / "epoch_0003.npz").unlink()
    result = train(TINY.replace(epochs=3), out, data_path=mnist_path, resume=True, verbose=0)
    assert result.history["epoch"].tolist() == [1, 2, 3]


def test_existing_run_is_not_overwritten(tmp_path, mnist_path):
    out = tmp_path / "run"
    train(TINY.replace(epochs=1), out, data_path=mnist_path, verbose=0)
    before = (out / "history.csv").read_bytes()
    with pytest.raises(GanMnistError, match="--resume"):
        train(TINY.replace(epochs=1), out, data_path=mnist_path, verbose=0)
    with pytest.raises(GanMnistError, match="different config.*batch_size"):
        train(TINY.replace(batch_size=32), out, data_path=mnist_path, resume=True, verbose=0)
    assert (out / "history.csv").read_bytes() == before
    result = train(TINY.replace(epochs=1, seed=5), out, data_path=mnist_path, force=True, verbose=0)
    assert result.config.seed == 5


@pytest.mark.parametrize(
    "changes, message",
    [({"epochs": 0}, "epochs must be a positive"), ({"batch_size": -1}, "batch_size"),
     ({"model": "vae"}, "unknown model"), ({"dataset": "cifar"}, "unknown dataset"), ({"limit": 0}, "limit"),
     # types are checked, not coerced: a non-empty string would be True, "2" would fail deep inside Keras
     ({"mixed_precision": "false"}, "mixed_precision must be a boolean"), ({"deterministic": 1}, "a boolean"),
     ({"width": "2"}, "width must be a number"), ({"g_learning_rate": float("nan")}, "a number \\(finite\\)"),
     ({"epochs": 2.0}, "epochs must be an integer"), ({"model": ["mlp"]}, "model must be a string"),
     ({"seed": 2**70}, "seed is out of range")],
)
def test_bad_config_values(changes, message):
    with pytest.raises(GanMnistError, match=message):
        TrainConfig(**changes)


def test_batch_larger_than_data_changes_nothing(tmp_path, mnist_path):
    out = tmp_path / "run"
    with pytest.raises(GanMnistError, match="larger than the 128"):
        train(TINY.replace(batch_size=256), out, data_path=mnist_path, verbose=0)
    assert not out.exists()


@pytest.mark.parametrize("model", ["mlp", "cgan"])
def test_variants_train_save_and_load(tmp_path, mnist_path, model):
    config = TINY.replace(model=model, epochs=2, save_every=1)
    result = train(config, tmp_path / model, data_path=mnist_path, verbose=0)
    assert result.history["epoch"].tolist() == [1, 2]
    assert {"d_real_acc", "d_fake_acc"} <= set(result.history.columns)
    snapshots = sorted(p.name for p in (result.out_dir / "generators").iterdir())
    assert snapshots == ["epoch_0001.keras", "epoch_0002.keras"]
    labels = 7 if model == "cgan" else None
    loaded = load_generator(result.generator_path)
    np.testing.assert_allclose(generate(loaded, 6, seed=2, labels=labels),
                               generate(result.gan.sampler, 6, seed=2, labels=labels), atol=1e-6)


def test_cgan_frames_have_a_row_per_digit(tmp_path, mnist_path):
    from gan_mnist import frame_inputs

    config = TINY.replace(model="cgan", epochs=1)
    noise, labels, ncols = frame_inputs(config)
    assert ncols == 10 and labels.tolist() == [d for d in range(10) for _ in range(10)]
    np.testing.assert_array_equal(noise[0], noise[10])  # column 0 has the same noise in every row
    assert not np.array_equal(noise[0], noise[1])
    result = train(config, tmp_path / "c", data_path=mnist_path, verbose=0)
    assert Image.open(result.frames[0]).size == (3 * (10 * 30 + 2), 3 * (10 * 30 + 2) + 28)


def test_optimizer_defaults_follow_the_model():
    tutorial = TrainConfig.preset("tutorial")
    assert (tutorial.g_learning_rate, tutorial.beta_1, tutorial.batch_size, tutorial.epochs) == (1e-4, 0.9, 256, 50)
    default = TrainConfig()  # the default recipe: the MLP GAN with an EMA generator, 100 epochs
    assert (default.model, default.loss, default.penalty, default.ema_kimg) == ("mlp", "ns", None, 10.0)
    assert (default.epochs, default.steps_per_execution, default.batch_size) == (100, 10, 128)
    # an architecture brings its own Adam settings, width, precision, budget and (on "auto") penalty
    resize = TrainConfig(model="resize")
    assert (resize.g_learning_rate, resize.beta_1, resize.beta_2, resize.width) == (2e-4, 0.5, 0.99, 0.5)
    assert resize.d_scale == 3.0  # its discriminator sized to its generator
    assert (resize.mixed_precision, resize.epochs, resize.penalty, resize.penalty_every) == (True, 40, "r1", 4)
    cgan = TrainConfig(model="cgan")
    assert (cgan.penalty, cgan.gamma, cgan.mixed_precision, cgan.epochs) == ("r1", 0.05, True, 24)
    assert TrainConfig(model="cgan", penalty=None).penalty is None
    assert TrainConfig(model="dcgan").width == 1.0 and not TrainConfig(model="dcgan").mixed_precision
    mlp = TrainConfig(model="mlp")
    assert (mlp.g_learning_rate, mlp.d_learning_rate, mlp.beta_1) == (2e-4, 2e-4, 0.5)
    assert TrainConfig(model="mlp", beta_1=0.9).beta_1 == 0.9
    # replace(model=...) moves the old model's defaults to the new model's; values set by hand are kept
    moved = TrainConfig.preset("tutorial").replace(model="mlp")
    assert (moved.g_learning_rate, moved.d_learning_rate, moved.beta_1) == (2e-4, 2e-4, 0.5)
    resized = TrainConfig(model="resize").replace(model="dcgan")  # width 0.5 and bfloat16 were resize's defaults
    assert (resized.width, resized.mixed_precision, resized.beta_2, resized.epochs) == (1.0, False, 0.999, 50)
    kept = TrainConfig(g_learning_rate=3e-4).replace(model="cgan", beta_1=0.8)
    assert (kept.g_learning_rate, kept.d_learning_rate, kept.beta_1) == (3e-4, 2e-4, 0.8)
    assert TrainConfig.preset("tutorial").replace(seed=3).g_learning_rate == 1e-4
    with pytest.raises(GanMnistError, match="beta_1"):
        TrainConfig(beta_1=1.5)


def test_conditional_model_needs_labels(tmp_path, small_images):
    with pytest.raises(GanMnistError, match="one label per training image"):
        train(TINY.replace(model="cgan"), tmp_path / "x", images=small_images, verbose=0)


def test_the_best_generator_by_fd_is_kept_across_a_resume(tmp_path, mnist_path):
    from gan_mnist.evaluation.metrics import Reference, evaluate_images

    config = TINY.replace(model="mlp", epochs=2, eval_every=1, eval_samples=200, limit=512, batch_size=32)
    train(config, tmp_path / "run", data_path=mnist_path, verbose=0)
    result = train(config.replace(epochs=4), tmp_path / "run", data_path=mnist_path, resume=True, verbose=0)
    history = pd.read_csv(result.out_dir / "history.csv")
    # best_fd is the lowest fd so far at every epoch, resumed ones included, and best_epoch where it was reached
    np.testing.assert_array_equal(history["best_fd"], history["fd"].cummin())
    assert history["best_epoch"].tolist() == [int(history["epoch"][history["fd"][: i + 1].idxmin()])
                                              for i in range(len(history))]
    assert history["fd"].nunique() == 4, "four different generators, so the test can tell them apart"
    # best.keras is the generator of that epoch: it scores that FD again (QualityEvery's seed and sample count)
    best = load_generator(result.best_path)
    again = evaluate_images(generate(best, 200, seed=12345), reference=Reference(mnist_path), with_memorisation=False)
    assert again["fd"] == pytest.approx(history["best_fd"].iloc[-1], rel=1e-4)
    assert "precision" in history and history["recall"].between(0, 1).all()


def test_quality_metrics_join_the_history(tmp_path, mnist_path):
    config = TINY.replace(model="mlp", epochs=3, eval_every=2, eval_samples=200)
    result = train(config, tmp_path / "q", data_path=mnist_path, verbose=0)
    history = result.history
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
    from gan_mnist.tensorboard_logs import read_tensorboard

    scalars, images = read_tensorboard(result.out_dir / "tensorboard")
    assert scalars["epoch"].tolist() == [1, 2, 3]
    for column in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc", "wall_s"):
        np.testing.assert_allclose(scalars[column], history[column], rtol=1e-6)
    np.testing.assert_allclose(scalars["fd"].dropna(), history["fd"].dropna(), rtol=1e-6)
    np.testing.assert_allclose(scalars["g_learning_rate"], config.g_learning_rate, rtol=1e-6)  # (float32)
    frame = np.asarray(Image.open(result.out_dir / "frames" / "epoch_0003.png").convert("RGB"))
    assert sorted(images) == [1, 2, 3] and np.array_equal(images[3], frame)


def test_time_budget_stops_at_the_first_epoch_end_past_it(tmp_path, mnist_path):
    result = train(TINY.replace(epochs=5, budget_minutes=1e-4), tmp_path / "b", data_path=mnist_path, verbose=0)
    assert result.history["epoch"].tolist() == [1]  # 6 ms: one epoch is past it
    # resuming with a larger budget goes on, counting the training time already spent
    result = train(TINY.replace(epochs=5, budget_minutes=10.0), tmp_path / "b", data_path=mnist_path, verbose=0,
                   resume=True)
    assert result.history["epoch"].tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(GanMnistError, match="budget_minutes must be > 0"):
        TrainConfig(budget_minutes=0)


@pytest.mark.slow
def test_resume_with_force_starts_over_only_when_the_config_changed(tmp_path, mnist_path):
    out = tmp_path / "run"
    train(TINY.replace(epochs=1), out, data_path=mnist_path, verbose=0)
    same = train(TINY.replace(epochs=2), out, data_path=mnist_path, resume=True, force=True, verbose=0)
    assert same.history["epoch"].tolist() == [1, 2]  # same config: resumed
    changed = train(TINY.replace(epochs=1, seed=9), out, data_path=mnist_path, resume=True, force=True, verbose=0)
    assert changed.history["epoch"].tolist() == [1] and [p.name for p in changed.frames] == ["epoch_0001.png"]
    assert not (out / "checkpoints" / "epoch_0002.npz").exists()

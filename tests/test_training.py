"""One run end to end (gan_mnist.run.training): every output written, save/load round trips, resume, refusals that
change nothing, frames, the conditional variants."""

import imageio.v3 as iio
import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_mnist import TrainConfig, generate, load_generator, train
from gan_mnist.errors import GanMnistError
from gan_mnist.run.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from gan_mnist.run.training import build_gan, learning_rate, steps_per_epoch
from tests.conftest import TINY, assert_curves_drawn


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
    assert_curves_drawn(out / "losses.png", (1100, 380))  # both losses, beside D's accuracies
    assert TrainConfig.load(out / "config.json").epochs == 2
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["epoch_0001.npz", "epoch_0002.npz"]
    assert result.history["epoch"].tolist() == [1, 2]


def test_generator_keras_round_trip(tiny_run):
    result = tiny_run
    loaded = load_generator(result.generator_path)
    # generator.keras is the generator the run shows: its EMA twin (the default recipe keeps one)
    assert result.gan.sampler is result.gan.ema_generator
    np.testing.assert_allclose(generate(loaded, 8, seed=4), generate(result.gan.sampler, 8, seed=4), atol=1e-6)


def test_checkpoint_round_trip_restores_everything(tmp_path, small_images):
    from gan_mnist.run.data import make_dataset

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


@pytest.mark.parametrize("name", ["epoch_5.npz", "epoch_0005.npz"])
def test_a_checkpoint_whose_name_and_counter_disagree_is_refused(tmp_path, name):
    path = save_checkpoint(build_gan(TINY), tmp_path, epoch=7).rename(tmp_path / name)
    with pytest.raises(GanMnistError, match=f"{name} has no valid epoch counter .* its name says 5"):
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
    from gan_mnist.run.training import frame_inputs

    config = TINY.replace(model="cgan", epochs=1)
    noise, labels, ncols = frame_inputs(config)
    assert ncols == 10 and labels.tolist() == [d for d in range(10) for _ in range(10)]
    np.testing.assert_array_equal(noise[0], noise[10])  # column 0 has the same noise in every row
    assert not np.array_equal(noise[0], noise[1])
    result = train(config, tmp_path / "c", data_path=mnist_path, verbose=0)
    assert Image.open(result.frames[0]).size == (3 * (10 * 30 + 2), 3 * (10 * 30 + 2) + 28)




def test_conditional_model_needs_labels(tmp_path, small_images):
    with pytest.raises(GanMnistError, match="one label per training image"):
        train(TINY.replace(model="cgan"), tmp_path / "x", images=small_images, verbose=0)








@pytest.mark.slow
def test_resume_with_force_starts_over_only_when_the_config_changed(tmp_path, mnist_path):
    out = tmp_path / "run"
    train(TINY.replace(epochs=1), out, data_path=mnist_path, verbose=0)
    same = train(TINY.replace(epochs=2), out, data_path=mnist_path, resume=True, force=True, verbose=0)
    assert same.history["epoch"].tolist() == [1, 2]  # same config: resumed
    changed = train(TINY.replace(epochs=1, seed=9), out, data_path=mnist_path, resume=True, force=True, verbose=0)
    assert changed.history["epoch"].tolist() == [1] and [p.name for p in changed.frames] == ["epoch_0001.png"]
    assert not (out / "checkpoints" / "epoch_0002.npz").exists()


def test_lr_end_decays_both_rates_along_a_cosine_over_the_run():
    # 256 images in batches of 64 make 4 generator steps an epoch, 16 in 4 epochs; D steps twice per G step
    config = TrainConfig(model="mlp", epochs=4, batch_size=64, limit=256, n_critic=2, lr_end=0.1)
    assert config.summary.endswith("lr-end0.1")
    gan = build_gan(config)
    for optimizer, steps in ((gan.g_optimizer, 16), (gan.d_optimizer, 32)):
        rates = []
        for step in (0, steps // 2, steps, steps + 5):
            optimizer.iterations.assign(step)
            rates.append(float(optimizer.learning_rate))
        # cosine from 2e-4 to a tenth of it: halfway 0.1 + 0.9 x (1 + cos(pi / 2)) / 2 = 0.55 of the rate; held after
        np.testing.assert_allclose(rates, [2e-4, 1.1e-4, 2e-5, 2e-5], rtol=1e-5)


def test_constant_rates_unless_lr_end_is_below_one():
    assert learning_rate(3e-4, 1.0, 100) == 3e-4
    gan = build_gan(TrainConfig(model="mlp", epochs=2, limit=256))
    gan.g_optimizer.iterations.assign(1000)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(2e-4)


@pytest.mark.parametrize("n_critic, steps", [(1, 4), (2, 3)])
def test_steps_per_epoch_count_a_ragged_last_batch_unless_critic_slices_drop_it(n_critic, steps):
    assert steps_per_epoch(TrainConfig(model="mlp", batch_size=64, limit=250, n_critic=n_critic)) == steps
    assert steps_per_epoch(TrainConfig(model="mlp", batch_size=100, n_critic=n_critic), images=1000) == 10

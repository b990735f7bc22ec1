"""The panel of yardsticks (evaluation.panel): each member's shape, its shipped weights, and that its feature space
tells real digits from noise and from blurred digits."""

import numpy as np
import pytest

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation.metrics import feature_frechet_distance
from gan_mnist.evaluation.panel import MEMBERS, load_member, member_features


@pytest.mark.parametrize("name", list(MEMBERS))
def test_every_member_has_a_features_layer_and_shipped_weights(name):
    model = MEMBERS[name].build()
    assert model.input.shape[1:] == (28, 28, 1) and len(model.get_layer("features").output.shape) == 2
    assert MEMBERS[name].weights(name).is_file()
    features = member_features(load_member(name), np.zeros((3, 28, 28, 1), np.float32) - 1.0)
    assert features.shape == (3, model.get_layer("features").output.shape[1]) and features.dtype == np.float64


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MEMBERS))
def test_every_member_orders_real_blurred_noise(name, mnist_path):
    from gan_mnist.run.data import load_mnist, to_model_range

    x, _ = load_mnist(mnist_path, "train")
    xt, _ = load_mnist(mnist_path, "test")
    # 1,000 digits: real 10 / 4.1 / 25 against blurred 63 / 21 / 50 (cnn / wide / ae) and noise 580 or more
    real, test = to_model_range(x[:1000]), to_model_range(xt[:1000])
    blurred = (real + np.roll(real, 1, axis=1) + np.roll(real, 1, axis=2) + np.roll(real, (1, 1), axis=(1, 2))) / 4
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype(np.float32)
    model = load_member(name)
    ref = member_features(model, test)
    fd = [feature_frechet_distance(member_features(model, images), ref) for images in (real, blurred, noise)]
    assert fd[0] < fd[1] < fd[2], fd


def test_the_cnn_member_is_the_shipped_evaluator_itself():
    from gan_mnist.evaluation.evaluator import load_evaluator

    assert load_member("cnn") is load_evaluator()


def test_the_floor_digits_features_are_computed_once_for_the_floor_and_the_real_row(mnist_path, monkeypatch):
    from gan_mnist.evaluation import panel
    from gan_mnist.evaluation.reference import Reference
    from gan_mnist.evaluation.registry import evaluate_images

    monkeypatch.setattr(Reference, "_cache", {})  # stand-in features must not reach other tests' references
    monkeypatch.setenv("GAN_MNIST_CACHE", "off")  # every computation counted, none read from disk
    reference = Reference(mnist_path)
    calls = []
    monkeypatch.setattr(panel, "member_features", lambda model, images: calls.append(len(images)) or
                        np.random.default_rng(len(calls)).normal(size=(len(images), 4)))
    digits, labels = reference.floor_digits(123)
    assert reference.floor_digits(123)[0] is digits and digits.shape == (123, 28, 28, 1)
    first = reference.features("ae", digits)
    reference.floor_fd("ae", 123)
    evaluate_images(digits, labels, reference, metrics=("fd",), members=("ae",))
    assert reference.features("ae", digits) is first and calls.count(123) == 1
    reference.features("ae", digits.copy())  # other images (a copy too) are computed each time
    assert calls.count(123) == 2


def test_an_unknown_member_is_one_clear_error():
    with pytest.raises(GanMnistError, match="unknown panel member 'vit'"):
        load_member("vit")


@pytest.mark.slow
def test_train_evaluator_trains_a_member_and_saves_only_what_the_panel_reads(mnist_path, tmp_path):
    from gan_mnist.evaluation.evaluator_training import train_member
    from gan_mnist.evaluation.panel import feature_model

    record = train_member("ae", mnist_path, epochs=1, weights=tmp_path / "ae.npz")
    assert record["test_mse"] < 0.05 and record["command"].endswith("--member ae --epochs 1 --seed 0")
    with np.load(tmp_path / "ae.npz") as f:  # the encoder only: the decoder is never read
        assert len(f.files) == len(feature_model(MEMBERS["ae"].build()).weights) == 6
    with pytest.raises(GanMnistError, match="train_member trains wide, ae, got 'cnn'"):
        train_member("cnn", mnist_path)

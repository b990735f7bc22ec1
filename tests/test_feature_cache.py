"""The real digits' features kept on disk between processes (evaluation/feature_cache.py): read back exactly as
computed, named by the model and the digits, never read when either changes, and off or unwritable without harm."""

import keras
import numpy as np
import pytest

from gan_mnist.evaluation.feature_cache import cache_folder, cached_features
from gan_mnist.evaluation.panel import member_features


def _model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    image = keras.Input((28, 28, 1))
    features = keras.layers.Dense(5, name="features")(keras.layers.Flatten()(image))
    return keras.Model(image, keras.layers.Dense(2)(features))


@pytest.fixture
def counted():
    """member_features, counting the images it is given."""
    calls = []
    return calls, lambda model, images: calls.append(len(images)) or member_features(model, images)


def test_features_are_read_back_exactly_as_computed(tmp_path, monkeypatch, counted):
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path))
    calls, compute = counted
    model, images = _model(0), np.random.default_rng(0).uniform(-1, 1, (7, 28, 28, 1)).astype(np.float32)
    first = cached_features("m", model, images, compute)
    again = cached_features("m", model, images, compute)
    assert calls == [7] and again.dtype == np.float64 and np.array_equal(first, again)
    assert np.array_equal(first, member_features(model, images))
    assert [p.name.startswith("features_m_") for p in tmp_path.iterdir()] == [True]


def test_other_weights_or_other_digits_are_computed_again(tmp_path, monkeypatch, counted):
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path))
    calls, compute = counted
    images = np.zeros((3, 28, 28, 1), np.float32)
    cached_features("m", _model(0), images, compute)
    cached_features("m", _model(1), images, compute)  # a retrained member
    cached_features("m", _model(0), images + 0.5, compute)  # other digits
    cached_features("m", _model(0), images[:2], compute)
    assert calls == [3, 3, 3, 2] and len(list(tmp_path.iterdir())) == 4


def test_a_damaged_file_is_computed_again_and_replaced(tmp_path, monkeypatch, counted):
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path))
    calls, compute = counted
    model, images = _model(0), np.zeros((3, 28, 28, 1), np.float32)
    first = cached_features("m", model, images, compute)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"half a file")
    assert np.array_equal(cached_features("m", model, images, compute), first) and calls == [3, 3]
    assert np.array_equal(cached_features("m", model, images, compute), first) and calls == [3, 3]


def test_off_and_an_unwritable_folder_compute_every_time_and_write_nothing(tmp_path, monkeypatch, counted, read_only):
    calls, compute = counted
    model, images = _model(0), np.zeros((3, 28, 28, 1), np.float32)
    monkeypatch.setenv("GAN_MNIST_CACHE", "off")
    assert cache_folder() is None
    cached_features("m", model, images, compute)
    read_only(tmp_path)
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "cache"))
    expected = member_features(model, images)
    assert np.array_equal(cached_features("m", model, images, compute), expected) and calls == [3, 3]
    assert list(tmp_path.iterdir()) == []


def test_the_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path / "mine"))
    assert cache_folder() == tmp_path / "mine"
    monkeypatch.delenv("GAN_MNIST_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "gan_mnist"


def test_processes_that_need_the_same_features_at_once_compute_them_once(tmp_path, monkeypatch):
    # two callers at once (threads here: the folder's lock is an OS file lock, held per open file, as between
    # processes): the second waits for the first's file instead of computing its own
    import threading
    import time

    monkeypatch.setenv("GAN_MNIST_CACHE", str(tmp_path))
    model, images = _model(0), np.zeros((3, 28, 28, 1), np.float32)
    calls, start, found = [], threading.Barrier(2), {}

    def slow(m, x):
        calls.append(len(x))
        time.sleep(1.0)  # long enough for the other caller to reach the lock
        return member_features(m, x)

    def caller(name):
        start.wait()
        found[name] = cached_features("m", model, images, slow)

    threads = [threading.Thread(target=caller, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [3] and np.array_equal(found["a"], found["b"])

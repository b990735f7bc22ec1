import urllib.error

import numpy as np
import pytest

from gan_mnist.errors import GanMnistError
from gan_mnist.run import data
from gan_mnist.run.data import (
    IDX_NAMES,
    batch_count,
    load_dataset,
    load_mnist,
    load_training_images,
    make_dataset,
    read_idx,
    to_model_range,
    to_uint8,
)
from tests.conftest import write_fake_mnist


def test_real_file_has_keras_layout(mnist_path):
    x, y = load_mnist(mnist_path, "train")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and set(np.unique(y)) == set(range(10))
    xt, yt = load_mnist(mnist_path, "test")
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)


def test_explicit_path_beats_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_MNIST_DATA", str(tmp_path / "missing.npz"))
    x, _ = load_mnist(write_fake_mnist(tmp_path / "fake.npz"))
    assert x.shape == (20, 28, 28)


def test_environment_variable_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_MNIST_DATA", str(write_fake_mnist(tmp_path / "fake.npz")))
    assert load_mnist(split="test")[0].shape == (10, 28, 28)


def test_environment_variable_to_missing_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_MNIST_DATA", str(tmp_path / "nope.npz"))
    with pytest.raises(GanMnistError, match="GAN_MNIST_DATA"):
        load_mnist()


def test_offline_without_path_gives_one_clear_error(monkeypatch):
    monkeypatch.delenv("GAN_MNIST_DATA", raising=False)

    def offline(dataset):
        assert dataset == "mnist"
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data, "_keras_load", offline)
    with pytest.raises(GanMnistError, match="Offline\\? Set GAN_MNIST_DATA"):
        load_mnist()


def test_keras_downloader_is_the_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("GAN_MNIST_DATA", raising=False)
    fake = dict(np.load(write_fake_mnist(tmp_path / "f.npz")))
    monkeypatch.setattr(data, "_keras_load", lambda dataset: fake)
    assert load_mnist()[0].shape == (20, 28, 28)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_test": None}, "missing arrays \\['y_test'\\]"),
        ({"x_train": np.zeros((20, 28, 28), np.float32)}, "uint8"),
        ({"x_train": np.zeros((20, 32, 32), np.uint8)}, "shape \\(N, 28, 28\\)"),
        ({"y_train": np.zeros(19, np.uint8)}, "y_train must have shape"),
        ({"y_train": np.full(20, 10, np.uint8)}, "labels 0-9"),
        ({"x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, np.uint8)}, "empty"),
    ],
)
def test_bad_files_raise_value_error(tmp_path, overrides, message):
    path = write_fake_mnist(tmp_path / "bad.npz", **overrides)
    with pytest.raises(ValueError, match=message):
        load_mnist(path)


def test_not_an_npz_and_missing_file(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(GanMnistError, match="junk.npz"):
        load_mnist(junk)
    with pytest.raises(GanMnistError, match="data not found"):
        load_mnist(tmp_path / "absent.npz")


def test_scaling_and_round_trip():
    x = np.array([[[0, 255], [128, 64]]], dtype=np.uint8).repeat(14, 1).repeat(14, 2)
    scaled = to_model_range(x)
    assert scaled.shape == (1, 28, 28, 1) and scaled.dtype == np.float32
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    np.testing.assert_array_equal(to_uint8(scaled), x)


def test_limit_takes_first_images_and_rejects_too_many(mnist_path):
    x = load_training_images(mnist_path, limit=100)
    assert x.shape == (100, 28, 28, 1) and -1.0 <= x.min() and x.max() <= 1.0
    with pytest.raises(GanMnistError, match="larger than the 60000"):
        load_training_images(mnist_path, limit=60001)


def test_dataset_batches_and_shuffles_by_seed(small_images):
    sizes = [b.shape[0] for b in make_dataset(small_images[:100], 32)]
    assert sizes == [32, 32, 32, 4]  # the short last batch is kept, not padded
    whole = [b.shape[0] for b in make_dataset(small_images[:100], 32, drop_remainder=True)]
    assert whole == [32, 32, 32]
    # the length Keras's progress bar reads is the count of batches the dataset yields
    assert batch_count(100, 32) == len(sizes) and batch_count(100, 32, drop_remainder=True) == len(whole)
    assert make_dataset(small_images[:100], 32).cardinality().numpy() == len(sizes)
    first = next(iter(make_dataset(small_images, 32, seed=1))).numpy()
    again = next(iter(make_dataset(small_images, 32, seed=1))).numpy()
    other = next(iter(make_dataset(small_images, 32, seed=2))).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_each_epoch_order_depends_only_on_seed_and_epoch(small_images):
    def passes(ds, k):
        return [np.concatenate([b.numpy() for b in ds]) for _ in range(k)]

    x = small_images[:64]
    epochs = passes(make_dataset(x, 16, seed=1), 3)
    assert not np.array_equal(epochs[0], epochs[1])  # every pass reshuffles
    for e in range(3):
        assert sorted(map(bytes, epochs[e])) == sorted(map(bytes, x))  # each image exactly once per epoch
    # a dataset that starts at epoch 2 (a resumed run) gives epoch 2's order, not epoch 0's
    np.testing.assert_array_equal(passes(make_dataset(x, 16, seed=1, epoch=2), 1)[0], epochs[2])


def test_a_dataset_is_not_autotuned_so_keras_drops_each_epochs_iterator_at_once(small_images):
    # an autotuned iterator, dropped, waits for its tuning thread's next wake-up: seconds at every epoch's start
    ds = make_dataset(small_images[:64], 16)
    assert ds.options().autotune.enabled is False
    assert len([b for b in ds]) == 4  # and it still yields every batch


def _write_idx(path, array, gz=True):
    import gzip
    import struct

    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + np.ascontiguousarray(array, np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw, compresslevel=1) if gz else raw)  # (level 9: 15 s for MNIST's 55 MB)
    return path


def _write_idx_dir(directory, arrays, gz=True):
    directory.mkdir(exist_ok=True)
    for key, name in IDX_NAMES.items():
        _write_idx(directory / (name + (".gz" if gz else "")), arrays[key], gz)
    return directory


@pytest.mark.slow
@pytest.mark.parametrize("gz", [True, False])
def test_idx_reader_accepts_the_original_mnist_files(tmp_path, mnist_path, gz):
    # the shared file's arrays are exactly the originals' contents, so these are byte-for-byte MNIST's IDX files
    arrays = dict(np.load(mnist_path))
    folder = _write_idx_dir(tmp_path / "idx", arrays, gz)
    x, y = load_dataset("mnist", folder, "test")
    np.testing.assert_array_equal(x, arrays["x_test"])
    np.testing.assert_array_equal(y, arrays["y_test"])
    assert read_idx(folder / ("train-images-idx3-ubyte" + (".gz" if gz else ""))).shape == (60000, 28, 28)


def test_fashion_mnist_from_a_folder_and_environment(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "y_train": np.arange(30) % 10,
              "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), "y_test": np.arange(10)}
    folder = _write_idx_dir(tmp_path / "fashion", arrays)
    monkeypatch.setenv("GAN_MNIST_FASHION_DATA", str(folder))
    x, y = load_dataset("fashion_mnist", split="train")
    np.testing.assert_array_equal(x, arrays["x_train"])
    assert y.dtype == np.uint8 and y.tolist() == (np.arange(30) % 10).tolist()
    monkeypatch.delenv("GAN_MNIST_FASHION_DATA")

    def offline(dataset):
        raise OSError("no network")

    monkeypatch.setattr(data, "_keras_load", offline)
    with pytest.raises(GanMnistError, match="Set GAN_MNIST_FASHION_DATA"):
        load_dataset("fashion_mnist")


def test_real_fashion_mnist_when_installed():
    # CI installs Debian's dataset-fashion-mnist and points GAN_MNIST_FASHION_DATA at it
    import os

    if not os.environ.get("GAN_MNIST_FASHION_DATA"):
        pytest.skip("GAN_MNIST_FASHION_DATA is not set (CI sets it to /usr/share/datasets/fashion-mnist)")
    x, y = load_dataset("fashion_mnist", split="train")
    assert x.shape == (60000, 28, 28) and np.bincount(y).tolist() == [6000] * 10
    assert load_dataset("fashion_mnist", split="test")[0].shape == (10000, 28, 28)


def test_corrupt_idx_files_name_the_file(tmp_path):
    images = np.zeros((5, 28, 28), np.uint8)
    good = _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    truncated_gz = tmp_path / "trunc.gz"
    truncated_gz.write_bytes(good.read_bytes()[:-20])
    short = _write_idx(tmp_path / "short-idx3-ubyte", images, gz=False)
    short.write_bytes(short.read_bytes()[:-100])
    bad_magic = tmp_path / "magic-idx3-ubyte"
    bad_magic.write_bytes(b"\x00\x01\x08\x03" + bytes(100))
    for path, message in ((truncated_gz, "trunc.gz: corrupt or truncated"),
                          (short, "short-idx3-ubyte: 3820 data bytes where the header promises 3920"),
                          (bad_magic, "magic-idx3-ubyte: not an IDX file")):
        with pytest.raises(GanMnistError, match=message):
            read_idx(path)
    partial = tmp_path / "partial"
    partial.mkdir()
    _write_idx(partial / "train-images-idx3-ubyte.gz", images)
    with pytest.raises(GanMnistError, match="no train-labels-idx1-ubyte"):
        load_dataset("mnist", partial)

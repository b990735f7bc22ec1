"""generator.keras holds Keras's own layers only: it loads with plain keras.models.load_model in a Python where
gan_mnist cannot be imported, and draws the same images as the trained generator."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from gan_mnist.config import TrainConfig
from gan_mnist.networks.layers import Portable
from gan_mnist.run.callbacks import save_generator
from gan_mnist.run.export import all_layers, portable_copy
from gan_mnist.run.training import build_gan

# a child Python in which `import gan_mnist` fails: load the file, draw from the saved inputs, save the images
CHILD = """
import sys
sys.modules["gan_mnist"] = None  # any import of the package now raises ImportError
import numpy as np, keras
generator = keras.models.load_model(sys.argv[1])
inputs = np.load(sys.argv[2])
args = [inputs["z"], inputs["labels"]] if "labels" in inputs else inputs["z"]
np.save(sys.argv[3], np.asarray(generator(args, training=False), dtype="float32"))
assert not any(name.startswith("gan_mnist.") for name in sys.modules)
"""


# dcgan: fused batch norm; resize_proj: nested model, bfloat16, label embedding
@pytest.mark.parametrize("model", ["dcgan", "resize_proj"])
def test_generator_loads_and_draws_the_same_without_the_package(model, tmp_path):
    gan = build_gan(TrainConfig(model=model, latent_dim=16, width=0.25, ema_kimg=0.0))
    generator = gan.generator
    assert any(isinstance(layer, Portable) for layer in all_layers(generator))  # there is something to replace
    rng = np.random.default_rng(0)
    # a few training calls, so batch norm's moving statistics are not their initial values
    z = rng.normal(size=(8, 16)).astype("float32")
    labels = np.arange(8, dtype="int32") % 10
    args = [z, labels] if gan.conditional else z
    for _ in range(3):
        generator(args, training=True)
    path = save_generator(generator, tmp_path / "generator.keras")
    np.savez(tmp_path / "inputs.npz", z=z, **({"labels": labels} if gan.conditional else {}))
    done = subprocess.run([sys.executable, "-I", "-c", CHILD, str(path), str(tmp_path / "inputs.npz"),
                           str(tmp_path / "out.npy")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = np.asarray(generator(args, training=False), dtype="float32")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_portable_copy_has_the_same_weights_and_keras_layers_only():
    generator = build_gan(TrainConfig(model="dcgan", latent_dim=16, width=0.25, ema_kimg=0.0)).generator
    copy = portable_copy(generator)
    assert not any(type(layer).__module__.startswith("gan_mnist") for layer in copy.layers)
    for a, b in zip(generator.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_portable_resize_convolution_is_a_transposed_convolution_drawing_the_same():
    generator = build_gan(TrainConfig(model="resize", latent_dim=16, width=0.25, ema_kimg=0.0,
                                      mixed_precision="off")).generator
    copy = portable_copy(generator)
    assert not any(type(layer).__module__.startswith("gan_mnist") for layer in all_layers(copy))
    transposed = [layer for layer in copy.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [tuple(layer.kernel.shape) for layer in transposed] == [(4, 4, 16, 32), (4, 4, 8, 16)]
    z = np.random.default_rng(1).normal(size=(8, 16)).astype("float32")
    np.testing.assert_array_equal(copy(z, training=False), generator(z, training=False))
    z = keras.Input((4,))
    plain = keras.Model(z, keras.layers.Dense(2)(z))
    assert portable_copy(plain) is plain  # nothing to replace: saved as it is

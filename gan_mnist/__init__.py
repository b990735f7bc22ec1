"""gan_mnist: GANs on MNIST with TensorFlow 2 / Keras 3 — models, training step, outputs, CLI."""

from gan_mnist._quiet import import_tensorflow_quietly

# keep TensorFlow's C++ start-up chatter out of notebooks and the CLI (TF_CPP_MIN_LOG_LEVEL set by you wins)
import_tensorflow_quietly()

from gan_mnist.config import TrainConfig  # noqa: E402
from gan_mnist.data import load_mnist, load_training_images, make_dataset, to_model_range, to_uint8  # noqa: E402
from gan_mnist.errors import GanMnistError  # noqa: E402
from gan_mnist.gan import GAN  # noqa: E402
from gan_mnist.losses import discriminator_loss, generator_loss  # noqa: E402
from gan_mnist.models import build_dcgan_discriminator, build_dcgan_generator, build_models  # noqa: E402
from gan_mnist.plotting import image_grid, make_gif, plot_history, render_grid, save_grid  # noqa: E402
from gan_mnist.sample import fixed_noise, generate, load_generator, save_samples  # noqa: E402
from gan_mnist.train import TrainResult, build_gan, frame_paths, train  # noqa: E402

__all__ = [
    "GAN", "GanMnistError", "TrainConfig", "TrainResult", "build_dcgan_discriminator", "build_dcgan_generator",
    "build_gan", "build_models", "discriminator_loss", "fixed_noise", "frame_paths", "generate", "generator_loss",
    "image_grid", "load_generator", "load_mnist", "load_training_images", "make_dataset", "make_gif",
    "plot_history", "render_grid", "save_grid", "save_samples", "to_model_range", "to_uint8", "train",
]
__version__ = "0.1.0"

"""gan_mnist: GANs on MNIST with TensorFlow 2 / Keras 3 — models, training step, outputs, CLI."""

from gan_mnist._quiet import import_tensorflow_quietly

# keep TensorFlow's C++ start-up chatter out of notebooks and the CLI (TF_CPP_MIN_LOG_LEVEL set by you wins)
import_tensorflow_quietly()

from gan_mnist.colab import in_colab, run_dir  # noqa: E402
from gan_mnist.config import TrainConfig  # noqa: E402
from gan_mnist.data import (  # noqa: E402
    load_dataset,
    load_mnist,
    load_training_data,
    load_training_images,
    make_dataset,
    read_idx,
    to_model_range,
    to_uint8,
)
from gan_mnist.distribute import make_strategy, split_cpu  # noqa: E402
from gan_mnist.errors import GanMnistError, TrainingDiverged  # noqa: E402
from gan_mnist.evaluator import load_evaluator  # noqa: E402
from gan_mnist.gan import GAN  # noqa: E402
from gan_mnist.losses import discriminator_loss, generator_loss  # noqa: E402
from gan_mnist.metrics import evaluate_images  # noqa: E402
from gan_mnist.models import (  # noqa: E402
    build_cgan_discriminator,
    build_cgan_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
    build_models,
    is_conditional,
)
from gan_mnist.plotting import (  # noqa: E402
    image_grid,
    make_gif,
    plot_architecture,
    plot_history,
    plot_quality_curves,
    render_grid,
    save_grid,
)
from gan_mnist.sample import (  # noqa: E402
    all_digit_labels,
    fixed_noise,
    generate,
    generate_from,
    interpolate_classes,
    interpolate_latent,
    load_generator,
    save_samples,
)
from gan_mnist.train import TrainResult, build_gan, frame_inputs, frame_paths, train  # noqa: E402

__all__ = [
    "GAN",
    "GanMnistError",
    "TrainingDiverged",
    "TrainConfig",
    "TrainResult",
    "all_digit_labels",
    "build_cgan_discriminator",
    "build_cgan_generator",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_gan",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "build_models",
    "discriminator_loss",
    "evaluate_images",
    "fixed_noise",
    "frame_inputs",
    "frame_paths",
    "generate",
    "generate_from",
    "generator_loss",
    "image_grid",
    "in_colab",
    "interpolate_classes",
    "interpolate_latent",
    "is_conditional",
    "load_dataset",
    "load_evaluator",
    "load_generator",
    "load_mnist",
    "load_training_data",
    "load_training_images",
    "make_dataset",
    "make_gif",
    "make_strategy",
    "plot_architecture",
    "plot_history",
    "plot_quality_curves",
    "read_idx",
    "render_grid",
    "run_dir",
    "save_grid",
    "save_samples",
    "split_cpu",
    "to_model_range",
    "to_uint8",
    "train",
]
__version__ = "0.1.0"

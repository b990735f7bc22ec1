"""gan_mnist: GANs on MNIST with TensorFlow 2 / Keras 3 — models, training step, outputs, CLI.

Names are imported on first use (PEP 562), so `import gan_mnist` and `python -m gan_mnist --help` stay fast and do
not load TensorFlow; the first name that needs it imports TensorFlow with its C++ start-up chatter muted.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it
_EXPORTS = {
    "colab": ("in_colab", "run_dir", "show_tensorboard"),
    "config": ("CLASSIC_RECIPE", "PRESETS", "TrainConfig"),
    "data": ("load_dataset", "load_mnist", "load_training_data", "load_training_images", "make_dataset", "read_idx",
             "to_model_range", "to_uint8"),
    "distribute": ("make_strategy", "split_cpu"),
    "errors": ("GanMnistError", "GeneratorNotFinite", "NonFinite", "TrainingDiverged"),
    "evaluation.evaluator": ("load_evaluator", "classifier_outputs"),
    "gan": ("GAN",),
    "ema": ("ema_beta", "update_ema"),
    "losses": ("discriminator_loss", "generator_loss", "hinge_d", "hinge_g", "lsgan_d", "lsgan_g", "rpgan_d",
               "rpgan_g", "wgan_d", "wgan_g"),
    "evaluation.metrics": ("Reference", "evaluate_images", "nearest_neighbours"),
    "modern_models": ("build_plain_discriminator", "build_projection_discriminator", "build_resize_cgan_generator",
                      "build_resize_generator"),
    "models": ("build_cgan_discriminator", "build_cgan_generator", "build_dcgan_discriminator",
               "build_dcgan_generator", "build_mlp_discriminator", "build_mlp_generator", "build_models",
               "is_conditional"),
    "penalties": ("gradient_penalty", "r1", "r2"),
    "plotting": ("image_grid", "make_gif", "plot_architecture", "plot_history", "plot_quality_curves",
                 "preview_gif", "render_grid", "save_grid"),
    "evaluation.report": ("compare_runs",),
    "experiments.tune": ("tune",),
    "export": ("portable_copy",),
    "tensorboard_logs": ("read_tensorboard",),
    "sample": ("all_digit_labels", "fixed_noise", "generate", "generate_from", "interpolate_classes",
               "interpolate_latent", "load_generator", "save_samples"),
    "recipes": ("ARCHITECTURES", "LOSSES", "PENALTIES"),
    "training": ("TrainResult", "build_gan", "frame_inputs", "frame_paths", "load_run", "train"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
# modules that import neither TensorFlow nor Keras
_LIGHT = {"colab", "config", "errors", "recipes"}

__all__ = sorted(_WHERE)
__version__ = "0.1.0"


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'gan_mnist' has no attribute {name!r}")
    if module not in _LIGHT:
        from gan_mnist._quiet import import_tensorflow_quietly

        import_tensorflow_quietly()  # before any module of ours imports keras
    value = getattr(importlib.import_module(f"gan_mnist.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

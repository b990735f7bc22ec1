"""gan_mnist: GANs on MNIST with TensorFlow 2 / Keras 3.

The names a notebook needs are here: configure (`TrainConfig`), train (`train`), draw (`load_generator`,
`generate`, `all_digit_labels`, `interpolate_latent`, `interpolate_classes`), look (`render_grid`, `plot_history`,
`preview_gif`, `show_tensorboard`), score (`evaluate_images`, `compare_runs`), plus `load_training_data`,
`run_dir` and `GanMnistError`. Everything else is imported from the module named after it:
`gan_mnist.networks` (the generator/discriminator pairs), `gan_mnist.objectives` (losses, penalties),
`gan_mnist.gan` (the training step), `gan_mnist.run` (a training run and its folder), `gan_mnist.evaluation`,
`gan_mnist.experiments` (bench, leaderboard, tune), `gan_mnist.recipes` (the tables a recipe is made from).

Names are imported on first use (PEP 562), so `import gan_mnist` and `python -m gan_mnist --help` stay fast and do
not load TensorFlow; whenever TensorFlow is first imported, it starts with oneDNN on (x86) and its C++ start-up
chatter muted.
"""

from __future__ import annotations

import importlib
import importlib.metadata

from gan_mnist._startup import prepare_tensorflow_import

# public name -> module that defines it (pinned by tests/test_api.py)
_EXPORTS = {
    "config": ("TrainConfig",),
    "errors": ("GanMnistError",),
    "run.training": ("train",),
    "run.data": ("load_training_data",),
    "sample": ("load_generator", "generate", "all_digit_labels", "interpolate_latent", "interpolate_classes"),
    "plotting": ("render_grid", "plot_history", "preview_gif"),
    "evaluation.registry": ("evaluate_images",),
    "evaluation.report": ("compare_runs",),
    "colab": ("run_dir", "show_tensorboard"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def _package_version() -> str:
    """pyproject.toml's version, as the installed package's metadata holds it ("unknown" for a bare source tree)."""
    try:
        return importlib.metadata.version("gan_mnist")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


__version__ = _package_version()

prepare_tensorflow_import()


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'gan_mnist' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gan_mnist.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""The package's public surface: the names a notebook needs, each the object (not a module), loaded lazily."""

import importlib
import pkgutil
import types

import gan_mnist

# the names `import gan_mnist` offers; everything else is imported from the module named after it
PUBLIC = ["GanMnistError", "TrainConfig", "all_digit_labels", "compare_runs", "evaluate_images", "generate",
          "interpolate_classes", "interpolate_latent", "load_generator", "load_training_data", "plot_history",
          "preview_gif", "render_grid", "run_dir", "show_tensorboard", "train"]


def test_the_public_api_is_pinned():
    assert gan_mnist.__all__ == PUBLIC
    assert set(PUBLIC) <= set(dir(gan_mnist))
    for internal in ("build_gan", "tune", "make_dataset", "losses", "split_cpu"):  # importable from their modules
        assert not hasattr(gan_mnist, internal), internal


def test_every_public_name_is_the_object_not_a_module():
    # names load lazily; a submodule imported first must not shadow a function of the same name (train, ...)
    for module in pkgutil.walk_packages(gan_mnist.__path__, "gan_mnist."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    for name in gan_mnist.__all__:
        assert not isinstance(getattr(gan_mnist, name), types.ModuleType), name
    assert callable(gan_mnist.train) and gan_mnist.train.__module__ == "gan_mnist.run.training"


def test_the_version_is_pyproject_tomls():
    import re
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert gan_mnist.__version__ == re.search(r'^version = "(.+)"$', pyproject, re.M)[1]

"""Import TensorFlow without its C++ start-up chatter (oneDNN/CUDA notices) reaching notebooks and terminals."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _fd2_to_devnull():
    # TF writes these notices from C++ straight to file descriptor 2, before TF_CPP_MIN_LOG_LEVEL is read
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _MutedTensorFlowFinder:
    """A sys.meta_path entry that lets the first `import tensorflow` (whoever asks: keras, a submodule of ours, the
    user) run with fd 2 muted, then steps aside. Installed when gan_mnist is imported; imports nothing itself."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(cls)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def muted(module):
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            with _fd2_to_devnull():
                exec_module(module)

        loader.exec_module = muted
        return spec


def mute_tensorflow_import() -> None:
    """Mute TensorFlow's start-up chatter whenever it is first imported from now on (no import happens here)."""
    if "tensorflow" not in sys.modules and _MutedTensorFlowFinder not in sys.meta_path:
        sys.meta_path.insert(0, _MutedTensorFlowFinder)

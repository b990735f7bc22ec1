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


def import_tensorflow_quietly() -> None:
    """Import tensorflow once with fd 2 muted; exceptions still propagate (and print) after fd 2 is back."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    with _fd2_to_devnull():
        import tensorflow  # noqa: F401

"""How TensorFlow is first imported: with oneDNN's kernels on every x86 CPU, and without its C++ start-up chatter
(oneDNN/CUDA notices) reaching notebooks and terminals."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Mapping

# On Linux, TensorFlow turns oneDNN on by itself only on CPUs with AVX512_VNNI, AVX_VNNI, AVX512_BF16 or AMX; on the
# rest (AVX2 without VNNI: most laptops before 2021, AMD Zen 2 and 3) it runs Eigen's kernels, which train the
# default about half as fast (docs/speed.md)
ONEDNN_SWITCH = "TF_ENABLE_ONEDNN_OPTS"


def start_up_environment(environ: Mapping[str, str], machine: str) -> dict[str, str]:
    """The variables to set before TensorFlow starts on `machine` (platform.machine()), beside what `environ`
    already holds: oneDNN on for x86 and the C++ log quiet, each only where the user has not set it."""
    wanted = {"TF_CPP_MIN_LOG_LEVEL": "3"}
    if machine.lower() in ("x86_64", "amd64"):
        wanted[ONEDNN_SWITCH] = "1"
    return {name: value for name, value in wanted.items() if name not in environ}


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


class _TensorFlowFinder:
    """A sys.meta_path entry that lets the first `import tensorflow` (whoever asks: keras, a submodule of ours, the
    user) run in `start_up_environment` with fd 2 muted, then steps aside. Installed when gan_mnist is imported;
    imports nothing itself."""

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

        def prepared(module):
            os.environ.update(start_up_environment(os.environ, platform.machine()))
            with _fd2_to_devnull():
                exec_module(module)

        loader.exec_module = prepared
        return spec


def prepare_tensorflow_import() -> None:
    """Prepare TensorFlow's start whenever it is first imported from now on (no import happens here); where it is
    imported already, it keeps the settings it started with."""
    if "tensorflow" not in sys.modules and _TensorFlowFinder not in sys.meta_path:
        sys.meta_path.insert(0, _TensorFlowFinder)

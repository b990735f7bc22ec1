"""What a .keras file may hold before Keras opens it: the checks `load_generator` runs on a file a user passes in.

A .keras file is a zip of config.json (the layers, as class and module names Keras imports) and model.weights.h5
(HDF5). Keras's safe mode refuses Python bytecode (Lambda layers); published holes went around it: a config that
calls `keras.config.enable_unsafe_deserialization` (CVE-2025-1550), a `TFSMLayer` that loads a SavedModel from
anywhere (CVE-2026-1462), and an HDF5 dataset whose declared size allocates without bound (CVE-2026-12570). The
keras floor in requirements.txt has those fixed; these checks refuse such files whatever Keras is installed, with
one line, before Keras reads them.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

from gan_mnist.errors import GanMnistError

MAX_CONFIG_BYTES = 10_000_000  # a generator's config.json is tens of kilobytes
MAX_WEIGHT_BYTES = 2**30  # the weights every array declares, summed: our largest generator holds about 20 MB
# the modules a generator's layers, initialisers and policies come from: Keras's own, and our fast layers
SAFE_MODULES = ("keras.layers", "keras.src.layers", "keras.initializers", "keras.src.initializers",
                "keras.regularizers", "keras.constraints", "keras.activations", "keras.src.activations",
                "keras.models", "keras.src.models", "keras.dtype_policies", "keras.src.dtype_policies",
                "gan_mnist.networks.layers")
UNSAFE_CLASSES = ("TFSMLayer", "Lambda")  # load a SavedModel from any path; run Python code


def check_keras_file(path: str | os.PathLike) -> None:
    """Refuse a .keras file whose config names a module outside SAFE_MODULES or a class in UNSAFE_CLASSES, or whose
    parts or weights are larger than any generator's; a GanMnistError saying which."""
    path = Path(path)
    refuse = f"refused to load generator {path}"
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename: info.file_size for info in archive.infolist()}
            if "config.json" not in sizes:
                raise GanMnistError(f"could not load generator {path}: not a Keras model (no config.json)")
            if sizes["config.json"] > MAX_CONFIG_BYTES or sizes.get("model.weights.h5", 0) > MAX_WEIGHT_BYTES:
                raise GanMnistError(f"{refuse}: its parts are larger than any generator's ({sizes})")
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5") if "model.weights.h5" in sizes else None
    except (zipfile.BadZipFile, OSError, ValueError, RecursionError) as e:
        if isinstance(e, GanMnistError):
            raise
        raise GanMnistError(f"could not load generator {path}: damaged or not a Keras model "
                            f"({type(e).__name__})") from None
    for obj in _objects(config):
        module, name = obj.get("module"), obj.get("class_name")
        safe = module is None or module == "keras" or (isinstance(module, str) and module.startswith(SAFE_MODULES))
        if name in UNSAFE_CLASSES or not safe:
            raise GanMnistError(f"{refuse}: its config names {module}.{name}, which is not a generator's layer "
                                "(a .keras file can make Keras import and call it)")
    if weights is not None and _declared_bytes(weights, path) > MAX_WEIGHT_BYTES:
        raise GanMnistError(f"{refuse}: its weights declare more than {MAX_WEIGHT_BYTES:,} bytes (loading them "
                            "would allocate that much)")


def _objects(node):
    """Every serialised object (a dict with a class_name) in a Keras config, nested ones included."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node:
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _declared_bytes(weights: bytes, path: Path) -> int:
    """The bytes every dataset in an HDF5 file declares (shape x item size), read from its metadata only."""
    import h5py

    total = 0

    def add(_, item):
        nonlocal total
        if isinstance(item, h5py.Dataset):
            total += int(item.size or 0) * item.dtype.itemsize

    try:
        with h5py.File(io.BytesIO(weights), "r") as f:
            f.visititems(add)
    except Exception as e:  # h5py raises OSError, ValueError, KeyError and its own for a damaged file
        raise GanMnistError(f"could not load generator {path}: its weights are damaged ({type(e).__name__})") from None
    return total

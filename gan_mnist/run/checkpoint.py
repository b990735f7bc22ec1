"""Checkpoints: every variable of both networks, both optimizers, the noise generator and the EMA, in one .npz.

Written to a temporary file of its own and renamed, so a crash mid-save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from gan_mnist.errors import GanMnistError
from gan_mnist.run.directory import atomic_write_bytes, epoch_file, epoch_files, epoch_of, real_folder

# groups a checkpoint may lack, or hold where the model has none: a float16 run's loss scales. A run resumed in
# another precision starts their scale afresh, or leaves it behind
OPTIONAL = ("g_scale", "d_scale")


def _groups(gan) -> dict[str, list]:
    # order within each group is the models' own variable order, stable for a given architecture
    return {
        "g": gan.generator.variables,
        "d": gan.discriminator.variables,
        # Adam's state (a loss-scaling optimizer's inner one), so checkpoints move between precisions
        "g_opt": getattr(gan.g_optimizer, "inner_optimizer", gan.g_optimizer).variables,
        "d_opt": getattr(gan.d_optimizer, "inner_optimizer", gan.d_optimizer).variables,
        **{f"{name}_scale": [opt.step_counter, opt.dynamic_scale] for name, opt in
           (("g", gan.g_optimizer), ("d", gan.d_optimizer)) if hasattr(opt, "inner_optimizer")},
        "seed": [gan.seed_generator.state],
        # the generator's moving average, when the run keeps one
        **({"ema": gan.ema_generator.variables} if gan.ema_generator is not None else {}),
        # a self-conditioned run's pseudo-labels (one per training image)
        **({"clusters": [gan.clusters.labels]} if gan.clusters is not None else {}),
    }


def save_checkpoint(gan, directory: str | os.PathLike, epoch: int, keep: int = 2) -> Path:
    """Save the full training state after `epoch` (1-based) as directory/epoch_NNNN.npz; keep the newest `keep`."""
    directory = real_folder(directory)
    gan.build_optimizers()
    arrays = {"epoch": np.array(epoch, dtype=np.int64)}
    for group, variables in _groups(gan).items():
        for i, v in enumerate(variables):
            arrays[f"{group}.{i:04d}"] = np.asarray(v.numpy())
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path = directory / epoch_file(epoch, ".npz")
    atomic_write_bytes(path, buf.getvalue())
    for old in list_checkpoints(directory)[:-keep]:  # only epoch_NNNN.npz: the run's own
        old.unlink()
    return path


def list_checkpoints(directory: str | os.PathLike) -> list[Path]:
    """Checkpoint files directory/epoch_NNNN.npz, oldest first."""
    return epoch_files(directory, ".npz")


def load_checkpoint(gan, path: str | os.PathLike) -> int:
    """Restore the state saved by `save_checkpoint` into a compiled `gan`; returns the epoch it was saved after."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise GanMnistError(f"checkpoint {path} is unreadable or truncated ({e})") from e
    epoch = arrays.get("epoch")
    named = epoch_of(path.name, ".npz", min_digits=1)  # any epoch_N.npz name must agree
    if epoch is None or epoch.shape != () or not np.issubdtype(epoch.dtype, np.integer) or int(epoch) < 1 or (
            named is not None and named != int(epoch)):
        raise GanMnistError(f"checkpoint {path} has no valid epoch counter (got {epoch!r}; its name says "
                            f"{named if named is not None else '-'})")
    gan.build_optimizers()
    groups = {group: variables for group, variables in _groups(gan).items()
              if group not in OPTIONAL or any(k.startswith(group + ".") for k in arrays)}
    for group, variables in groups.items():
        saved = sorted(k for k in arrays if k.startswith(group + "."))
        if len(saved) != len(variables):
            raise GanMnistError(
                f"checkpoint {path} does not match this model: {len(saved)} saved '{group}' variables, "
                f"model has {len(variables)}"
            )
        for key, v in zip(saved, variables, strict=True):
            expected = tuple(v.shape)  # None where the variable takes any length (the pseudo-labels)
            if len(arrays[key].shape) != len(expected) or any(
                    e is not None and s != e for s, e in zip(arrays[key].shape, expected, strict=True)):
                raise GanMnistError(f"checkpoint {path}: {key} has shape {arrays[key].shape}, model expects {v.shape}")
    broken = [k for k, a in arrays.items() if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all()]
    if broken:
        raise GanMnistError(f"checkpoint {path} holds NaN or infinite values ({', '.join(broken[:3])}): not a "
                            "state to go on from")
    for group, variables in groups.items():
        for i, v in enumerate(variables):
            v.assign(arrays[f"{group}.{i:04d}"])
    return int(arrays["epoch"])

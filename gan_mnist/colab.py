"""Where a notebook keeps its run: on Google Drive in Colab, so a runtime reset resumes it; locally otherwise."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from gan_mnist.errors import GanMnistError

DRIVE_MOUNT = Path("/content/drive")  # where Colab's drive.mount() puts Google Drive
DRIVE_FOLDER = Path("MyDrive") / "gan_mnist_runs"  # our folder inside it


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _mount_drive(mount_point: Path) -> None:
    from google.colab import drive  # only importable in Colab

    drive.mount(str(mount_point))  # asks the user to authorise once per runtime


def run_dir(
    name: str,
    save_to_drive: bool = True,
    local_root: str | os.PathLike = "runs",
    *,
    colab: bool | None = None,
    mount_point: str | os.PathLike = DRIVE_MOUNT,
    mount: Callable[[Path], None] = _mount_drive,
) -> Path:
    """The run directory for `name`: Drive's MyDrive/gan_mnist_runs/name in Colab with `save_to_drive`
    (mounting Drive if needed), else local_root/name. `colab` (default: detected), `mount_point` and `mount`
    exist for tests."""
    if not name or Path(name).name != name or name in (".", ".."):
        raise GanMnistError(f"run name must be a plain folder name, got {name!r}")
    colab = in_colab() if colab is None else colab
    if not (colab and save_to_drive):
        return Path(local_root) / name
    mount_point = Path(mount_point)
    if not (mount_point / "MyDrive").is_dir():
        try:
            mount(mount_point)
        except Exception as e:  # a declined authorisation, a timeout...: say what to do instead
            raise GanMnistError(f"could not mount Google Drive at {mount_point} ({type(e).__name__}: {e}); "
                                "set SAVE_TO_DRIVE = False to keep the run in the Colab VM (lost on a reset)") from e
        if not (mount_point / "MyDrive").is_dir():
            raise GanMnistError(f"Google Drive is not mounted at {mount_point}; set SAVE_TO_DRIVE = False to keep "
                                "the run in the Colab VM (lost on a reset)")
    path = mount_point / DRIVE_FOLDER / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def show_tensorboard(logdir: str | os.PathLike) -> str:
    """TensorBoard on `logdir`: inline in Colab (its `%tensorboard` magic); elsewhere prints how to open it (a
    terminal, or the magic in Jupyter, which starts a server this function will not leave running behind a
    notebook). Returns the terminal command."""
    command = f"tensorboard --logdir {logdir}"
    if in_colab():
        from IPython import get_ipython

        shell = get_ipython()
        shell.run_line_magic("load_ext", "tensorboard")
        shell.run_line_magic("tensorboard", f"--logdir {logdir}")
    else:
        print(f"TensorBoard: run `{command}` and open http://localhost:6006, or in Jupyter: "
              f"`%load_ext tensorboard` then `%tensorboard --logdir {logdir}`")
    return command

"""Pictures: sample grids (PNG, labelled with the epoch), the GIF of all frames, and loss curves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from gan_mnist.run.data import to_uint8
from gan_mnist.run.directory import atomic_path


def image_grid(images: np.ndarray, ncols: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile images (N, 28, 28[, 1]) in [-1, 1] into one uint8 (H, W) picture, ink white on black."""
    tiles = to_uint8(images)
    n, h, w = tiles.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.zeros((nrows * (h + pad) + pad, ncols * (w + pad) + pad), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = tile
    return grid


def render_grid(images: np.ndarray, title: str | None = None, ncols: int | None = None, scale: int = 3) -> Image.Image:
    """A grid of images (N, 28, 28[, 1]) in [-1, 1] as a PIL image, enlarged `scale` times, with a title bar."""
    grid = Image.fromarray(image_grid(images, ncols))
    grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    if not title:
        return grid
    bar = 28
    canvas = Image.new("L", (grid.width, grid.height + bar), color=0)
    canvas.paste(grid, (0, bar))
    draw = ImageDraw.Draw(canvas)
    draw.text((6, 4), title, fill=255, font=ImageFont.load_default(size=18))
    return canvas


def save_grid(images: np.ndarray, path: str | os.PathLike, title: str | None = None, ncols: int | None = None,
              exclusive: bool = False) -> Path:
    """Save `render_grid(images, title)` as a PNG and return its path (`exclusive`: never replacing a file that
    exists by then, see atomic_path)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, exclusive) as tmp:  # a frame is never seen half-written (the GIF and TensorBoard read them)
        render_grid(images, title, ncols).save(tmp, format="PNG")
    return path


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save a matplotlib figure as PNG (100 dpi) via a temporary file and rename: never a half-written picture."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path


def make_gif(frame_paths: Sequence[str | os.PathLike], gif_path: str | os.PathLike, frame_ms: int = 200) -> Path:
    """Stitch PNG frames, in sorted name order, into a looping GIF; the last frame is held 5x longer."""
    frames = sorted(Path(p) for p in frame_paths)
    if not frames:
        raise ValueError("no frames to stitch into a GIF")
    images = [iio.imread(p) for p in frames]
    # Pillow accepts a per-frame list only for several frames
    durations = [frame_ms] * (len(images) - 1) + [frame_ms * 5] if len(images) > 1 else frame_ms
    gif_path = Path(gif_path)
    # imageio >= 2.28: `duration` is in ms per frame, loop=0 repeats forever. Written beside and renamed, so a
    # crash mid-write leaves the previous GIF, never half of one (the GIF is rewritten after every epoch).
    with atomic_path(gif_path) as tmp:
        iio.imwrite(tmp, np.stack(images), extension=".gif", duration=durations, loop=0)
    return gif_path


def preview_gif(frame_paths: Sequence[str | os.PathLike], gif_path: str | os.PathLike, max_frames: int = 8,
                width: int = 240, frame_ms: int = 500) -> Path:
    """A small looping GIF of at most `max_frames` evenly spaced frames (first and last kept), `width` pixels wide;
    the last frame is held 4x longer.

    For notebooks: a long run's full training.gif is megabytes, too much to embed in a committed notebook.
    """
    frames = sorted(Path(p) for p in frame_paths)
    if not frames:
        raise ValueError("no frames to stitch into a GIF")
    picks = sorted({round(i) for i in np.linspace(0, len(frames) - 1, min(max_frames, len(frames)))})
    small = []
    for i in picks:
        image = Image.open(frames[i]).convert("L")
        small.append(image.resize((width, round(image.height * width / image.width)), Image.LANCZOS))
    gif_path = Path(gif_path)
    durations = [frame_ms] * (len(small) - 1) + [frame_ms * 4]
    small[0].save(gif_path, format="GIF", save_all=True, append_images=small[1:], duration=durations, loop=0,
                  optimize=True)
    return gif_path


def plot_per_digit(values: dict[str, list], what: str, path: str | os.PathLike | None = None):
    """Bar chart per digit 0-9 of one or more sources ({name: 10 values in [0, 1], None where not measured}),
    e.g. conditional accuracy or class shares; saves it to `path` if given. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(values)
    for i, (name, per_digit) in enumerate(values.items()):
        heights = [np.nan if v is None else v for v in per_digit]
        ax.bar(np.arange(10) + (i - (len(values) - 1) / 2) * width, heights, width, label=name)
    if what.startswith("share"):
        ax.axhline(0.1, color="gray", ls=":", label="equal shares")
    ax.set(xticks=range(10), xlabel="digit", ylabel=what, ylim=(0, 1.05), title=f"{what} per digit")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


PANEL_TARGET = 3.0  # the unconditional default's target on every member: FD at most 3x the real floor


def plot_panel(scores: dict[str, dict], path: str | os.PathLike | None = None):
    """Each source's FD / real floor (log scale), precision and recall in each panel member's space, side by side
    ({name: evaluate_images result with those columns}); saves it to `path` if given. Returns the figure."""
    import matplotlib.pyplot as plt

    from gan_mnist.evaluation.panel import MEMBERS
    from gan_mnist.evaluation.registry import column

    members = [m for m in MEMBERS if all(column("fd_ratio", m) in s for s in scores.values())]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    width = 0.8 / len(scores)
    for ax, name in zip(axes, ("fd_ratio", "precision", "recall"), strict=True):
        for i, (source, values) in enumerate(scores.items()):
            heights = [values.get(column(name, m), np.nan) for m in members]
            ax.bar(np.arange(len(members)) + (i - (len(scores) - 1) / 2) * width, heights, width, label=source)
        ax.set(xticks=range(len(members)), xticklabels=members, xlabel="panel member")
        ax.grid(alpha=0.3, axis="y")
        if name == "fd_ratio":
            ax.axhline(1.0, color="gray", ls=":", label="real digits")
            ax.axhline(PANEL_TARGET, color="tab:red", ls="--", label=f"target ({PANEL_TARGET:g}x)")
            ax.set(yscale="log", ylabel="FD / real floor (log)", title="distance, over real digits'")
        else:
            ax.set(ylim=(0, 1), ylabel=name, title=name)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_history(history: pd.DataFrame, path: str | os.PathLike | None = None):
    """Plot losses, discriminator accuracies and (if measured) quality vs epoch and wall time; save if `path`."""
    import matplotlib.pyplot as plt

    has_acc = {"d_real_acc", "d_fake_acc"} <= set(history.columns)
    has_fd = "fd" in history.columns and history["fd"].notna().any()
    rows = 2 if has_fd else 1
    fig, axes = plt.subplots(rows, 2 if has_acc else 1, figsize=(11 if has_acc else 6, 3.8 * rows), squeeze=False)
    if has_fd:
        _plot_quality(history.dropna(subset=["fd"]), axes[1])
    ax = axes[0, 0]
    for col, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
        ax.plot(history["epoch"], history[col], marker="o", ms=3, label=label)
    ax.set(xlabel="epoch", ylabel="loss (mean over epoch)", title="GAN losses")
    ax.legend()
    ax.grid(alpha=0.3)
    if has_acc:
        ax = axes[0, 1]
        ax.plot(history["epoch"], history["d_real_acc"], marker="o", ms=3, label="on real")
        ax.plot(history["epoch"], history["d_fake_acc"], marker="o", ms=3, label="on fake")
        ax.set(xlabel="epoch", ylabel="accuracy", title="discriminator accuracy", ylim=(0, 1.02))
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def _plot_quality(quality: pd.DataFrame, axes) -> None:
    # Fréchet distance against epochs and against minutes of training: what a run bought for its time
    for ax, x, label in ((axes[0], quality["epoch"], "epoch"), (axes[-1], quality["wall_s"] / 60, "wall time (min)")):
        ax.plot(x, quality["fd"], marker="o", ms=3, color="tab:green")
        title = f"quality vs {label.removesuffix(' (min)')}"
        ax.set(xlabel=label, ylabel="Fréchet distance (lower is better)", title=title)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)


def plot_architecture(model, path: str | os.PathLike) -> Path | None:
    """Draw `model` to a PNG with keras.utils.plot_model; None, with a printed hint, without pydot + Graphviz."""
    import shutil

    import keras

    try:
        import pydot  # noqa: F401
    except ImportError:
        pydot = None
    if pydot is None or shutil.which("dot") is None:
        print(f"No diagram of {model.name}: keras.utils.plot_model needs pydot (pip install pydot) and "
              "Graphviz (apt-get install graphviz, brew install graphviz). model.summary() shows the same layers.")
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True, dpi=72)
    return path


def plot_quality_curves(histories: dict[str, pd.DataFrame], path: str | os.PathLike | None = None,
                        cost_per_epoch: dict[str, float] | None = None, cost_label: str = "tutorial-loop epochs"):
    """Fréchet distance of several runs (name -> history with an 'fd' column) vs epoch and vs cost.

    The cost axis is wall time (min), or, given `cost_per_epoch` (name -> cost of one epoch, e.g. tutorial-loop
    epochs from `bench`), epochs times that: the fair axis for runs that shared a machine.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    measured = {name: h.dropna(subset=["fd"]) for name, h in histories.items() if "fd" in h.columns}
    for name, quality in measured.items():
        axes[0].plot(quality["epoch"], quality["fd"], marker="o", ms=3, label=name)
        cost = (quality["epoch"] * cost_per_epoch[name] if cost_per_epoch else quality["wall_s"] / 60)
        axes[1].plot(cost, quality["fd"], marker="o", ms=3, label=name)
    for ax, label in zip(axes, ("epoch", cost_label if cost_per_epoch else "wall time (min)"), strict=True):
        ax.set(xlabel=label, ylabel="Fréchet distance (lower is better)")
        ax.grid(alpha=0.3)
        if measured:
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no run has quality history:\ntrain with eval_every (--eval-every K)",
                    ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig

"""Pictures (gan_mnist.plotting): grids, GIFs, loss and quality curves, architecture diagrams."""

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_mnist import plot_history, preview_gif, render_grid
from gan_mnist.plotting import image_grid, make_gif, save_grid
from tests.conftest import assert_curves_drawn


def test_image_grid_tiles_in_row_order():
    images = np.stack([np.full((28, 28, 1), v, np.float32) for v in (-1.0, 0.0, 1.0, 1.0)])
    grid = image_grid(images, ncols=2, pad=2)
    assert grid.shape == (2 * 30 + 2, 2 * 30 + 2) and grid.dtype == np.uint8
    assert grid[2, 2] == 0 and grid[2, 32] == 128 and grid[32, 2] == 255  # black, grey, white tiles
    assert grid[0, 0] == 0  # padding is background


def test_render_grid_adds_a_title_bar():
    images = np.zeros((4, 28, 28, 1), np.float32)
    plain, titled = render_grid(images, scale=2), render_grid(images, title="epoch 3", scale=2)
    assert plain.size == (2 * 62, 2 * 62)
    assert titled.size == (plain.width, plain.height + 28)
    assert np.asarray(titled)[:28].max() == 255  # the text is drawn in white


def test_gif_frames_are_sorted_and_loop(tmp_path):
    for epoch, value in ((2, 1.0), (10, 0.0), (1, -1.0)):
        save_grid(np.full((1, 28, 28, 1), value, np.float32), tmp_path / f"epoch_{epoch:04d}.png")
    shuffled = [tmp_path / "epoch_0010.png", tmp_path / "epoch_0001.png", tmp_path / "epoch_0002.png"]
    gif = make_gif(shuffled, tmp_path / "t.gif", frame_ms=100)
    frames = iio.imread(gif, index=None)
    centres = [int(np.asarray(f)[f.shape[0] // 2, f.shape[1] // 2].mean()) for f in frames]
    assert centres == [0, 255, 128]  # epochs 1, 2, 10: zero-padded names sort numerically
    meta = iio.immeta(gif, index=0)
    assert meta.get("loop") == 0 and meta.get("duration") == 100
    with pytest.raises(ValueError, match="no frames"):
        make_gif([], tmp_path / "empty.gif")


def test_preview_gif_is_small_and_keeps_first_and_last(tmp_path):
    # a notebook embeds this one: at most max_frames evenly spaced frames, first and last among them, `width` wide
    paths = [save_grid(np.full((1, 28, 28, 1), -1 + e / 12, np.float32), tmp_path / f"epoch_{e:04d}.png")
             for e in range(1, 26)]
    gif = preview_gif(paths, tmp_path / "p.gif", max_frames=10, width=120)
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] == 10 and Image.open(gif).size[0] == 120
    centre = [int(np.mean(f[f.shape[0] // 2, f.shape[1] // 2])) for f in frames]
    first, last = (np.asarray(Image.open(paths[i]).convert("L").resize(Image.open(gif).size)) for i in (0, -1))
    assert abs(centre[0] - int(first[first.shape[0] // 2, first.shape[1] // 2])) <= 2
    assert abs(centre[-1] - int(last[last.shape[0] // 2, last.shape[1] // 2])) <= 2
    assert centre == sorted(centre) and len(set(centre)) == 10  # in epoch order, no frame twice
    assert len(iio.imread(preview_gif(paths[:3], tmp_path / "q.gif"), index=None)) == 3


def test_plot_history_draws_losses_and_accuracy(tmp_path):
    import matplotlib.pyplot as plt

    history = pd.DataFrame({"epoch": [1, 2], "d_loss": [1.3, 1.2], "g_loss": [0.8, 0.9],
                            "d_real_acc": [0.6, 0.7], "d_fake_acc": [0.5, 0.6]})
    fig = plot_history(history, tmp_path / "l.png")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    assert [line.get_ydata().tolist() for line in fig.axes[0].lines] == [[1.3, 1.2], [0.8, 0.9]]
    assert_curves_drawn(tmp_path / "l.png", (1100, 380))  # 11 x 3.8 inches at 100 dpi, both curves on it
    plt.close(fig)
    one = plot_history(history.drop(columns=["d_real_acc", "d_fake_acc"]), tmp_path / "one.png")
    assert_curves_drawn(tmp_path / "one.png", (600, 380))  # the losses alone: 6 x 3.8 inches
    plt.close(one)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (1100, 380), "white").save(blank)
    with pytest.raises(AssertionError, match="no curve drawn"):  # the check tells a blank picture
        assert_curves_drawn(blank, (1100, 380))


def test_architecture_diagram_or_a_readable_hint(tmp_path, monkeypatch, capsys):
    import shutil

    from gan_mnist.networks import build_mlp_discriminator
    from gan_mnist.plotting import plot_architecture

    model = build_mlp_discriminator()
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without Graphviz
    assert plot_architecture(model, tmp_path / "none.png") is None
    assert "pip install pydot" in capsys.readouterr().out and not (tmp_path / "none.png").exists()
    monkeypatch.undo()
    pytest.importorskip("pydot")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    path = plot_architecture(model, tmp_path / "arch.png")
    assert path.stat().st_size > 1000


def test_quality_curves_with_and_without_measurements():
    from gan_mnist.plotting import plot_quality_curves

    measured = pd.DataFrame({"epoch": [1, 2], "wall_s": [60.0, 120.0], "fd": [300.0, 90.0]})
    fig = plot_quality_curves({"a": measured, "b": measured.drop(columns="fd")})
    assert [len(ax.lines) for ax in fig.axes] == [1, 1] and fig.axes[1].lines[0].get_xdata().tolist() == [1.0, 2.0]
    empty = plot_quality_curves({"b": measured.drop(columns="fd")})
    assert "--eval-every" in empty.axes[0].texts[0].get_text()


def test_plot_panel_draws_each_sources_ratio_precision_and_recall_per_member(tmp_path):
    from gan_mnist.evaluation.registry import columns
    from gan_mnist.plotting import plot_panel

    run = {c: 2.0 + i for i, c in enumerate(columns(("fd_ratio",)))} | {c: 0.5 for c in columns(("precision",))}
    run |= {c: 0.25 for c in columns(("recall",))}
    real = {c: 1.0 for c in columns(("fd_ratio",))} | {c: 0.9 for c in columns(("precision", "recall"))}
    fig = plot_panel({"run": run, "real": real}, tmp_path / "panel.png")
    ratio, precision, recall = fig.axes
    heights = lambda ax: [round(bar.get_height(), 3) for bar in ax.patches]  # noqa: E731
    assert heights(ratio) == [2.0, 3.0, 4.0, 1.0, 1.0, 1.0] and ratio.get_yscale() == "log"
    assert heights(precision) == [0.5] * 3 + [0.9] * 3 and heights(recall) == [0.25] * 3 + [0.9] * 3
    assert [t.get_text() for t in ratio.get_xticklabels()] == ["cnn", "wide", "ae"]
    assert Image.open(tmp_path / "panel.png").size[0] > 800

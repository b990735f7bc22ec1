"""The notebook's live view (gan_mnist.run.live): one display updated in place, every epoch and every N steps,
silent where there is no notebook (a terminal, pytest)."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_mnist import GanMnistError, train
from gan_mnist.run import live
from tests.conftest import TINY


class FakeDisplay:
    """Called like IPython's display(obj, display_id=True) -> handle; records what is shown and updated."""

    def __init__(self):
        self.shown, self.updated = [], []

    def __call__(self, obj, display_id=False):
        assert display_id, "the view needs a handle to update in place"
        self.shown.append(obj)
        return self

    def update(self, obj):
        self.updated.append(obj)


def _png(obj) -> Image.Image:
    return Image.open(io.BytesIO(obj.data))


def test_a_run_redraws_one_display_every_epoch_and_every_n_steps(tmp_path, mnist_path, monkeypatch):
    display = FakeDisplay()
    monkeypatch.setattr(live, "notebook_display", lambda: display)
    config = TINY.replace(eval_every=2, eval_samples=100, steps_per_execution=1)  # 2 epochs of 2 steps
    train(config, tmp_path / "run", data_path=mnist_path, verbose=0, live=True, live_every=1)
    # one display; then every step (2 an epoch) and every epoch end redraw it: 2 x 3 pictures in all
    assert len(display.shown) == 1 and len(display.updated) == 2 * 3 - 1
    last = _png(display.updated[-1])
    assert last.size[0] > 600 and np.asarray(last.convert("L")).std() > 10  # a picture, not a blank
    with pytest.raises(GanMnistError, match="live_every must be a positive integer"):
        train(config, tmp_path / "other", data_path=mnist_path, verbose=0, live_every=0)


def test_the_view_is_silent_without_a_notebook_and_under_pytest(monkeypatch):
    assert live.notebook_display() is None  # this process is no notebook kernel
    assert not live.wanted(None) and live.wanted(True) and not live.wanted(False)
    view = live.LiveView(5)  # (train(live=True) in a terminal: no display to draw in)
    view.update(pd.DataFrame(), np.zeros((10, 10), np.uint8), 1)  # nothing happens, nothing fails
    assert view.updates == 0
    monkeypatch.setattr(live, "notebook_display", lambda: FakeDisplay())
    assert not live.wanted(None), "a notebook under pytest (nbval) stays silent unless asked"
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert live.wanted(None)


def test_the_status_line_counts_epochs_elapsed_and_time_left(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: now[0])
    view = live.LiveView(10, display=FakeDisplay())  # started at t = 100
    view._first_epoch = 0
    now[0] = 160.0
    assert view.status(2) == "epoch 2/10 · 1:00 elapsed · about 4:00 left"  # 30 s an epoch, 8 to go
    assert view.status(3, "step 5") == "epoch 3/10 step 5 · 1:00 elapsed · about 4:00 left"
    history = pd.DataFrame({"epoch": [1, 2], "d_loss": [1.0, 0.9], "g_loss": [0.7, 0.8], "fd": [90.0, None]})
    png = Image.open(io.BytesIO(live.LiveView(10, display=FakeDisplay()).render(history, np.zeros((50, 50), np.uint8),
                                                                                  2)))
    assert png.format == "PNG" and png.size == (864, 302)  # 12 x 4.2 inches at 72 dpi


def test_bench_times_the_train_path_without_the_live_view(small_images, monkeypatch):
    # in a notebook the view would be on by default; bench times it on its own row, never inside a recipe's cost
    from gan_mnist.experiments.bench import train_path_seconds

    display = FakeDisplay()
    monkeypatch.setattr(live, "notebook_display", lambda: display)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert live.wanted(None), "the stand-in notebook would show the view by default"
    train_path_seconds(TINY.replace(batch_size=32, steps_per_execution=1), small_images[:96], epochs=3)
    assert display.shown == [] and display.updated == []

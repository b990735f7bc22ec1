"""The FD-vs-cost figures of docs/recipes.md: runs' Fréchet-distance histories against tutorial-loop epochs of training.

    python tools/fd_vs_cost.py OUT.png LABEL=RUN_DIR:TL_PER_EPOCH [...]

TL_PER_EPOCH is what one epoch of that run costs in tutorial-loop epochs (`bench`'s s_per_epoch divided by the
tutorial loop's, from one bench run), so runs that shared the machine are placed fairly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from gan_mnist.plotting import plot_quality_curves
from gan_mnist.run.directory import HISTORY

out, *specs = sys.argv[1:]
histories, cost = {}, {}
for spec in specs:
    label, rest = spec.split("=", 1)
    run, per_epoch = rest.rsplit(":", 1)
    histories[label], cost[label] = pd.read_csv(Path(run) / HISTORY), float(per_epoch)
fig = plot_quality_curves(histories, cost_per_epoch=cost)
fig.axes[1].axvline(8, color="gray", ls=":", label="budget: 8 TL-epochs")
fig.axes[1].legend(fontsize=7)
fig.savefig(out, dpi=100)
print(out)

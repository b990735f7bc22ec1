"""Train the recipe leaderboard of docs/recipes.md (gan_mnist.experiments.leaderboard) into OUT/NAME_sSEED; score it.

    python tools/leaderboard.py OUT [NAME ...] [--seeds 0 1 2]   # train (resumable; finished runs are skipped)
    python -m gan_mnist compare OUT/* --n 10000 --raw --markdown  # the table
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from gan_mnist.experiments.leaderboard import LEADERBOARD, command

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("out")
parser.add_argument("names", nargs="*", choices=[[], *LEADERBOARD], default=[])
parser.add_argument("--seeds", nargs="+", type=int, default=[0])
args = parser.parse_args()
for name in args.names or list(LEADERBOARD):
    for seed in args.seeds:
        line = command(name, f"{args.out}/NAME", seed) + " --resume --quiet"
        print(line, flush=True)
        subprocess.run([sys.executable, "-m", *line.split()[2:]], check=True)

"""Time the default's training step with its lazy penalty every K critic steps, against the tutorial loop.

    python tools/penalty_interval.py [K ...]        (default: 4 8 16 1)

Prints one JSON line per setup: images/s and the ratio to the tutorial loop timed in the same process. Run it alone
on the machine: anything beside it slows it.
"""

import json
import sys

from gan_mnist import TrainConfig
from gan_mnist.experiments.bench import fit_throughput, tutorial_loop_throughput
from gan_mnist.run.data import load_training_data


def main(intervals: list[int]) -> None:
    images, labels = load_training_data(None, 15360)
    tutorial = tutorial_loop_throughput(images, steps=30, warmup=5, repeats=3)
    print(json.dumps({"setup": "tutorial loop", "images_per_s": round(tutorial, 1), "vs_tutorial": 1.0}))
    for every in intervals:  # windows of 48 steps: whole numbers of every interval timed
        rate = fit_throughput(TrainConfig(penalty_every=every), images, labels, steps=48, warmup=16, repeats=3)
        print(json.dumps({"setup": f"penalty_every={every}", "images_per_s": round(rate, 1),
                          "vs_tutorial": round(rate / tutorial, 3)}), flush=True)


if __name__ == "__main__":
    main([int(k) for k in sys.argv[1:]] or [4, 8, 16, 1])

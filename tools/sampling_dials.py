"""Dials at sampling time on a trained self-conditioned run (its newest checkpoint, EMA generator): what they do to the
panel's FD / floor, precision and recall (docs/results.md, "Precision and recall dials").

- `scale S`: the generator's noise times S (the truncation trick's simplest form); clusters drawn by their shares,
  as the shipped sampler draws them.
- `keep F`: rejection by the discriminator (Azadi et al. 2019, per cluster): each cluster gets its share of N,
  chosen as the ones D rates most real among share / F of its own samples. `keep 1` is that stratified draw without
  rejection, the fair baseline of the others.

Each setting is scored on `--draws` draws of N samples (noise seeds 0, 1, ...); prints one JSON line per setting with
each score's mean and, over several draws, its sd.

    python tools/sampling_dials.py RUN_DIR [--n 10000] [--draws 3] [--scale 1 0.9 0.8] [--keep 1 0.8 0.6]
"""

import argparse
import json

import numpy as np

from gan_mnist.evaluation.registry import evaluate_images, pool_draws
from gan_mnist.run.training import load_run

SCORES = ["fd_ratio", "precision", "recall", "min_class_share"]
BATCH = 1000


def generate(gan, clusters: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Images (n, 28, 28, 1) in [-1, 1] of clusters int32 (n,) from noise times `scale`."""
    z = scale * rng.standard_normal((len(clusters), gan.latent_dim)).astype(np.float32)
    return _batched(gan.ema_generator, z, clusters)


def rated(gan, images: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """D's logits (n,) for images (n, 28, 28, 1) of clusters (n,): higher is rated more real."""
    return _batched(gan.discriminator, images, clusters).reshape(-1)


def _batched(model, x: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """model([x, clusters]) in inference mode, BATCH rows at a time. (sample.generate_from takes digits 0-9 only,
    not a self-conditioned run's cluster indices.)"""
    return np.concatenate([np.asarray(model([x[i : i + BATCH], clusters[i : i + BATCH]], training=False))
                           for i in range(0, len(clusters), BATCH)])


def scaled(gan, n: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """n images, clusters drawn by their shares, noise times `scale`."""
    shares = gan.clusters.shares()
    return generate(gan, rng.choice(len(shares), size=n, p=shares).astype(np.int32), scale, rng)


def rejected(gan, n: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """About n images: per cluster its share of n, the highest-rated by D of share / fraction drawn."""
    quotas = np.round(gan.clusters.shares() * n).astype(int)
    pools = np.round(quotas / fraction).astype(int)
    clusters = np.repeat(np.arange(len(quotas), dtype=np.int32), pools)
    images = generate(gan, clusters, 1.0, rng)
    logits = rated(gan, images, clusters)
    starts = np.concatenate([[0], np.cumsum(pools)[:-1]])
    chosen = [start + np.argsort(-logits[start : start + pool])[:quota]
              for start, pool, quota in zip(starts, pools, quotas, strict=True)]
    return images[np.concatenate(chosen)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--scale", type=float, nargs="*", default=[1.0, 0.9, 0.8])
    parser.add_argument("--keep", type=float, nargs="*", default=[1.0, 0.8, 0.6])
    args = parser.parse_args()
    if args.n < 1 or args.draws < 1 or not all(0 < v <= 1 for v in args.scale + args.keep):
        parser.error("--n and --draws must be positive, --scale and --keep in (0, 1]")
    gan = load_run(args.run)
    if gan.clusters is None:
        parser.error(f"{args.run} is not a self-conditioned run")
    settings = [("scale", v, scaled) for v in args.scale] + [("keep", v, rejected) for v in args.keep]
    for dial, value, sampler in settings:
        runs = [evaluate_images(sampler(gan, args.n, value, np.random.default_rng(seed)), with_memorisation=False,
                                metrics=SCORES) for seed in range(args.draws)]
        scores = {k: round(v, 4) if isinstance(v, float) else v for k, v in pool_draws(runs).items()}
        print(json.dumps({dial: value, "draws": args.draws, **scores}), flush=True)


if __name__ == "__main__":
    main()

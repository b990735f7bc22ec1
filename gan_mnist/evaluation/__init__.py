"""Evaluation, apart from training: the panel of yardsticks (`panel`: the shipped evaluator CNN of `evaluator` and
two more feature extractors, trained by `evaluator_training`), the maths (`metrics`: Fréchet and kernel distances,
precision/recall, MNIST score, coverage, memorisation), the real digits they compare against (`reference`), the
metric table and `evaluate_images` (`registry`), and the run-comparison table (`report`)."""

from pathlib import Path

ASSETS = Path(__file__).parent / "assets"  # the panel members' shipped weights and the shipped CNN's card
CNN_WEIGHTS = ASSETS / "evaluator_weights.npz"  # plain arrays in layer order: small, and readable without Keras
MIN_SAMPLES = 10  # the fewest images the metrics are computed from (a covariance needs several; `evaluate --n`)

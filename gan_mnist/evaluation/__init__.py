"""Evaluation, apart from training: the shipped evaluator CNN (`evaluator`, trained by `evaluator_training`), the
metrics computed in its feature space (`metrics`: Fréchet distance, MNIST score, coverage, memorisation) and the
run-comparison table (`report`)."""

MIN_SAMPLES = 10  # the fewest images the metrics are computed from (a covariance needs several; `evaluate --n`)

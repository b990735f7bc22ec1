"""Evaluation, apart from training: the shipped evaluator CNN (`evaluator`, trained by `evaluator_training`), the
metrics computed in its feature space (`metrics`: Fréchet distance, MNIST score, coverage, memorisation) and the
run-comparison table (`report`)."""

"""Retraining the shipped evaluator and writing its card (test accuracy, real-data reference metrics).

Apart from `evaluator` so that the dependency runs one way: metrics use the evaluator; only this tool uses both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from gan_mnist.evaluation.evaluator import CARD, WEIGHTS, classifier_outputs, load_evaluator, train_classifier
from gan_mnist.evaluation.metrics import Reference, evaluate_images
from gan_mnist.run.data import load_mnist, to_model_range


def train_evaluator(data_path: str | os.PathLike | None = None, epochs: int = 10, seed: int = 0,
                    weights: str | os.PathLike = WEIGHTS, card: str | os.PathLike = CARD) -> dict:
    """Train the evaluator on all 60,000 training digits, save its weights and a card with its test accuracy
    and the metrics of real data (training digits 20,000-29,999 scored against the test split)."""
    x, y = load_mnist(data_path, "train")
    xt, yt = load_mnist(data_path, "test")
    model = train_classifier(to_model_range(x), y, epochs=epochs, seed=seed, verbose="auto")
    accuracy = float(np.mean(classifier_outputs(model, to_model_range(xt))[1].argmax(1) == yt))
    Path(weights).parent.mkdir(parents=True, exist_ok=True)
    np.savez(weights, **{f"w{i:02d}": w for i, w in enumerate(model.get_weights())})
    load_evaluator.cache_clear()
    Reference._cache.clear()
    reference = evaluate_images(to_model_range(x[20000:30000]), labels=y[20000:30000],
                                reference=Reference(data_path))
    record = {
        "test_accuracy": accuracy,
        "epochs": epochs,
        "seed": seed,
        "parameters": int(model.count_params()),
        "command": f"python -m gan_mnist train-evaluator --epochs {epochs} --seed {seed}",
        "real_data_reference": {
            "what": "10,000 real training digits (20,000-29,999) scored like generated samples",
            **{k: round(v, 4) if isinstance(v, float) else v for k, v in reference.items()},
        },
    }
    Path(card).write_text(json.dumps(record, indent=2) + "\n")
    return record

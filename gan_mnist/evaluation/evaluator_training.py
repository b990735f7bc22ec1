"""Retraining the panel's members: the shipped evaluator CNN with its card (test accuracy, real-data reference
metrics), and the other members (panel.py), each measured on the test split and at its real floor.

Apart from `evaluator` and `panel` so that the dependency runs one way: the registry uses the members; only this
tool trains them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation.evaluator import CARD, WEIGHTS, classifier_outputs, load_evaluator, train_classifier
from gan_mnist.evaluation.panel import MEMBERS, feature_model, load_member, save_member
from gan_mnist.evaluation.reference import Reference
from gan_mnist.evaluation.registry import evaluate_images
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
    load_member.cache_clear()  # its "cnn" is this evaluator
    Reference._cache.clear()
    reference = evaluate_images(to_model_range(x[20000:30000]), labels=y[20000:30000],
                                reference=Reference(data_path), members=("cnn",))
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


FLOOR_METRICS = ("fd", "kid", "precision", "recall")  # what a member's real floor is reported in


def train_member(name: str, data_path: str | os.PathLike | None = None, epochs: int | None = None, seed: int = 0,
                 weights: str | os.PathLike | None = None) -> dict:
    """Train panel member `name` (not the shipped CNN: `train_evaluator`) on all 60,000 training digits, save its
    feature part to `weights` (default: the shipped file) and return its record: test accuracy (classifiers) or
    reconstruction MSE (the autoencoder), parameters, command, and its real floor at 10,000 digits."""
    if name not in MEMBERS or name == "cnn":
        others = ", ".join(k for k in MEMBERS if k != "cnn")
        raise GanMnistError(f"train_member trains {others}, got {name!r} (the cnn: train_evaluator)")
    member = MEMBERS[name]
    epochs = member.epochs if epochs is None else epochs
    x, y = load_mnist(data_path, "train")
    xt, yt = load_mnist(data_path, "test")
    x, xt = to_model_range(x), to_model_range(xt)
    model = member.train(x, y if member.labels else None, epochs=epochs, seed=seed, verbose="auto")
    out = np.concatenate([np.asarray(model(xt[i : i + 1000], training=False)) for i in range(0, len(xt), 1000)])
    test = {"test_accuracy": float(np.mean(out.argmax(1) == yt))} if member.labels else {
        "test_mse": float(np.mean((out - xt) ** 2))}
    path = Path(weights) if weights is not None else member.weights(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_member(model, path)
    record = {"member": name, **test, "epochs": epochs, "seed": seed,
              "parameters": int(feature_model(model).count_params()),
              "command": f"python -m gan_mnist train-evaluator --member {name} --epochs {epochs} --seed {seed}"}
    if weights is None:  # the floor of the weights the panel now reads
        load_member.cache_clear()
        Reference._cache.clear()
        floor = evaluate_images(x[20000:30000], reference=Reference(data_path), metrics=FLOOR_METRICS,
                                members=(name,))
        record["real_floor"] = {"n": floor.pop("n"), **{k: round(v, 4) for k, v in floor.items()}}
    return record

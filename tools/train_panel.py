"""Train the panel's members (evaluation.panel) on all 60,000 training digits, save their weights, and measure each:
test accuracy (classifiers) or reconstruction MSE (the autoencoder), and its real-data floor: FD, KID, precision
and recall of training digits 20,000-29,999 against the 10,000 test digits in its feature space.

    python tools/train_panel.py cnn ae wide      (cnn: the shipped weights, measured only)
"""
import json
import sys
import time

import numpy as np

from gan_mnist.evaluation.metrics import PR_K, feature_frechet_distance, kernel_distance, knn_radii, precision_recall
from gan_mnist.evaluation.panel import MEMBERS, load_member, member_features, save_member
from gan_mnist.run.data import load_mnist, to_model_range

x, y = load_mnist(None, "train")
xt, yt = load_mnist(None, "test")
x, xt = to_model_range(x), to_model_range(xt)
out = {}
for name in sys.argv[1:]:
    member = MEMBERS[name]
    start = time.perf_counter()
    if name != "cnn":
        model = member.train(x, y, epochs=member.epochs, seed=0, verbose=2)
        save_member(model, member.weights(name))
        load_member.cache_clear()
    model = load_member(name)
    row = {"train_s": round(time.perf_counter() - start, 1), "parameters": int(model.count_params())}
    if member.labels:
        logits = np.concatenate([np.asarray(model(xt[i:i + 1000], training=False)) for i in range(0, 10000, 1000)])
        row["test_accuracy"] = float((logits.argmax(1) == yt).mean())
    else:
        rec = np.concatenate([np.asarray(model(xt[i:i + 1000], training=False)) for i in range(0, 10000, 1000)])
        row["test_mse"] = float(((rec - xt) ** 2).mean())
    real, test = member_features(model, x[20000:30000]), member_features(model, xt)
    row["floor_fd"] = feature_frechet_distance(real, test)
    row["floor_kid"] = kernel_distance(real, test)
    row["floor_precision"], row["floor_recall"] = precision_recall(real, test, PR_K, knn_radii(test, PR_K))
    out[name] = row
    print(name, json.dumps(row), flush=True)
print(json.dumps(out, indent=2))

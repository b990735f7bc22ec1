"""Named settings: one table of TrainConfig fields per name. `train --preset NAME` trains one (flags given beside it
win), `bench --presets` times them, and the recipe leaderboard of docs/recipes.md is a list of them.

`--preset-file FILE.json` (for example the best_preset.json that `tune` writes) is the same thing kept in a file.
Imports nothing: `--help` lists the names without loading TensorFlow.
"""

from __future__ import annotations

# the classic recipe: the 2014 loss, no penalty, no weight average (the fast and tutorial presets pin it)
CLASSIC_RECIPE = {"loss": "ns", "penalty": "none", "penalty_every": 1, "spectral_norm": False, "n_critic": 1,
                  "ema_kimg": 0.0, "beta_2": 0.999}
# the TensorFlow DCGAN tutorial: its architecture, Adam 1e-4 (beta_1 0.9), batch 256, float32, 50 epochs
_TUTORIAL = {"model": "dcgan", "epochs": 50, "batch_size": 256, "g_learning_rate": 1e-4, "d_learning_rate": 1e-4,
             "beta_1": 0.9, "width": 1.0, "mixed_precision": "off", "steps_per_execution": 1, **CLASSIC_RECIPE}
# the MLP GAN, the best of the classic recipes in 8 tutorial-loop epochs (docs/recipes.md): 100 epochs; 10 steps per
# compiled call saves the per-step Python round trip of its tiny steps
_FAST = {"model": "mlp", "epochs": 100, "batch_size": 128, "g_learning_rate": 2e-4, "d_learning_rate": 2e-4,
         "beta_1": 0.5, "width": 1.0, "mixed_precision": "off", "steps_per_execution": 10, **CLASSIC_RECIPE}
# WGAN-GP as Gulrajani et al. train it: 5 critic steps per generator step, Adam 1e-4 (0, 0.9), lambda 10
_WGAN_GP = {"loss": "wgan", "penalty": "gp", "gamma": 10.0, "penalty_every": 1, "n_critic": 5, "batch_size": 160,
            "g_learning_rate": 1e-4, "d_learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}
# the leaderboard's MLP rows: the fast preset for 25 epochs (2 tutorial-loop epochs) with an EMA generator. Each
# EMA row is also its own no-EMA row: the raw generator of an EMA run trains exactly as it would without the
# average (`compare --raw` scores it), so "mlp_hinge_ema (raw)" is the plain hinge-loss MLP GAN
_EMA = {**_FAST, "epochs": 25, "ema_kimg": 10.0}

PRESETS = {
    # what `train` runs bare and with --model, named for `bench --presets`
    "default": {},
    "default-cgan": {"model": "cgan"},
    "default-mlp": {"model": "mlp"},
    "tutorial": _TUTORIAL,
    "fast": _FAST,
    "wgan-gp": _WGAN_GP,
    # the leaderboard (docs/recipes.md): each at a budget of 2 tutorial-loop epochs
    "mlp_ns_ema": _EMA,
    "mlp_hinge_ema": {**_EMA, "loss": "hinge"},
    "mlp_lsgan_ema": {**_EMA, "loss": "lsgan"},
    "mlp_rpgan_ema": {**_EMA, "loss": "rpgan"},
    "mlp_r1_ema": {**_EMA, "epochs": 21, "penalty": "r1", "penalty_every": 4},  # lazy R1, gamma 0.05
    "mlp_hinge_sn_ema": {**_EMA, "epochs": 23, "loss": "hinge", "spectral_norm": True},  # SNGAN's loss and regulariser
    "mlp_wgan_gp_ema": {**_WGAN_GP, "model": "mlp", "epochs": 16},  # 5 critic steps, GP every step
    # `--model resize`'s recipe as it was measured (D at width 0.5 like G: d_scale 1), cut to the budget
    "resize_r1_ema": {"model": "resize", "d_scale": 1.0, "epochs": 9},
    "tutorial_2tl": {**_TUTORIAL, "epochs": 2},
}
DEFAULT_RUNS = ("default", "default-cgan", "default-mlp")
LEADERBOARD = ("mlp_ns_ema", "mlp_hinge_ema", "mlp_lsgan_ema", "mlp_rpgan_ema", "mlp_r1_ema", "mlp_hinge_sn_ema",
               "mlp_wgan_gp_ema", "resize_r1_ema", "tutorial_2tl")
BENCHED = (*DEFAULT_RUNS, "fast", "tutorial", "wgan-gp")  # what `bench --presets` times when given no names

"""The recipe leaderboard of docs/recipes.md (and notebook 05's): named recipes at one budget, as TrainConfig fields.

Budget: 2 tutorial-loop epochs per run (`bench` measures how many epochs of each recipe's train() path fit in the
time the TensorFlow tutorial's loop runs one: docs/results.md), so the MLP rows train 25 epochs and the tutorial 2.
The full-budget runs (8 tutorial-loop epochs) are that page's other table.
`python tools/leaderboard.py OUT` trains them; `command(name)` is the same run written as a CLI call.
"""

from __future__ import annotations

from gan_mnist.config import TrainConfig, flag

_MLP = {"preset": "fast", "epochs": 25}
_EMA = {**_MLP, "ema_kimg": 10.0}

# each EMA row is also its own no-EMA row: the raw generator of an EMA run trains exactly as it would without the
# average (`compare --raw` scores it), so "mlp_hinge_ema (raw)" is the plain hinge-loss MLP GAN
LEADERBOARD = {
    "mlp_ns_ema": _EMA,
    "mlp_hinge_ema": {**_EMA, "loss": "hinge"},
    "mlp_lsgan_ema": {**_EMA, "loss": "lsgan"},
    "mlp_rpgan_ema": {**_EMA, "loss": "rpgan"},
    "mlp_r1_ema": {**_EMA, "epochs": 21, "penalty": "r1", "penalty_every": 4},  # lazy R1, gamma 0.05
    "mlp_hinge_sn_ema": {**_EMA, "epochs": 23, "loss": "hinge", "spectral_norm": True},  # SNGAN's loss and regulariser
    "mlp_wgan_gp_ema": {"preset": "wgan-gp", "model": "mlp", "epochs": 16},  # 5 critic steps, GP every step
    # `--model resize`'s recipe as it was measured (D at width 0.5 like G: d_scale 1), cut to the budget
    "resize_r1_ema": {"model": "resize", "d_scale": 1.0, "epochs": 9},
    "tutorial": {"preset": "tutorial", "epochs": 2},
}
EVAL_EVERY = 5  # every leaderboard run records its FD curve

def leaderboard_config(name: str, seed: int = 0, **changes) -> TrainConfig:
    """The TrainConfig of leaderboard row `name` with `seed` (and `changes`, e.g. a smaller `limit`)."""
    fields = {**LEADERBOARD[name], "seed": seed, "eval_every": EVAL_EVERY, **changes}
    preset = fields.pop("preset", None)
    return TrainConfig.preset(preset, **fields) if preset else TrainConfig(**fields)


def _flags(fields: dict) -> list[str]:
    """One `train` flag per TrainConfig field (names and spellings come from TrainConfig), a preset first."""
    fields = dict(fields)
    parts = [f"--preset {fields.pop('preset')}"] if "preset" in fields else []
    for field, value in fields.items():
        option = flag(field)
        parts.append(option if value is True else f"--no-{option[2:]}" if value is False
                     else f"{option} {value:g}" if isinstance(value, float) else f"{option} {value}")
    return parts


def command(name: str, out: str = "runs/NAME", seed: int = 0) -> str:
    """Row `name` as a `python -m gan_mnist train` command line."""
    fields = {**LEADERBOARD[name], "seed": seed, "eval_every": EVAL_EVERY}
    return " ".join(["python -m gan_mnist train", *_flags(fields), f"--out {out.replace('NAME', f'{name}_s{seed}')}"])


def config_command(config: TrainConfig, out: str = "runs/NAME") -> str:
    """The shortest `python -m gan_mnist train` command that trains `config`: its model, then every field whose
    value differs from that model's defaults (`TrainConfig(model=...)`)."""
    default = TrainConfig(model=config.model)
    changed = {k: v for k, v in config.to_dict().items() if k != "model" and v != getattr(default, k)}
    if "gamma" in changed and changed["gamma"] == TrainConfig(model=config.model, penalty=config.penalty).gamma:
        del changed["gamma"]  # the weight a new penalty brings anyway
    model = [] if config.model == TrainConfig().model else [f"--model {config.model}"]
    return " ".join(["python -m gan_mnist train", *model, *_flags(changed), f"--out {out}"])

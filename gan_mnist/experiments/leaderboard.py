"""The recipe leaderboard of docs/recipes.md (and notebook 05's): named recipes at one budget, as TrainConfig fields.

Budget: 2 tutorial-loop epochs per run (`bench` measures how many epochs of each recipe's train() path fit in the
time the TensorFlow tutorial's loop runs one: docs/results.md), so the MLP rows train 25 epochs and the tutorial 2.
The full-budget runs (8 tutorial-loop epochs) are that page's other table.
`python tools/leaderboard.py OUT` trains them; `command(name)` is the same run written as a CLI call.
"""

from __future__ import annotations

from gan_mnist.config import TrainConfig, flag
from gan_mnist.presets import LEADERBOARD  # noqa: F401 (the rows, named presets: this module's table)
from gan_mnist.recipes import default_every, default_gamma

EVAL_EVERY = 5  # every leaderboard run records its FD curve

def leaderboard_config(name: str, seed: int = 0, **changes) -> TrainConfig:
    """The TrainConfig of leaderboard row `name` (a preset) with `seed` (and `changes`, e.g. a smaller `limit`)."""
    return TrainConfig.preset(name, **{"seed": seed, "eval_every": EVAL_EVERY, **changes})


def _flags(fields: dict) -> list[str]:
    """One `train` flag per TrainConfig field (names and spellings come from TrainConfig)."""
    parts = []
    for field, value in fields.items():
        option = flag(field)
        parts.append(option if value is True else f"--no-{option[2:]}" if value is False
                     else f"{option} {value:g}" if isinstance(value, float) else f"{option} {value}")
    return parts


def command(name: str, out: str = "runs/NAME", seed: int = 0) -> str:
    """Row `name` as a `python -m gan_mnist train` command line."""
    flags = _flags({"seed": seed, "eval_every": EVAL_EVERY})
    return " ".join(["python -m gan_mnist train", f"--preset {name}", *flags,
                     f"--out {out.replace('NAME', f'{name}_s{seed}')}"])


def config_command(config: TrainConfig, out: str = "runs/NAME") -> str:
    """The shortest `python -m gan_mnist train` command that trains `config`: its model, then every field whose
    value differs from that model's defaults (`TrainConfig(model=...)`)."""
    default = TrainConfig(model=config.model)
    changed = {k: v for k, v in config.to_dict().items() if k != "model" and v != getattr(default, k)}
    for name, brought in (("gamma", default_gamma(config.penalty)),
                          ("penalty_every", default_every(config.penalty, config.model))):
        if name in changed and changed[name] == brought:
            del changed[name]  # the weight and interval a new penalty brings anyway
    model = [] if config.model == TrainConfig().model else [f"--model {config.model}"]
    return " ".join(["python -m gan_mnist train", *model, *_flags(changed), f"--out {out}"])

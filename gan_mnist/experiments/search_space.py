"""`tune`'s search space, read off the recipe tables: a new architecture, loss or penalty is searched as it lands.

What the tables give (recipes.py):
- the architectures whose `search` is not None, with their own choices (`clusters` for the self-conditioned pairs,
  `d_scale` for the unconditional convolutional ones);
- every loss; a loss that needs a Lipschitz critic (`Loss.lipschitz`) always gets a Lipschitz penalty;
- no penalty, each penalty alone and the lazy ones together (R1 + R2), each with its weight's range
  (`Penalty.gamma_range`) and, where lazy, how often it runs.

What every recipe shares (Adam for each network, EMA, width, D's dropout, mode seeking, batch, spectral norm) is
`SHARED` below.
`BASELINE` is bare `train`'s recipe as the same parameters, queued as a study's first trial.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import optuna

from gan_mnist.config import TrainConfig
from gan_mnist.recipes import ARCHITECTURES, LAZY_INTERVAL, LOSSES, NO_PENALTY, PENALTIES, all_lazy, penalty_names


class LogUniform(NamedTuple):
    """A parameter drawn log-uniformly from [low, high] (anything else is a list of choices)."""

    low: float
    high: float


# choices every recipe shares
SHARED = {
    "spectral_norm": [False, True],
    "ema_kimg": [0.0, 2.0, 5.0, 10.0, 20.0],
    "g_learning_rate": LogUniform(5e-5, 2e-3),
    "d_learning_rate": LogUniform(5e-5, 2e-3),
    "beta_1": [0.0, 0.5, 0.9],
    "beta_2": [0.9, 0.99, 0.999],
    "width": [0.5, 0.75, 1.0, 1.5],
    "d_dropout": [0.0, 0.3],
    "mode_seeking": [0.0, 0.02, 0.05, 0.1],
    "batch_size": [64, 128, 256, 512],
}
# --penalty-every choices of a lazy penalty: every step, the lazy default, and each architecture's own interval
LAZY_EVERY = sorted({1, LAZY_INTERVAL, *(a.penalty_every for a in ARCHITECTURES.values() if a.penalty_every)})


def models() -> list[str]:
    """The architectures the search draws from (those whose table entry has a `search`)."""
    return [name for name, arch in ARCHITECTURES.items() if arch.search is not None]


def penalty_choices(lipschitz: bool = False) -> list[str]:
    """Penalty specs: none, each lazy penalty, every combination of lazy ones (R1 + R2), the rest; `lipschitz`: only
    the Lipschitz ones."""
    if lipschitz:
        return [name for name, p in PENALTIES.items() if p.lipschitz]
    lazy = [name for name, p in PENALTIES.items() if p.lazy]
    together = [",".join(c) for size in range(2, len(lazy) + 1) for c in itertools.combinations(lazy, size)]
    return [NO_PENALTY, *lazy, *together, *(name for name, p in PENALTIES.items() if not p.lazy)]


def gamma_parameter(spec: str) -> str:
    """The parameter that holds the weight of penalty `spec` ("r1,r2" -> "gamma_r1_r2")."""
    return "gamma_" + "_".join(penalty_names(spec))


def _gamma_range(spec: str) -> tuple[float, float]:
    ranges = [PENALTIES[name].gamma_range for name in penalty_names(spec)]
    return min(low for low, _ in ranges), max(high for _, high in ranges)


def _suggest(trial: optuna.Trial, name: str, choices):
    if isinstance(choices, LogUniform):
        return trial.suggest_float(name, choices.low, choices.high, log=True)
    return trial.suggest_categorical(name, list(choices))


def _penalty_parameter(loss: str) -> tuple[str, list[str]] | None:
    """The parameter that chooses the penalty for `loss`, and its choices; None when there is nothing to choose (a
    loss that needs a Lipschitz critic, with one penalty that gives it)."""
    lipschitz = penalty_choices(lipschitz=True) if LOSSES[loss].lipschitz else None
    if lipschitz is not None and len(lipschitz) == 1:
        return None
    return ("lipschitz_penalty", lipschitz) if lipschitz else ("penalty", penalty_choices())


def _recipe_parameters(model: str, penalty: str) -> dict[str, tuple[str, list | LogUniform]]:
    """What a trial draws once its architecture and penalty are known, in the order it draws them: parameter ->
    (the TrainConfig field it sets, its choices)."""
    found = {name: (name, choices) for name, choices in ARCHITECTURES[model].search.items()}
    if penalty != NO_PENALTY:
        found[gamma_parameter(penalty)] = ("gamma", LogUniform(*_gamma_range(penalty)))
        if all_lazy(penalty):
            found["penalty_every"] = ("penalty_every", LAZY_EVERY)
    return found | {name: (name, choices) for name, choices in SHARED.items()}


def suggest_config(trial: optuna.Trial, base: TrainConfig) -> TrainConfig:
    """One trial's recipe: architecture and its own choices, loss, penalty with its weight (and interval), and the
    SHARED choices. `base` gives everything not searched (seed, limit, budget); architecture-specific speed
    settings (precision, steps per call) stay the architecture's, a penalty not searched lazily runs every step."""
    model = trial.suggest_categorical("model", models())
    loss = trial.suggest_categorical("loss", list(LOSSES))
    chooser = _penalty_parameter(loss)
    penalty = _suggest(trial, *chooser) if chooser else penalty_choices(lipschitz=True)[0]
    fields = {field: _suggest(trial, name, choices)
              for name, (field, choices) in _recipe_parameters(model, penalty).items()}
    return base.replace(model=model, loss=loss, penalty=penalty, **{"penalty_every": 1, **fields})


def parameters(config: TrainConfig) -> dict:
    """The trial parameters for which suggest_config gives `config`'s recipe (its values must be among the
    choices)."""
    params = {"model": config.model, "loss": config.loss}
    chooser = _penalty_parameter(config.loss)
    if chooser:
        params[chooser[0]] = config.penalty
    return params | {name: getattr(config, field)
                     for name, (field, _) in _recipe_parameters(config.model, config.penalty).items()}


def space() -> dict[str, list]:
    """Every parameter's choices (or [low, high]), as a study records them: a study searched over another space
    (the tables changed since) cannot go on, as Optuna cannot change a parameter's choices."""
    found = {"model": models(), "loss": list(LOSSES), "penalty": penalty_choices(), "penalty_every": LAZY_EVERY,
             "lipschitz_penalty": penalty_choices(lipschitz=True)}
    for spec in {*penalty_choices(), *penalty_choices(lipschitz=True)} - {NO_PENALTY}:
        found[gamma_parameter(spec)] = list(_gamma_range(spec))
    for name in models():
        for field, choices in ARCHITECTURES[name].search.items():
            if found.setdefault(field, list(choices)) != list(choices):
                raise ValueError(f"the architectures searched choose {field} from different values: "
                                 f"{found[field]} and {list(choices)} ({name}); one parameter has one set of choices")
    return dict(sorted((found | {name: list(choices) for name, choices in SHARED.items()}).items()))


def largest_clusters() -> int:
    """The most clusters a searched recipe asks for (a search needs at least that many images)."""
    return max((max(arch.search.get("clusters", [0])) for arch in ARCHITECTURES.values() if arch.search is not None),
               default=0)


BASELINE = parameters(TrainConfig())

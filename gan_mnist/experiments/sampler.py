"""`tune`'s sampler: Optuna's TPE, its random draws seeded per trial from the search's seed and the trial's number.

A TPESampler seeded once gives each *process* one stream of draws: two workers started with the same seed would
draw the same first recipes, and an unseeded one makes no search repeatable. Here every trial gets a fresh
TPESampler seeded from (seed, trial number). TPE keeps no state between trials but its random generator (it reads
the study's finished trials each time), so nothing else changes: a one-worker search repeats exactly, and workers
sharing a study draw differently because their trials have different numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

# TPE's random phase: the first trials are drawn uniformly, then the model of the good ones takes over
STARTUP_TRIALS = 5


def trial_seed(seed: int, number: int) -> int:
    """The sampler's seed for trial `number` of a search seeded `seed`: an int in [0, 2**32)."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def _tpe(seed: int, number: int) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(n_startup_trials=STARTUP_TRIALS, seed=trial_seed(seed, number))


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """TPE (`STARTUP_TRIALS` random trials first) whose draws for trial N come from trial_seed(seed, N)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._tpe = _tpe(seed, 0)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._tpe = _tpe(self.seed, trial.number)
        self._tpe.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._tpe.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._tpe.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._tpe.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._tpe.after_trial(study, trial, state, values)

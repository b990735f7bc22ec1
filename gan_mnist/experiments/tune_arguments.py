"""The numbers `tune` takes and their bounds: tune() checks its arguments against them and `python -m gan_mnist tune`
parses its flags with them. Imports no Optuna or TensorFlow, so that --help stays instant."""

from gan_mnist.evaluation import MIN_SAMPLES
from gan_mnist.limits import MAX_SAMPLES, Bounds

SAMPLES = Bounds(MIN_SAMPLES, MAX_SAMPLES)
# argument -> (integer?, bounds); `limit` and `timeout_minutes` may also be None (all images, no timeout)
TUNE_BOUNDS = {
    "n_trials": (True, Bounds(1, 100_000)),
    "budget_minutes": (False, Bounds(0, 1e6, lo_open=True)),
    "timeout_minutes": (False, Bounds(0, 1e7, lo_open=True)),
    "stale_after": (False, Bounds(0, 1e6, lo_open=True)),
    "limit": (True, Bounds(1, 100_000_000, zero="all")),
    "eval_samples": (True, SAMPLES),
    "final_samples": (True, SAMPLES),
    "confirm_samples": (True, SAMPLES),
    "confirm_top": (True, Bounds(0, 1_000)),
    "seeds": (True, Bounds(1, 100)),
}
OPTIONAL = ("limit", "timeout_minutes")


def check_tune_arguments(**arguments) -> None:
    """Each of `arguments` (names of TUNE_BOUNDS) within its bounds, else a GanMnistError naming it."""
    for name, value in arguments.items():
        if not (value is None and name in OPTIONAL):
            integer, bounds = TUNE_BOUNDS[name]
            bounds.check(name, value, integer)

"""User-facing errors: the CLI prints these as one line and exits with code 2."""


class GanMnistError(ValueError):
    """Bad input from the user (data, arguments, run directory); no traceback needed."""


class NonFinite(RuntimeError):
    """Numbers turned NaN or infinite (training, or a generator's samples); the CLI prints one line, exit code 3."""


class TrainingDiverged(NonFinite):
    """A loss became NaN or infinite; the CLI prints it as one line and exits with code 3."""


class GeneratorNotFinite(NonFinite):
    """A generator draws NaN or infinite pixels: its weights are broken (a run saved after diverging?)."""

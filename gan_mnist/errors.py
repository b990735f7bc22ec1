"""User-facing errors: the CLI prints these as one line and exits with code 2."""


class GanMnistError(ValueError):
    """Bad input from the user (data, arguments, run directory); no traceback needed."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the CLI prints it as one line and exits with code 3."""

"""One frozen dataclass holds every hyperparameter of a run; it is saved as JSON next to the run."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from pathlib import Path

from gan_mnist.errors import GanMnistError
from gan_mnist.recipes import ARCHITECTURES, LOSSES, PENALTIES, default_gamma, penalty_names
from gan_mnist.run_directory import atomic_write_bytes

MODELS = tuple(ARCHITECTURES)
DATASETS = ("mnist", "fashion_mnist")
# models whose networks see the digit's label (the self-conditioned ones see clusters instead)
CONDITIONAL_MODELS = tuple(name for name, arch in ARCHITECTURES.items()
                           if arch.conditional and not arch.defaults.get("clusters"))
# fields that, left as None, take the chosen architecture's value (recipes.ARCHITECTURES)
_PER_MODEL = {"g_learning_rate": "learning_rate", "d_learning_rate": "learning_rate", "beta_1": "beta_1",
              "beta_2": "beta_2", "epochs": "epochs"}
AUTO = "auto"  # penalty="auto": the architecture's default penalty (recipes.ARCHITECTURES[...].defaults), else none
# fields that, left as None, take the architecture's `defaults` entry, else this value
_FALLBACK = {"steps_per_execution": 1, "mixed_precision": False, "width": 1.0, "d_scale": 1.0, "d_dropout": 0.0,
             "clusters": 0}


def model_default(model: str, field: str):
    """The value `field` takes for architecture `model` when the config leaves it unset (None)."""
    arch = ARCHITECTURES[model]
    return getattr(arch, _PER_MODEL[field]) if field in _PER_MODEL else arch.defaults.get(field, _FALLBACK[field])


# the classic recipe: the 2014 loss, no penalty, no weight average (presets and notebooks 01-04 pin it)
CLASSIC_RECIPE = {"loss": "ns", "penalty": None, "penalty_every": 1, "spectral_norm": False, "n_critic": 1,
                  "ema_kimg": 0.0, "beta_2": 0.999}

# named settings, TrainConfig fields (`--preset NAME`; flags given beside it win). Measured in the README.
PRESETS = {
    # the TensorFlow DCGAN tutorial: its architecture, Adam 1e-4 (beta_1 0.9), batch 256, float32, 50 epochs
    "tutorial": {"model": "dcgan", "epochs": 50, "batch_size": 256, "g_learning_rate": 1e-4, "d_learning_rate": 1e-4,
                 "beta_1": 0.9, "width": 1.0, "mixed_precision": False, "steps_per_execution": 1, **CLASSIC_RECIPE},
    # the MLP GAN, the best of the classic recipes in 8 tutorial-loop epochs (README, "Recipes"): 100 epochs;
    # 10 steps per compiled call saves the per-step Python round trip of its tiny steps
    "fast": {"model": "mlp", "epochs": 100, "batch_size": 128, "g_learning_rate": 2e-4, "d_learning_rate": 2e-4,
             "beta_1": 0.5, "width": 1.0, "mixed_precision": False, "steps_per_execution": 10, **CLASSIC_RECIPE},
    # WGAN-GP as Gulrajani et al. train it: 5 critic steps per generator step, Adam 1e-4 (0, 0.9), lambda 10
    "wgan-gp": {"loss": "wgan", "penalty": "gp", "gamma": 10.0, "penalty_every": 1, "n_critic": 5, "batch_size": 160,
                "g_learning_rate": 1e-4, "d_learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9},
}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run. The defaults are the recipe README "Recipes" chose for 8 tutorial-loop
    epochs: the MLP GAN with an EMA generator; `model="cgan"` brings its own (bfloat16, lazy R1, 24 epochs
    for a 12 tutorial-loop-epoch budget); `TrainConfig.preset("tutorial")` is the TensorFlow tutorial.

    Fields left as None take the architecture's value (recipes.ARCHITECTURES: learning rates, betas, epochs,
    steps per execution, mixed precision); gamma left as None takes the penalty's (recipes.PENALTIES).
    """

    model: str = "mlp"
    dataset: str = "mnist"
    epochs: int | None = None  # None: the architecture's budget (recipes.ARCHITECTURES)
    budget_minutes: float | None = None  # also stop at the first epoch end once training time reaches this
    batch_size: int = 128
    latent_dim: int = 100
    width: float | None = None  # multiplies every layer size of both networks (1.0 = the published architecture)
    d_scale: float | None = None  # multiplies the discriminator's layer sizes once more (its size against G's)
    d_dropout: float | None = None  # dropout rate in the discriminator (0: none, as gradient penalties prefer)
    g_learning_rate: float | None = None
    d_learning_rate: float | None = None
    beta_1: float | None = None
    beta_2: float | None = None
    loss: str = "ns"  # recipes.LOSSES
    penalty: str | None = "auto"  # recipes.PENALTIES (r1, r2, gp), several summed ("r1,r2"), None for none;
    # "auto": the architecture's
    gamma: float | None = None  # the penalty's weight (shared by several); None: the penalty's default
    penalty_every: int = 4  # lazy: the penalty every k critic steps, weighted k times (no penalty: ignored)
    spectral_norm: bool = False  # spectrally normalise the discriminator's weight layers
    n_critic: int = 1  # discriminator steps per generator step (each on its own slice of the batch)
    clusters: int | None = None  # self-conditioning: a conditional model trains on this many clusters of its
    # discriminator's features instead of labels, and draws unconditionally (Liu et al. 2020; see clustering);
    # 0 = off; None: the architecture's (self_cgan 30, others 0)
    recluster_every: int = 2  # epochs between those clusterings (the first is before epoch 1)
    ema_kimg: float = 10.0  # half-life of the generator's weight average, in thousands of images; 0 = no EMA
    ema_rampup: float | None = 0.05  # early on the half-life is at most this share of the images seen so far
    seed: int = 0
    limit: int | None = None  # use only the first `limit` training images
    grid_size: int = 6  # per-epoch frames show grid_size x grid_size samples
    checkpoint_every: int = 1  # epochs between checkpoints
    gif_frame_ms: int = 200
    save_every: int | None = None  # also keep generators/epoch_NNNN.keras every k epochs
    eval_every: int | None = None  # add quality metrics (fd, mnist_score, ...) to the history every k epochs
    eval_samples: int = 2000  # samples drawn for each of those evaluations
    mixed_precision: bool | None = None  # bfloat16 compute, float32 weights (Keras "mixed_bfloat16")
    steps_per_execution: int | None = None  # training steps per compiled call (fewer Python round trips)
    deterministic: bool = True  # TF op determinism: the same seed gives the same run (no measurable cost on CPU)

    def __post_init__(self) -> None:
        for name, value in check_types(self.__dict__).items():  # first: the checks below assume the types
            object.__setattr__(self, name, value)
        for field, table, what in (("model", ARCHITECTURES, "model"), ("loss", LOSSES, "loss")):
            if getattr(self, field) not in table:
                raise GanMnistError(f"unknown {what} {getattr(self, field)!r}; choose one of {', '.join(table)}")
        if self.penalty == AUTO:  # frozen: resolved once, here
            object.__setattr__(self, "penalty", ARCHITECTURES[self.model].defaults.get("penalty"))
        if self.penalty is None:
            object.__setattr__(self, "penalty_every", 1)  # it means nothing without a penalty: one value, one config
        if self.penalty is not None:
            names = penalty_names(self.penalty)
            if not names or any(name not in PENALTIES for name in names):
                raise GanMnistError(f"unknown penalty {self.penalty!r}; choose one of {', '.join(PENALTIES)}, several "
                                    "joined by commas (r1,r2), or None")
            if len(set(names)) < len(names):
                raise GanMnistError(f"penalty {self.penalty!r} names a penalty twice")
            object.__setattr__(self, "penalty", ",".join(names))  # one spelling, one config
        for name in (*_PER_MODEL, *_FALLBACK):
            if getattr(self, name) is None:
                object.__setattr__(self, name, model_default(self.model, name))  # frozen: filled once, here
        if self.gamma is None and self.penalty is not None:
            shared = default_gamma(self.penalty)
            if shared is None:
                weights = ", ".join(f"{n} {PENALTIES[n].gamma:g}" for n in penalty_names(self.penalty))
                raise GanMnistError(f"the penalties {self.penalty} have different default weights ({weights}): "
                                    "give the weight they share, gamma= (--gamma)")
            object.__setattr__(self, "gamma", shared)
        if self.dataset not in DATASETS:
            raise GanMnistError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        for name in ("epochs", "batch_size", "latent_dim", "grid_size", "checkpoint_every", "gif_frame_ms",
                     "eval_samples", "steps_per_execution", "penalty_every", "n_critic", "recluster_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise GanMnistError(f"{name} must be a positive integer, got {value!r}")
        for name in ("limit", "save_every", "eval_every"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise GanMnistError(f"{name} must be a positive integer or None, got {value!r}")
        if self.budget_minutes is not None and not self.budget_minutes > 0:
            raise GanMnistError(f"budget_minutes must be > 0 or None, got {self.budget_minutes!r}")
        for name in ("g_learning_rate", "d_learning_rate", "width", "d_scale"):
            if not getattr(self, name) > 0:
                raise GanMnistError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.eval_every and self.dataset != "mnist":
            raise GanMnistError("eval_every needs dataset 'mnist': the evaluator is an MNIST digit classifier")
        for name in ("beta_1", "beta_2", "d_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise GanMnistError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not self.clusters and model_default(self.model, "clusters"):
            raise GanMnistError(f"model {self.model!r} is self-conditioned: clusters must be 2 or more (for labels, "
                                f"use a conditional model: {', '.join(CONDITIONAL_MODELS)})")
        if self.clusters:
            if not ARCHITECTURES[self.model].conditional:
                raise GanMnistError(f"clusters (self-conditioning) needs a conditional model "
                                    f"({', '.join(CONDITIONAL_MODELS)}), not {self.model!r}")
            most = min(self.limit or 1000, 1000)  # no more clusters than images
            if not 2 <= self.clusters <= most:
                raise GanMnistError(f"clusters must be 0 (off) or 2-{most}, got {self.clusters}")
        self._check_recipe()

    def _check_recipe(self) -> None:
        """Refuse loss / penalty / EMA settings that cannot work together, with one message naming the fix."""
        if LOSSES[self.loss].lipschitz and "gp" not in penalty_names(self.penalty) and not self.spectral_norm:
            raise GanMnistError(f"loss {self.loss!r} needs a Lipschitz critic: add penalty 'gp' (--penalty gp, "
                                "WGAN-GP) or spectral_norm=True (--spectral-norm)")
        if self.penalty is None and self.gamma is not None:  # (penalty_every, without a penalty, does nothing)
            raise GanMnistError(f"gamma weighs the gradient penalty: choose one with penalty= ({', '.join(PENALTIES)})")
        if self.gamma is not None and not self.gamma > 0:
            raise GanMnistError(f"gamma must be > 0, got {self.gamma!r}")
        if self.batch_size % self.n_critic:
            raise GanMnistError(f"batch_size={self.batch_size} must split into n_critic={self.n_critic} equal "
                                "critic batches")
        if not self.ema_kimg >= 0:
            raise GanMnistError(f"ema_kimg must be >= 0 (0 = no EMA), got {self.ema_kimg!r}")
        if self.ema_rampup is not None and not self.ema_rampup > 0:
            raise GanMnistError(f"ema_rampup must be > 0 or None, got {self.ema_rampup!r}")

    @property
    def recipe(self) -> str:
        """A short name of the recipe: architecture, loss, penalty, spectral norm, EMA, e.g. 'dcgan ns r1 ema'."""
        parts = [self.model, self.loss]
        if self.penalty:
            lazy = f"/{self.penalty_every}" if self.penalty_every > 1 else ""
            parts.append(f"{'+'.join(penalty_names(self.penalty))}({self.gamma:g}{lazy})")
        parts += ["sn"] * self.spectral_norm + [f"ncritic{self.n_critic}"] * (self.n_critic > 1)
        parts += [f"self{self.clusters}"] * (self.clusters > 0)
        parts += [f"ema{self.ema_kimg:g}k"] * (self.ema_kimg > 0)
        return " ".join(parts)

    @classmethod
    def preset(cls, name: str, **changes) -> TrainConfig:
        """The config of a named preset (see PRESETS), with `changes` applied on top."""
        if name not in PRESETS:
            raise GanMnistError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **changes})

    @property
    def conditional(self) -> bool:
        """True for runs whose networks see the class label (self-conditioned ones see clusters, not labels)."""
        return self.model in CONDITIONAL_MODELS and not self.clusters

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed, validated again.

        Changing `model` also changes the optimizer settings that were the old model's defaults to the new model's
        (unless given in the same call): `TrainConfig().replace(model="mlp")` trains the MLP with its own Adam
        settings, not the DCGAN tutorial's. Values that differ from the old model's defaults are kept.
        """
        new_model = changes.get("model", self.model)
        if new_model != self.model:
            for name in (*_PER_MODEL, *_FALLBACK):
                if name not in changes and getattr(self, name) == model_default(self.model, name):
                    changes[name] = None  # __post_init__ fills in the new model's default
        if (new_model != self.model and "penalty" not in changes
                and self.penalty == ARCHITECTURES[self.model].defaults.get("penalty")):
            changes["penalty"] = AUTO  # the new model's default penalty
        if self.penalty is None and "penalty_every" not in changes:  # stored as 1 without a penalty
            changes["penalty_every"] = TrainConfig.__dataclass_fields__["penalty_every"].default
        new_penalty = changes.get("penalty", self.penalty)
        if new_penalty != self.penalty and "gamma" not in changes and (
                self.penalty is None or self.gamma == default_gamma(self.penalty)):
            changes["gamma"] = None  # the new penalty's default weight
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        """Write the config as pretty JSON (atomically: a crash never leaves half a config)."""
        atomic_write_bytes(path, (json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n").encode())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a config written by `save`; unknown keys are an error, missing keys take defaults."""
        data = read_fields(path)
        if "loss" not in data:  # written before recipes existed: a classic run, whatever today's defaults are
            data = {**CLASSIC_RECIPE, **data}
        try:
            return cls(**data)
        except GanMnistError as e:
            raise GanMnistError(f"{path}: {e}") from None


def read_fields(path: str | Path) -> dict:
    """TrainConfig fields from a JSON object (a saved config, or a preset file: any subset of the fields)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise GanMnistError(f"{path}: not a readable JSON file ({e})") from e
    if not isinstance(data, dict):
        raise GanMnistError(f"{path}: needs a JSON object of config fields, got {type(data).__name__}")
    unknown = set(data) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise GanMnistError(f"{path}: unknown config keys {sorted(unknown)}")
    try:
        return check_types(data)
    except GanMnistError as e:
        raise GanMnistError(f"{path}: {e}") from None


# field -> the types its annotation allows, e.g. {int, NoneType} for `int | None`
_FIELD_TYPES = {name: set(typing.get_args(hint) or (hint,))
                for name, hint in typing.get_type_hints(TrainConfig).items()}
_KINDS = {bool: "a boolean (true or false)", int: "an integer", float: "a number", str: "a string"}


def check_types(fields: dict) -> dict:
    """`fields` (TrainConfig field -> value) checked against the field types: booleans only for bool fields, whole
    numbers for int fields, finite numbers for float fields (an int becomes a float), strings for str fields, None
    where the field allows it. Returns the fields with those conversions; a wrong value is a GanMnistError."""
    checked = {}
    for name, value in fields.items():
        allowed = _FIELD_TYPES[name]
        if value is None and type(None) in allowed:
            checked[name] = value
            continue
        kind = type(value)
        ok = kind in allowed or (kind is int and float in allowed)
        if ok and kind is int and not -(2**63) <= value < 2**63:
            raise GanMnistError(f"{name} is out of range (a {len(str(abs(value)))}-digit integer)")
        if ok and float in allowed and kind in (int, float):
            value = float(value)
            ok = math.isfinite(value)
        if not ok:
            wanted = " or ".join(_KINDS[t] for t in _KINDS if t in allowed)
            wanted += " (finite)" if float in allowed else ""
            raise GanMnistError(f"{name} must be {wanted}{' or None' if type(None) in allowed else ''}, got "
                                f"{value!r} ({kind.__name__})")
        checked[name] = value
    return checked

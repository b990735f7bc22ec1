"""One frozen dataclass holds every hyperparameter of a run; it is saved as JSON next to the run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from gan_mnist.errors import GanMnistError

MODELS = ("dcgan", "mlp", "cgan")
DATASETS = ("mnist", "fashion_mnist")
CONDITIONAL_MODELS = ("cgan",)
# Adam (learning rate for both networks, beta_1) per model: the tutorial's for dcgan, the DCGAN paper's otherwise
OPTIMIZER_DEFAULTS = {"dcgan": (1e-4, 0.9), "mlp": (2e-4, 0.5), "cgan": (2e-4, 0.5)}

# named settings, TrainConfig fields (`--preset NAME`; flags given beside it win). Measured in the README.
PRESETS = {
    # the TensorFlow DCGAN tutorial: its architecture, Adam 1e-4 (beta_1 0.9), batch 256, float32, 50 epochs
    "tutorial": {"model": "dcgan", "epochs": 50, "batch_size": 256, "g_learning_rate": 1e-4, "d_learning_rate": 1e-4,
                 "beta_1": 0.9, "width": 1.0, "mixed_precision": False, "steps_per_execution": 1},
    # the best Fréchet distance found for 10 minutes of training on a 2-core CPU (README, "Speed"): the MLP GAN,
    # 100 epochs of about 5 s; 10 steps per compiled call saves the per-step Python round trip of its tiny steps
    "fast": {"model": "mlp", "epochs": 100, "batch_size": 128, "g_learning_rate": 2e-4, "d_learning_rate": 2e-4,
             "beta_1": 0.5, "width": 1.0, "mixed_precision": False, "steps_per_execution": 10},
}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run. Defaults reproduce the TensorFlow DCGAN tutorial.

    Learning rates and beta_1 left as None take the model's defaults (OPTIMIZER_DEFAULTS).
    """

    model: str = "dcgan"
    dataset: str = "mnist"
    epochs: int = 50
    batch_size: int = 256
    latent_dim: int = 100
    width: float = 1.0  # multiplies every layer size of both networks (1.0 = the published architecture)
    g_learning_rate: float | None = None
    d_learning_rate: float | None = None
    beta_1: float | None = None
    seed: int = 0
    limit: int | None = None  # use only the first `limit` training images
    grid_size: int = 6  # per-epoch frames show grid_size x grid_size samples
    checkpoint_every: int = 1  # epochs between checkpoints
    gif_frame_ms: int = 200
    save_every: int | None = None  # also keep generators/epoch_NNNN.keras every k epochs
    eval_every: int | None = None  # add quality metrics (fd, mnist_score, ...) to the history every k epochs
    eval_samples: int = 2000  # samples drawn for each of those evaluations
    mixed_precision: bool = False  # bfloat16 compute, float32 weights (Keras "mixed_bfloat16")
    steps_per_execution: int = 1  # training steps per compiled call (fewer Python round trips)
    deterministic: bool = True  # TF op determinism: the same seed gives the same run (no measurable cost on CPU)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise GanMnistError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        lr, beta_1 = OPTIMIZER_DEFAULTS[self.model]
        for name, default in (("g_learning_rate", lr), ("d_learning_rate", lr), ("beta_1", beta_1)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)  # frozen: fill the model's default once, here
        if self.dataset not in DATASETS:
            raise GanMnistError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        for name in ("epochs", "batch_size", "latent_dim", "grid_size", "checkpoint_every", "gif_frame_ms",
                     "eval_samples", "steps_per_execution"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise GanMnistError(f"{name} must be a positive integer, got {value!r}")
        for name in ("limit", "save_every", "eval_every"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise GanMnistError(f"{name} must be a positive integer or None, got {value!r}")
        for name in ("g_learning_rate", "d_learning_rate", "width"):
            if not getattr(self, name) > 0:
                raise GanMnistError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.eval_every and self.dataset != "mnist":
            raise GanMnistError("eval_every needs dataset 'mnist': the evaluator is an MNIST digit classifier")
        if not 0 <= self.beta_1 < 1:
            raise GanMnistError(f"beta_1 must be in [0, 1), got {self.beta_1!r}")

    @classmethod
    def preset(cls, name: str, **changes) -> TrainConfig:
        """The config of a named preset (see PRESETS), with `changes` applied on top."""
        if name not in PRESETS:
            raise GanMnistError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **changes})

    @property
    def conditional(self) -> bool:
        """True for models whose networks see the class label."""
        return self.model in CONDITIONAL_MODELS

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed, validated again.

        Changing `model` also changes the optimizer settings that were the old model's defaults to the new model's
        (unless given in the same call): `TrainConfig().replace(model="mlp")` trains the MLP with its own Adam
        settings, not the DCGAN tutorial's. Values that differ from the old model's defaults are kept.
        """
        new_model = changes.get("model", self.model)
        if new_model != self.model and self.model in OPTIMIZER_DEFAULTS:
            lr, beta_1 = OPTIMIZER_DEFAULTS[self.model]
            for name, default in (("g_learning_rate", lr), ("d_learning_rate", lr), ("beta_1", beta_1)):
                if name not in changes and getattr(self, name) == default:
                    changes[name] = None  # __post_init__ fills in the new model's default
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        """Write the config as pretty JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a config written by `save`; unknown keys are an error, missing keys take defaults."""
        data = json.loads(Path(path).read_text())
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise GanMnistError(f"{path}: unknown config keys {sorted(unknown)}")
        return cls(**data)

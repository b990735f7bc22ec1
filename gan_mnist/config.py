"""One frozen dataclass holds every hyperparameter of a run; it is saved as JSON next to the run."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Callable
from pathlib import Path

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation import MIN_SAMPLES
from gan_mnist.limits import CLUSTER_NEIGHBOURS, MAX_SAMPLES, MAX_SEED, Bounds, most_clusters
from gan_mnist.presets import CLASSIC_RECIPE, PRESETS
from gan_mnist.recipes import (
    ARCHITECTURE_FIELDS,
    ARCHITECTURES,
    LOSSES,
    NO_PENALTY,
    PENALTIES,
    default_every,
    default_gamma,
    penalty_names,
)
from gan_mnist.run.directory import atomic_write_bytes
from gan_mnist.run.precision import CHOICES as PRECISIONS
from gan_mnist.run.precision import LEGACY as LEGACY_PRECISIONS

MODELS = tuple(ARCHITECTURES)
DATASETS = ("mnist", "fashion_mnist")
# models whose networks see the digit's label (the self-conditioned ones see clusters instead)
CONDITIONAL_MODELS = tuple(name for name, arch in ARCHITECTURES.items()
                           if arch.conditional and not arch.defaults["clusters"])
# the groups a saved config.json is written in, in that order
GROUPS = ("recipe", "optimiser", "data", "outputs", "speed")
# config.json's record of how the run ran on its device (the groups hold what was asked); never read as config
RAN = "ran"


def model_default(model: str, field: str):
    """The value `field` (one of recipes.ARCHITECTURE_FIELDS) takes for architecture `model` when left unset."""
    return ARCHITECTURES[model].defaults[field]


def preset_flags(name: str) -> str:
    """PRESETS[name] as `train` flags, e.g. "--model cgan" for 'default-cgan' ("" for bare `train`)."""
    return " ".join(f"{flag(k)} {v}" for k, v in PRESETS[name].items())


def _positive(hi: float, zero: str | None = None) -> Bounds:
    return Bounds(0, hi, lo_open=True, zero=zero)


def _every(zero: str = "off") -> Bounds:
    """K epochs between events: 1 to 100,000, 0 = never."""
    return Bounds(1, 100_000, zero=zero)


def _field(default, group: str, help: str, flag: str | None = None, choices=None, metavar: str | None = None,
           legacy: dict | None = None, bounds: Bounds | None = None):
    """A TrainConfig field with what the CLI and config.json need: its group, help text, flag name (default: the
    field's name with dashes), choices, `legacy`: booleans that older records hold, mapped to today's values, and
    `bounds`: the values a number may take. The CLI appends the default and the bounds to the help
    (cli._config_flags)."""
    return dataclasses.field(default=default, metadata={"group": group, "help": help, "flag": flag,
                                                        "choices": choices, "metavar": metavar, "legacy": legacy,
                                                        "bounds": bounds})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run. The defaults are what the recipe search and its follow-ups chose
    (docs/results.md) for about 8 tutorial-loop epochs (docs/recipes.md, Budgets): resize-convolution G and
    projection D self-conditioned on 50 clusters of D's features, with R3GAN's loss and penalties (rpgan, lazy R1 +
    R2), an EMA generator, the precision the device runs fastest (`mixed_precision="auto"`, run.precision);
    `model="cgan"` brings its own (the same loss and penalties, 28 epochs within a 12 tutorial-loop-epoch budget);
    `TrainConfig.preset("tutorial")` is the TensorFlow tutorial.

    None means one thing: the architecture decides (the fields of one row of recipes.ARCHITECTURES: loss, Adam
    settings, epochs, width, D's size, growth and dropout, penalty, mode seeking, clusters, speed settings), or for
    gamma and penalty_every, the penalty (recipes.PENALTIES). The config holds the values they resolve to. Where 0 has a
    meaning of its own it is in the field's help ("0 = off", "0 = all"). The rules between fields are one table,
    CHECKS.
    """

    # recipe: what is trained, and how
    model: str = _field("self_resize", "recipe", "architecture", choices=MODELS)
    loss: str | None = _field(None, "recipe", "adversarial loss", choices=tuple(LOSSES))
    penalty: str | None = _field(None, "recipe", "gradient penalty on D (none: no penalty); several, comma-separated, "
                                 "are summed with one weight (r1,r2: R3GAN's pair)",
                                 metavar="{" + ",".join((*PENALTIES, NO_PENALTY)) + "}")
    gamma: float | None = _field(None, "recipe", "the penalty's weight, shared by several (None: the penalty's)",
                                 bounds=_positive(1e6))
    penalty_every: int | None = _field(None, "recipe", "lazy regularisation: the penalty every K critic steps, "
                                       "weighted K times", bounds=Bounds(1, 10_000))
    mode_seeking: float | None = _field(None, "recipe", "mode seeking (MSGAN, Mao et al. 2019): the weight of a "
                                        "generator loss term, 1 / (image distance / noise distance) over pairs of "
                                        "fakes with one label (any pair, unconditioned); it spreads each label's "
                                        "draws over its images",
                                        bounds=_positive(100, zero="off"))
    top_k: float = _field(1.0, "recipe", "top-k generator updates (Sinha et al. 2020): G's loss keeps the fakes D "
                          "rates most real, a share of each label's that falls from all by 0.9x per 60,000 images to "
                          "this floor; 1 = all", bounds=_positive(1))
    spectral_norm: bool = _field(False, "recipe", "spectrally normalise the discriminator's weight layers (Miyato "
                                 "et al. 2018)")
    n_critic: int = _field(1, "recipe", "discriminator steps per generator step, each on 1/N of the batch "
                           "(WGAN-GP uses 5)", bounds=Bounds(1, 64))
    clusters: int | None = _field(None, "recipe", "self-conditioning (Liu et al. 2020): a conditional model ("
                                  + ", ".join(CONDITIONAL_MODELS) + ") trains on K clusters of its discriminator's "
                                  "features instead of labels and draws unconditionally, clusters in their data "
                                  "shares; 0 = off")
    recluster_every: int = _field(2, "recipe", "epochs between those clusterings; the first is before epoch 1",
                                  bounds=Bounds(1, 100_000))
    ema_kimg: float = _field(10.0, "recipe", "half-life of the generator's weight average (EMA) in thousands of "
                             "images; frames, samples and generator.keras use the average; 0 = no EMA",
                             bounds=Bounds(0, 1e6))
    ema_rampup: float = _field(0.05, "recipe", "early in a run the EMA half-life is at most this share of the "
                               "images seen", bounds=_positive(1e3, zero="no ramp-up"))
    latent_dim: int = _field(100, "recipe", "noise size", bounds=Bounds(1, 4_096))
    width: float | None = _field(None, "recipe", "multiply every layer size of both networks (1.0 = the published "
                                 "architecture)", bounds=_positive(8))
    d_scale: float | None = _field(None, "recipe", "multiply the discriminator's layer sizes once more: its size "
                                   "against the generator's", bounds=_positive(8))
    d_growth: float | None = _field(None, "recipe", "the discriminator's second layer over its first: 2 doubles "
                                    "the convolutions' channels as published (64 -> 128 at width 1), the MLP's "
                                    "0.5 halves its 512 units", bounds=_positive(16))
    d_dropout: float | None = _field(None, "recipe", "dropout rate in the discriminator, 0 = none (as gradient "
                                     "penalties prefer)", bounds=Bounds(0, 1, hi_open=True))
    # optimiser: Adam per network (TTUR when the rates differ), batch and length
    g_learning_rate: float | None = _field(None, "optimiser", "generator Adam learning rate", flag="lr-g",
                                           metavar="LR", bounds=_positive(1))
    d_learning_rate: float | None = _field(None, "optimiser", "discriminator Adam learning rate", flag="lr-d",
                                           metavar="LR", bounds=_positive(1))
    lr_end: float = _field(1.0, "optimiser", "both Adam rates at the run's last step, as a share of --lr-g and "
                           "--lr-d: a cosine decay over the run's epochs reaches it (1 = constant rates; a run resumed "
                           "with a larger --epochs goes on along the longer run's curve from the step it reached)",
                           metavar="SHARE", bounds=Bounds(0, 1))
    beta_1: float | None = _field(None, "optimiser", "Adam beta_1 for both networks", bounds=Bounds(0, 1, hi_open=True))
    beta_2: float | None = _field(None, "optimiser", "Adam beta_2 for both networks", bounds=Bounds(0, 1, hi_open=True))
    batch_size: int = _field(128, "optimiser", "images per step", bounds=Bounds(1, 65_536))
    epochs: int | None = _field(None, "optimiser", "total epochs to reach", bounds=Bounds(1, 100_000))
    budget_minutes: float = _field(0.0, "optimiser", "also stop at the first epoch end once training time "
                                   "(frames, plots and checkpoints not counted) reaches M minutes",
                                   bounds=_positive(1e6, zero="no budget"))
    # data
    dataset: str = _field("mnist", "data", "training data", choices=DATASETS)
    limit: int = _field(0, "data", "train on the first N images only", bounds=Bounds(1, 100_000_000, zero="all"))
    seed: int = _field(0, "data", "seed for weights, noise and shuffling", bounds=Bounds(0, MAX_SEED))
    # outputs: what the run writes, how often
    grid_size: int = _field(6, "outputs", "frames show K x K samples", bounds=Bounds(1, 32))
    checkpoint_every: int = _field(1, "outputs", "epochs between checkpoints", bounds=Bounds(1, 100_000))
    gif_frame_ms: int = _field(200, "outputs", "milliseconds per frame of training.gif", bounds=Bounds(1, 60_000))
    save_every: int = _field(0, "outputs", "also keep DIR/generators/epoch_NNNN.keras every K epochs",
                             bounds=_every())
    eval_every: int = _field(0, "outputs", "add quality metrics (fd, precision/recall, mnist_score, coverage) to "
                             "the history every K epochs and keep best.keras (MNIST only)", bounds=_every())
    eval_samples: int = _field(2000, "outputs", "samples per evaluation", bounds=Bounds(MIN_SAMPLES, MAX_SAMPLES))
    # speed: settings that change how fast, never what is computed (16-bit arithmetic aside)
    mixed_precision: str | None = _field(None, "speed", "compute in 16 bits, keep float32 weights: auto picks per "
                                         "device (bf16 on CPUs with AVX512_BF16 or AMX and on GPUs of compute "
                                         "capability 8.0+, fp16 with loss scaling on 7.x GPUs, off = float32 "
                                         "elsewhere)", choices=PRECISIONS, legacy=LEGACY_PRECISIONS)
    steps_per_execution: int | None = _field(None, "speed", "training steps per compiled call; the progress bar "
                                             "updates that often", bounds=Bounds(1, 10_000))
    deterministic: bool = _field(True, "speed", "TF op determinism: the same seed gives the same history and "
                                 "samples (no measurable cost on CPU; off may be faster on GPUs)")
    def __post_init__(self) -> None:
        for name, value in self._resolved().items():  # frozen: filled in once, here
            object.__setattr__(self, name, value)
        for check in CHECKS:
            if not check.holds(self):
                raise GanMnistError(check.message(self))

    def _resolved(self) -> dict:
        """The fields with their types checked and every None filled in: the architecture's row
        (ARCHITECTURE_FIELDS), then the penalty's weight and interval; the penalty in its one spelling."""
        fields = check_types({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        if fields["model"] not in ARCHITECTURES:
            raise GanMnistError(f"unknown model {fields['model']!r}; choose one of {', '.join(ARCHITECTURES)}")
        fields |= {name: model_default(fields["model"], name) for name in ARCHITECTURE_FIELDS if fields[name] is None}
        names = penalty_names(fields["penalty"])
        if fields["penalty"] != NO_PENALTY:
            if not names or any(name not in PENALTIES for name in names):
                raise GanMnistError(f"unknown penalty {fields['penalty']!r}; choose one of {', '.join(PENALTIES)}, "
                                    f"several joined by commas (r1,r2), or {NO_PENALTY!r}")
            if len(set(names)) < len(names):
                raise GanMnistError(f"penalty {fields['penalty']!r} names a penalty twice")
            fields["penalty"] = ",".join(names)  # one spelling, one config
        if fields["gamma"] is None and names:
            fields["gamma"] = default_gamma(fields["penalty"])
            if fields["gamma"] is None:
                weights = ", ".join(f"{n} {PENALTIES[n].gamma:g}" for n in names)
                raise GanMnistError(f"the penalties {fields['penalty']} have different default weights ({weights}): "
                                    "give the weight they share, gamma= (--gamma)")
        if fields["penalty_every"] is None:
            fields["penalty_every"] = default_every(fields["penalty"], fields["model"])
        return fields

    @property
    def summary(self) -> str:
        """The recipe in a few words: architecture, loss, penalty, spectral norm, EMA, e.g. 'dcgan ns r1 ema'."""
        parts = [self.model, self.loss]
        if penalty_names(self.penalty):
            lazy = f"/{self.penalty_every}" if self.penalty_every > 1 else ""
            parts.append(f"{'+'.join(penalty_names(self.penalty))}({self.gamma:g}{lazy})")
        parts += ["sn"] * self.spectral_norm + [f"ncritic{self.n_critic}"] * (self.n_critic > 1)
        parts += [f"ms{self.mode_seeking:g}"] * (self.mode_seeking > 0)
        parts += [f"top{self.top_k:g}"] * (self.top_k < 1)
        parts += [f"self{self.clusters}"] * (self.clusters > 0)
        parts += [f"ema{self.ema_kimg:g}k"] * (self.ema_kimg > 0)
        parts += [f"lr-end{self.lr_end:g}"] * (self.lr_end < 1)
        return " ".join(parts)

    @classmethod
    def preset(cls, name: str, **changes) -> TrainConfig:
        """The config of a named preset (gan_mnist.presets.PRESETS), with `changes` applied on top."""
        if name not in PRESETS:
            raise GanMnistError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **changes})

    @property
    def conditional(self) -> bool:
        """True for runs whose networks see the class label (self-conditioned ones see clusters, not labels)."""
        return self.model in CONDITIONAL_MODELS and not self.clusters

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed, validated again. A new model brings its own row of
        recipes.ARCHITECTURES, and a new penalty its own weight and interval, unless `changes` gives them too;
        every other field is kept: `TrainConfig.preset("tutorial").replace(model="mlp")` is the MLP's recipe at the
        tutorial's batch size."""
        fields = self.to_dict()
        if changes.get("model", self.model) != self.model:
            fields |= dict.fromkeys((*ARCHITECTURE_FIELDS, "gamma", "penalty_every"))
        if changes.get("penalty", self.penalty) != self.penalty:
            fields |= dict.fromkeys(("gamma", "penalty_every"))
        return TrainConfig(**{**fields, **changes})

    def to_dict(self) -> dict:
        """Every field (flat: name -> value), as the config was resolved."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    def grouped(self) -> dict:
        """The fields in their groups (GROUPS: recipe, optimiser, data, outputs, speed), as config.json holds them."""
        return {group: {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                        if f.init and f.metadata["group"] == group} for group in GROUPS}

    def save(self, path: str | Path, ran: dict | None = None) -> None:
        """Write the config as pretty JSON in its groups (atomically: a crash never leaves half a config), with
        `ran` (how the device ran it, e.g. the precision `auto` picked) as one more object that loading skips."""
        record = {**self.grouped(), **({RAN: ran} if ran else {})}
        atomic_write_bytes(path, (json.dumps(record, indent=2) + "\n").encode())

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """The config of a saved record: a dict as `to_dict` or `grouped` gives it (or any subset of the fields);
        unknown keys are an error, missing keys take defaults (see `fields_from`)."""
        fields = fields_from(data)
        if "loss" not in fields:  # written before recipes existed: a classic run, whatever today's defaults are
            fields = {**CLASSIC_RECIPE, **fields}
        if set(ARCHITECTURE_FIELDS) - set(fields) == {"d_growth"}:
            # a resolved record from before configs held d_growth: its D had its builder's own layout
            fields["d_growth"] = UNRECORDED_D_GROWTH.get(fields.get("model", TrainConfig.model), 2.0)
        return cls(**fields)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a config written by `save` (or, from older runs, a flat one)."""
        try:
            return cls.from_dict(_read_json(path))
        except GanMnistError as e:
            raise GanMnistError(f"{path}: {e}") from None


# D's second layer over its first in runs whose records predate `d_growth`: the convolutional builders doubled
# (2.0), the MLP's halved
UNRECORDED_D_GROWTH = {"mlp": 0.5}


def fields_from(data: dict) -> dict:
    """TrainConfig fields of a saved record, flat or in its groups, type-checked. Records written when None spelled
    "off" too read as today's spelling: a null penalty is "none" (its weight and interval then mean nothing), a null
    limit, budget_minutes, save_every, eval_every or ema_rampup is 0."""
    if data and set(data) <= {*GROUPS, RAN}:  # grouped, as `save` writes it (with its record of what ran): flatten
        data = {group: fields for group, fields in data.items() if group != RAN}
        if not all(isinstance(group, dict) for group in data.values()):
            raise GanMnistError(f"each group ({', '.join(GROUPS)}) must be a JSON object of config fields")
        data = {name: value for group in data.values() for name, value in group.items()}
    unknown = set(data) - {f.name for f in dataclasses.fields(TrainConfig) if f.init}
    if unknown:
        raise GanMnistError(f"unknown config keys {sorted(unknown)}")
    if "penalty" in data and data["penalty"] is None:
        data = {**data, "penalty": NO_PENALTY, "gamma": None, "penalty_every": None}
    data = {name: 0 if value is None and _zero(name) else value for name, value in data.items()}
    return check_types(data)


def _zero(name: str) -> str | None:
    """What 0 means for field `name` (e.g. "off"), None where 0 has no meaning of its own."""
    bounds = TrainConfig.__dataclass_fields__[name].metadata["bounds"]
    return bounds.zero if bounds else None


MAX_JSON_BYTES = 1_000_000  # a config or preset file is a few hundred bytes


def _read_json(path: str | Path) -> dict:
    """The JSON object in `path`; errors name the problem, not the path (the callers prefix it)."""
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_JSON_BYTES + 1)  # never more: /dev/zero is a file too
        data = json.loads(text) if len(text) <= MAX_JSON_BYTES else None
    except OSError as e:
        raise GanMnistError(f"cannot be read ({e.strerror or e})") from None
    except ValueError as e:
        raise GanMnistError(f"not a readable JSON file ({e})") from None
    except RecursionError:
        raise GanMnistError("not a config or preset file (its JSON is nested too deeply)") from None
    if len(text) > MAX_JSON_BYTES:
        raise GanMnistError(f"larger than {MAX_JSON_BYTES:,} bytes: not a config or preset file")
    if not isinstance(data, dict):
        raise GanMnistError(f"needs a JSON object of config fields, got {type(data).__name__}")
    return data


def read_fields(path: str | Path) -> dict:
    """TrainConfig fields from a JSON file (a saved config, or a preset file: any subset of the fields, flat or in
    groups)."""
    try:
        return fields_from(_read_json(path))
    except GanMnistError as e:
        raise GanMnistError(f"{path}: {e}") from None


def config_fields() -> tuple[dataclasses.Field, ...]:
    """TrainConfig's fields a user sets (every one a `train` flag), in the order of their groups."""
    fields = [f for f in dataclasses.fields(TrainConfig) if f.init]
    return tuple(sorted(fields, key=lambda f: GROUPS.index(f.metadata["group"])))


def flag(name: str) -> str:
    """The `train` flag of TrainConfig field `name`, e.g. '--batch-size', '--lr-g'."""
    field = TrainConfig.__dataclass_fields__[name]
    return "--" + (field.metadata["flag"] or name.replace("_", "-"))


# field -> the types its annotation allows, e.g. {int, NoneType} for `int | None`
FIELD_TYPES = {f.name: set(typing.get_args(hint) or (hint,))
               for f, hint in ((f, typing.get_type_hints(TrainConfig)[f.name]) for f in dataclasses.fields(TrainConfig))
               if f.init}
_KINDS = {bool: "a boolean (true or false)", int: "an integer", float: "a number", str: "a string"}


def check_types(fields: dict) -> dict:
    """`fields` (TrainConfig field -> value) checked against the field types: booleans only for bool fields, whole
    numbers for int fields, finite numbers for float fields (an int becomes a float), strings for str fields, None
    where the field allows it. Returns the fields with those conversions; a wrong value is a GanMnistError."""
    checked = {}
    for name, value in fields.items():
        allowed = FIELD_TYPES[name]
        legacy = TrainConfig.__dataclass_fields__[name].metadata["legacy"]
        if legacy and type(value) is bool:  # a record written when the field was a boolean
            value = legacy[value]
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
            zero = f"; 0 means {_zero(name)}" if value is None and _zero(name) else ""
            raise GanMnistError(f"{name} must be {wanted}{' or None' if type(None) in allowed else ''}, got "
                                f"{value!r} ({kind.__name__}){zero}")
        checked[name] = value
    return checked


@dataclasses.dataclass(frozen=True)
class Check:
    """A rule every resolved TrainConfig holds: `holds(config)`, else a GanMnistError of `message(config)`."""

    name: str
    holds: Callable[[TrainConfig], bool]
    message: Callable[[TrainConfig], str]


def _in_bounds(field: dataclasses.Field) -> Check:
    """The check that a numeric field lies in its `bounds` (types are checked before: see check_types; gamma is the
    one None left after resolving, without a penalty)."""
    bounds, integer = field.metadata["bounds"], float not in FIELD_TYPES[field.name]
    return Check(field.name, lambda c: getattr(c, field.name) is None or bounds.holds(getattr(c, field.name)),
                 lambda c: f"{field.name} must be {bounds.describe(integer)}, got {getattr(c, field.name)!r}")


def _known(name: str, choices) -> Check:
    return Check(name, lambda c: getattr(c, name) in choices,
                 lambda c: f"unknown {name} {getattr(c, name)!r}; choose one of {', '.join(choices)}")


def _clusters_fit(c: TrainConfig) -> bool:
    return not c.clusters or 2 <= c.clusters <= most_clusters(c.limit)


# the rules a config must hold once resolved, in the order they are checked (each assumes the ones above it)
CHECKS = (
    _known("loss", LOSSES), _known("dataset", DATASETS),
    Check("mixed_precision", lambda c: c.mixed_precision in PRECISIONS,
          lambda c: f"mixed_precision must be one of {', '.join(PRECISIONS)}, got {c.mixed_precision!r}"),
    *(_in_bounds(field) for field in dataclasses.fields(TrainConfig) if field.metadata["bounds"]),
    Check("eval_every on MNIST", lambda c: not c.eval_every or c.dataset == "mnist",
          lambda c: "eval_every needs dataset 'mnist': the evaluator is an MNIST digit classifier"),
    Check("self-conditioned", lambda c: c.clusters or not model_default(c.model, "clusters"),
          lambda c: f"model {c.model!r} is self-conditioned: clusters must be 2 or more (for labels, use a "
                    f"conditional model: {', '.join(CONDITIONAL_MODELS)})"),
    Check("clusters on a conditional model", lambda c: not c.clusters or ARCHITECTURES[c.model].conditional,
          lambda c: f"clusters (self-conditioning) needs a conditional model ({', '.join(CONDITIONAL_MODELS)}), "
                    f"not {c.model!r}"),
    Check("clusters the images hold", _clusters_fit,
          lambda c: f"clusters must be 0 (off) or 2-{most_clusters(c.limit)}, got {c.clusters}; a cluster "
                    f"needs {CLUSTER_NEIGHBOURS} or more of the images clustered (gan_mnist.limits.most_clusters): "
                    "give fewer clusters (--clusters) or more images"),
    Check("Lipschitz critic", lambda c: not LOSSES[c.loss].lipschitz or "gp" in penalty_names(c.penalty)
          or c.spectral_norm,
          lambda c: f"loss {c.loss!r} needs a Lipschitz critic: add penalty 'gp' (--penalty gp, WGAN-GP) or "
                    "spectral_norm=True (--spectral-norm)"),
    Check("gamma with a penalty", lambda c: c.gamma is None or bool(penalty_names(c.penalty)),
          lambda c: f"gamma weighs the gradient penalty: choose one with penalty= ({', '.join(PENALTIES)})"),
    Check("penalty_every with a penalty", lambda c: c.penalty_every == 1 or bool(penalty_names(c.penalty)),
          lambda c: f"penalty_every={c.penalty_every} sets how often the gradient penalty runs: choose one with "
                    f"penalty= ({', '.join(PENALTIES)})"),
    Check("n_critic splits the batch", lambda c: c.batch_size % c.n_critic == 0,
          lambda c: f"batch_size={c.batch_size} must split into n_critic={c.n_critic} equal critic batches"),
)

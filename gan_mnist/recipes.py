"""The three tables a recipe is made from: losses, gradient penalties and architectures.

Adding a variant is one entry here plus its code. Entries name their code as "module:function" so that this
module (and with it the CLI's --help and argument checks) loads without TensorFlow; `resolve` imports the code
when a run is built. Everything else — config validation, CLI choices, bench, tests — reads these tables.
"""

from __future__ import annotations

import dataclasses
import importlib


def resolve(path: str):
    """The object that "package.module:name" names (importing the module, and so TensorFlow, on first use)."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


@dataclasses.dataclass(frozen=True)
class Loss:
    """An adversarial loss: `d` and `g` are "module:function" names of (real_logits, fake_logits) -> scalar."""

    d: str
    g: str
    lipschitz: bool = False  # only meaningful with a Lipschitz critic: needs the 'gp' penalty or spectral norm
    # D's loss sees only real-minus-fake logit differences: shifting every logit changes nothing, so D's output
    # bias gets no gradient, and logits compared with 0 (d_real_acc, d_fake_acc) say little
    relative: bool = False
    about: str = ""


@dataclasses.dataclass(frozen=True)
class Penalty:
    """A gradient penalty on the discriminator: "module:function" (critic, real, fake, seed) -> scalar, times gamma."""

    fn: str
    gamma: float  # default weight
    about: str = ""
    gamma_range: tuple[float, float] = (1e-3, 10.0)  # `tune` draws the weight log-uniformly from this range
    lazy: bool = False  # may run every few steps (--penalty-every); the lazy ones are also searched together
    lipschitz: bool = False  # keeps the critic Lipschitz: the penalty a Loss(lipschitz=True) is searched with


_OBJ = "gan_mnist.objectives."
LOSSES = {
    "ns": Loss(_OBJ + "losses:discriminator_loss", _OBJ + "losses:generator_loss",
               about="non-saturating (Goodfellow et al. 2014)"),
    "hinge": Loss(_OBJ + "losses:hinge_d", _OBJ + "losses:hinge_g", about="hinge (Lim & Ye 2017; SAGAN)"),
    "lsgan": Loss(_OBJ + "losses:lsgan_d", _OBJ + "losses:lsgan_g", about="least squares (Mao et al. 2017)"),
    "wgan": Loss(_OBJ + "losses:wgan_d", _OBJ + "losses:wgan_g", lipschitz=True, relative=True,
                 about="Wasserstein (Arjovsky et al. 2017); with --penalty gp and --n-critic 5 it is WGAN-GP"),
    "rpgan": Loss(_OBJ + "losses:rpgan_d", _OBJ + "losses:rpgan_g", relative=True,
                  about="relativistic pairing (Jolicoeur-Martineau 2019; R3GAN 2024)"),
}

NO_PENALTY = "none"


def penalty_names(spec: str | None) -> tuple[str, ...]:
    """The PENALTIES entries a config's `penalty` names: "r1" -> ("r1",), "r1,r2" -> ("r1", "r2"), "none" -> ()."""
    return tuple(part.strip() for part in spec.split(",")) if spec and spec != NO_PENALTY else ()


# how often a lazy penalty runs by default (--penalty-every): every 4th critic step, weighted 4 times
LAZY_INTERVAL = 4


def all_lazy(spec: str | None) -> bool:
    """Whether `spec` names penalties and every one may run lazily (every few steps)."""
    names = penalty_names(spec)
    return bool(names) and all(PENALTIES[name].lazy for name in names if name in PENALTIES)


def default_gamma(spec: str | None) -> float | None:
    """The weight the penalties of `spec` share by default; None when they have different defaults (or none)."""
    defaults = {PENALTIES[name].gamma for name in penalty_names(spec) if name in PENALTIES}
    return defaults.pop() if len(defaults) == 1 else None


PENALTIES = {
    "r1": Penalty(_OBJ + "penalties:r1", 0.05, about="zero-centred on real images, gamma/2 E|grad D(x)|^2",
                  lazy=True),
    "r2": Penalty(_OBJ + "penalties:r2", 0.05, about="zero-centred on fakes, gamma/2 E|grad D(G(z))|^2", lazy=True),
    "gp": Penalty(_OBJ + "penalties:gradient_penalty", 10.0,
                  about="WGAN-GP: gamma E(|grad D(x_hat)| - 1)^2 on per-sample interpolates", gamma_range=(0.1, 20.0),
                  lipschitz=True),
}

# the TrainConfig fields an architecture decides when a config leaves them unset (None): every row sets all of them
ARCHITECTURE_FIELDS = ("loss", "epochs", "g_learning_rate", "d_learning_rate", "beta_1", "beta_2", "width", "d_scale",
                       "d_growth", "d_dropout", "penalty", "mode_seeking", "clusters", "mixed_precision",
                       "steps_per_execution")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A generator/discriminator pair: its builders, the recipe it trains with by default (`defaults`: every field
    of ARCHITECTURE_FIELDS) and the speed options `bench` found to help."""

    generator: str  # "module:function" (latent_dim, width[, num_classes]) -> keras.Model
    discriminator: str  # "module:function" (width, spectral_norm, dropout, growth[, num_classes]) -> keras.Model
    conditional: bool  # networks take (input, label); their builders take num_classes
    defaults: dict  # ARCHITECTURE_FIELDS -> value (see `defaults_row`)
    speed: dict = dataclasses.field(default_factory=dict)  # TrainConfig fields that `bench` found faster here
    about: str = ""
    # `tune`'s choices of this pair's own fields (TrainConfig field -> values; {}: only the shared ones); None leaves
    # the pair out of the search. The search is for unconditional generators: a conditional pair in it
    # self-conditions, so its choices include `clusters`
    search: dict | None = dataclasses.field(default_factory=dict)
    # how often its own penalty (defaults["penalty"]) runs when a config leaves penalty_every unset; None: as any
    # config with that penalty (default_every)
    penalty_every: int | None = None

    def __post_init__(self) -> None:
        if set(self.defaults) != set(ARCHITECTURE_FIELDS):
            raise ValueError(f"an architecture's defaults set exactly {ARCHITECTURE_FIELDS}, got "
                             f"{sorted(self.defaults)}")
        if self.search is not None and self.conditional and not self.search.get("clusters"):
            raise ValueError("a searched conditional pair self-conditions: its search chooses `clusters`")
        if self.penalty_every is not None and not all_lazy(self.defaults["penalty"]):
            raise ValueError(f"penalty_every={self.penalty_every} needs a default penalty that may run lazily, got "
                             f"{self.defaults['penalty']!r}")


def defaults_row(loss: str, epochs: int, lr: float, beta_1: float, beta_2: float, width: float, d_scale: float,
                 d_growth: float, d_dropout: float, penalty: str, mode_seeking: float, clusters: int, precision: str,
                 steps: int) -> dict:
    """One architecture's defaults, in the order of the table's columns (lr: both networks' Adam rate; precision:
    a run.precision.CHOICES value)."""
    return dict(loss=loss, epochs=epochs, g_learning_rate=lr, d_learning_rate=lr, beta_1=beta_1, beta_2=beta_2,
                width=width, d_scale=d_scale, d_growth=d_growth, d_dropout=d_dropout, penalty=penalty,
                mode_seeking=mode_seeking, clusters=clusters, mixed_precision=precision, steps_per_execution=steps)


# every architecture's default recipe, one row each. epochs: the budget the recipe was tuned for, in tutorial-loop
# epochs as `bench --presets` measures them (docs/results.md): about 8 for mlp and self_cgan (its clusterings of
# 60,000 digits included; its recipe reached 14 epochs in the search's 18-minute trial with R1 + R2 every 4th step,
# and runs 17 in about that time with them every 16th, which scored better on every panel member), under 12 for cgan
# (28 epochs with them every 16th: 24 every 4th took 12.35). self_resize, the default: 17 epochs, under 8 in float32 on
# an AVX2 CPU, and closer to real digits than self_cgan on every panel member (docs/results.md).
# R3GAN's loss and penalties (rpgan, R1 + R2) won that search and its confirmation on three seeds (docs/results.md),
# and beat ns + R1 + dropout on the cGAN too (docs/results.md).
# resize's d_scale 3: a 0.31 M-weight D against its 0.35 M G, not 37 k. self_resize's D puts its width where its cost
# is, the second convolution, 8x its first (d_growth 8 at d_scale 1: 32 -> 256): the 4x4 kernels of its first layer
# see 16 pixels, which 32 filters already span twice over, and the second layer's multiply-adds (7x7 outputs x 16 taps
# x both layers' channels) halve against 64 -> 256: the budget goes to epochs, which scored better on every panel
# member (docs/results.md, "D's growth"). Its Adam rate 5e-4, 2.5x the others': on three paired seeds each step up from
# 2e-4 (to 4e-4, then to 5e-4) lowered the mean FD / floor on every member and raised precision, recall held
# (docs/results.md, "The defaults on the panel").
# mode seeking off: on self_cgan it brought the panel's FDs and recall closer to real digits' but cost precision
# beyond the panel's rule (docs/results.md, "Precision and recall dials").
# precision: "auto" picks per device (run.precision); the MLP stays in float32, where its dense layers ran faster
# than in bfloat16 even on a CPU with native bfloat16 (docs/speed.md)
#              loss epochs lr beta_1 beta_2 width d_scale d_growth d_dropout penalty mode seeking clusters precision
#              steps/call
DCGAN = defaults_row("ns", 50, 1e-4, 0.9, 0.999, 1.0, 1.0, 2.0, 0.3, "none", 0.0, 0, "auto", 1)
MLP = defaults_row("ns", 100, 2e-4, 0.5, 0.999, 1.0, 1.0, 0.5, 0.0, "none", 0.0, 0, "off", 10)
CGAN = defaults_row("rpgan", 28, 2e-4, 0.5, 0.999, 1.0, 1.0, 2.0, 0.0, "r1,r2", 0.0, 0, "auto", 1)
SELF_CGAN = defaults_row("rpgan", 17, 2e-4, 0.5, 0.999, 1.0, 1.0, 2.0, 0.0, "r1,r2", 0.0, 30, "auto", 1)
CONV = defaults_row("ns", 22, 2e-4, 0.5, 0.999, 1.0, 1.0, 2.0, 0.0, "r1", 0.0, 0, "auto", 1)
RESIZE = defaults_row("ns", 40, 2e-4, 0.5, 0.99, 0.5, 3.0, 2.0, 0.0, "r1", 0.0, 0, "auto", 1)
SELF_RESIZE = defaults_row("rpgan", 17, 5e-4, 0.5, 0.99, 0.5, 1.0, 8.0, 0.0, "r1,r2", 0.0, 50, "auto", 1)
# the cGAN networks' R1 + R2 every 16th critic step, labelled or self-conditioned, as StyleGAN2 runs R1
# (docs/results.md, "The lazy penalty's interval")
CGAN_EVERY = 16

# `tune`'s choices for the self-conditioned pairs (the default's 50 among them), and for the unconditional
# convolutional pairs whose D/G balance their defaults may have wrong
CLUSTER_CHOICES = (10, 20, 30, 50)
D_SCALE_CHOICES = (1.0, 2.0, 3.0)

_NETS = "gan_mnist.networks."
ARCHITECTURES = {
    # (the tutorial's pair is the yardstick of speed and quality, not a candidate: not searched)
    "dcgan": Architecture(_NETS + "dcgan:build_dcgan_generator", _NETS + "dcgan:build_dcgan_discriminator", False,
                          DCGAN, search=None,
                          about="the TensorFlow tutorial's: transposed convolutions, batch norm; D with dropout"),
    "mlp": Architecture(_NETS + "mlp:build_mlp_generator", _NETS + "mlp:build_mlp_discriminator", False, MLP,
                        speed={"steps_per_execution": 10},
                        about="the classic Keras GAN: fully connected, 1.5M + 0.5M weights, cheapest per image"),
    # (searched as self_cgan, its networks self-conditioned: the search is for unconditional generators)
    "cgan": Architecture(_NETS + "dcgan:build_cgan_generator", _NETS + "dcgan:build_cgan_discriminator", True, CGAN,
                         search=None, penalty_every=CGAN_EVERY,
                         about="conditional DCGAN: label embedding into G, label plane as D's second channel"),
    "self_cgan": Architecture(_NETS + "dcgan:build_cgan_generator", _NETS + "dcgan:build_cgan_discriminator", True,
                              SELF_CGAN, search={"clusters": CLUSTER_CHOICES}, penalty_every=CGAN_EVERY,
                              about=f"the cGAN's networks self-conditioned (Liu et al. 2020) on "
                                    f"{SELF_CGAN['clusters']} clusters of D's features instead of labels, "
                                    "unconditional (see --clusters); R3GAN's rpgan loss with R1 + R2, no dropout"),
    "conv": Architecture(_NETS + "dcgan:build_conv_generator", _NETS + "dcgan:build_conv_discriminator", False, CONV,
                         search={"d_scale": D_SCALE_CHOICES},
                         about="the conditional DCGAN's networks without labels (0.86 M + 0.21 M weights); D without "
                               "dropout, for gradient penalties"),
    "resize": Architecture(_NETS + "resize:build_resize_generator", _NETS + "resize:build_plain_discriminator",
                           False, RESIZE, search={"d_scale": D_SCALE_CHOICES},
                           about="resize + convolution upsampling (no checkerboards); D without batch norm or "
                                 "dropout, for gradient penalties"),
    # (searched as self_resize: the search is for unconditional generators)
    "resize_proj": Architecture(_NETS + "resize:build_resize_cgan_generator",
                                _NETS + "resize:build_projection_discriminator", True, RESIZE, search=None,
                                about="conditional 'resize' G with a projection discriminator (Miyato & Koyama "
                                      "2018)"),
    "self_resize": Architecture(_NETS + "resize:build_resize_cgan_generator",
                                _NETS + "resize:build_projection_discriminator", True, SELF_RESIZE,
                                search={"clusters": CLUSTER_CHOICES}, penalty_every=CGAN_EVERY,
                                about="the resize_proj networks (no transposed convolutions; a projection D) "
                                      f"self-conditioned as self_cgan is, on {SELF_RESIZE['clusters']} clusters; "
                                      "R3GAN's rpgan loss with R1 + R2"),
}


def default_every(spec: str | None, model: str | None = None) -> int:
    """How often the penalties of `spec` run by default: the interval architecture `model` sets for its own penalty
    (Architecture.penalty_every), else LAZY_INTERVAL when all are lazy, else every step (none: 1)."""
    arch = ARCHITECTURES.get(model)
    own = arch is not None and set(penalty_names(spec)) == set(penalty_names(arch.defaults["penalty"]))
    if own and arch.penalty_every is not None:
        return arch.penalty_every
    return LAZY_INTERVAL if all_lazy(spec) else 1

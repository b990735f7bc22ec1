"""The three tables a recipe is made from: architectures, losses and gradient penalties.

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
class Architecture:
    """A generator/discriminator pair: builders, Adam defaults and the speed options `bench` found to help."""

    generator: str  # "module:function" (latent_dim, width) -> keras.Model
    discriminator: str  # "module:function" (width, spectral_norm, dropout) -> keras.Model
    conditional: bool  # networks take (input, label); their builders take num_classes
    learning_rate: float  # Adam, both networks, unless the config says otherwise
    beta_1: float
    beta_2: float = 0.999
    epochs: int = 50  # a run's length when the config does not say: the budget its default recipe was tuned for
    defaults: dict = dataclasses.field(default_factory=dict)  # more TrainConfig fields it brings when left unset
    # (width, d_scale, d_dropout, mixed_precision, steps_per_execution; penalty when the config says "auto")
    speed: dict = dataclasses.field(default_factory=dict)  # TrainConfig fields that `bench` found faster here
    about: str = ""


@dataclasses.dataclass(frozen=True)
class Loss:
    """An adversarial loss: `d` and `g` are "module:function" names of (real_logits, fake_logits) -> scalar."""

    d: str
    g: str
    lipschitz: bool = False  # only meaningful with a Lipschitz critic: needs the 'gp' penalty or spectral norm
    about: str = ""


@dataclasses.dataclass(frozen=True)
class Penalty:
    """A gradient penalty on the discriminator: "module:function" (critic, real, fake, seed) -> scalar, times gamma."""

    fn: str
    gamma: float  # default weight
    about: str = ""


# the resize-conv recipe, shared by its unconditional and conditional (projection) architectures
# (d_scale 3: a 0.35 M-weight discriminator against the 0.35 M generator at width 0.5, not 37 k)
_RESIZE = dict(learning_rate=2e-4, beta_1=0.5, beta_2=0.99, epochs=40, speed={"mixed_precision": True},
               defaults={"width": 0.5, "d_scale": 3.0, "mixed_precision": True, "penalty": "r1"})

ARCHITECTURES = {
    "dcgan": Architecture("gan_mnist.models:build_dcgan_generator", "gan_mnist.models:build_dcgan_discriminator",
                          False, 1e-4, 0.9, epochs=50, speed={"mixed_precision": True}, defaults={"d_dropout": 0.3},
                          about="the TensorFlow tutorial's: transposed convolutions, batch norm; D with dropout"),
    "mlp": Architecture("gan_mnist.models:build_mlp_generator", "gan_mnist.models:build_mlp_discriminator",
                        False, 2e-4, 0.5, epochs=100, defaults={"steps_per_execution": 10},
                        speed={"steps_per_execution": 10},
                        about="the classic Keras GAN: fully connected, 1.5M + 0.5M weights, cheapest per image"),
    # 24 epochs: 11.5 tutorial-loop epochs (bench 2026-11-29: 20 epochs 9.6)
    "cgan": Architecture("gan_mnist.models:build_cgan_generator", "gan_mnist.models:build_cgan_discriminator",
                         True, 2e-4, 0.5, epochs=24,
                         defaults={"mixed_precision": True, "penalty": "r1", "d_dropout": 0.3},
                         speed={"mixed_precision": True},
                         about="conditional DCGAN: label embedding into G, label plane as D's second channel"),
    # 15 epochs + a clustering every 2: 7.9 tutorial-loop epochs (bench 2026-11-29: an epoch 0.48, a clustering of
    # 60,000 digits 13.5 s = 0.10)
    "self_cgan": Architecture("gan_mnist.models:build_cgan_generator", "gan_mnist.models:build_cgan_discriminator",
                              True, 2e-4, 0.5, epochs=15,
                              defaults={"clusters": 30, "mixed_precision": True, "penalty": "r1", "d_dropout": 0.3},
                              speed={"mixed_precision": True},
                              about="the cGAN's networks self-conditioned (Liu et al. 2020) on 30 clusters of "
                                    "D's features instead of labels: unconditional; see --clusters"),
    "conv": Architecture("gan_mnist.models:build_conv_generator", "gan_mnist.models:build_conv_discriminator",
                         False, 2e-4, 0.5, epochs=22, defaults={"mixed_precision": True, "penalty": "r1"},
                         speed={"mixed_precision": True},
                         about="the conditional DCGAN's networks without labels (1.2 M + 0.2 M weights); D without "
                               "dropout, for gradient penalties"),
    "resize": Architecture("gan_mnist.modern_models:build_resize_generator",
                           "gan_mnist.modern_models:build_plain_discriminator", False, **_RESIZE,
                           about="resize + convolution upsampling (no checkerboards); D without batch norm or "
                                 "dropout, for gradient penalties"),
    "resize_proj": Architecture("gan_mnist.modern_models:build_resize_cgan_generator",
                                "gan_mnist.modern_models:build_projection_discriminator", True, **_RESIZE,
                                about="conditional 'resize' G with a projection discriminator (Miyato & Koyama "
                                      "2018)"),
}

LOSSES = {
    "ns": Loss("gan_mnist.losses:discriminator_loss", "gan_mnist.losses:generator_loss",
               about="non-saturating (Goodfellow et al. 2014)"),
    "hinge": Loss("gan_mnist.losses:hinge_d", "gan_mnist.losses:hinge_g", about="hinge (Lim & Ye 2017; SAGAN)"),
    "lsgan": Loss("gan_mnist.losses:lsgan_d", "gan_mnist.losses:lsgan_g", about="least squares (Mao et al. 2017)"),
    "wgan": Loss("gan_mnist.losses:wgan_d", "gan_mnist.losses:wgan_g", lipschitz=True,
                 about="Wasserstein (Arjovsky et al. 2017); with --penalty gp and --n-critic 5 it is WGAN-GP"),
    "rpgan": Loss("gan_mnist.losses:rpgan_d", "gan_mnist.losses:rpgan_g",
                  about="relativistic pairing (Jolicoeur-Martineau 2019; R3GAN 2024)"),
}

def penalty_names(spec: str | None) -> tuple[str, ...]:
    """The PENALTIES entries a config's `penalty` names: "r1" -> ("r1",), "r1,r2" -> ("r1", "r2"), None -> ()."""
    return tuple(part.strip() for part in spec.split(",")) if spec else ()


def default_gamma(spec: str | None) -> float | None:
    """The weight the penalties of `spec` share by default; None when they have different defaults (or none)."""
    defaults = {PENALTIES[name].gamma for name in penalty_names(spec) if name in PENALTIES}
    return defaults.pop() if len(defaults) == 1 else None


PENALTIES = {
    "r1": Penalty("gan_mnist.penalties:r1", 0.05, about="zero-centred on real images, gamma/2 E|grad D(x)|^2"),
    "r2": Penalty("gan_mnist.penalties:r2", 0.05, about="zero-centred on fakes, gamma/2 E|grad D(G(z))|^2"),
    "gp": Penalty("gan_mnist.penalties:gradient_penalty", 10.0,
                  about="WGAN-GP: gamma E(|grad D(x_hat)| - 1)^2 on per-sample interpolates"),
}

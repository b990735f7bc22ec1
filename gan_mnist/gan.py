"""The GAN as a keras.Model: `compile(d_optimizer, g_optimizer)` then `fit()` on a dataset of real images."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from gan_mnist.losses import discriminator_loss, generator_loss
from gan_mnist.models import is_conditional


class GAN(keras.Model):
    """Trains `generator` (z -> image) against `discriminator` (image -> logit), one update of each per batch.

    Both networks are updated from the same forward pass, as in the TensorFlow DCGAN tutorial; each has
    its own optimizer, so neither is ever frozen by a `trainable` flag. A conditional pair (generator takes
    (z, label), discriminator (image, label)) trains on (images, labels) batches.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.conditional = is_conditional(generator)
        self.latent_dim = int(generator.inputs[0].shape[-1])
        # noise is drawn from a seeded, checkpointable generator, not from global state
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc")
        }

    def compile(self, d_optimizer, g_optimizer, d_loss_fn=discriminator_loss, g_loss_fn=generator_loss, **kwargs):
        """Set one optimizer per network and the two loss functions (logits -> scalar)."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_loss_fn = d_loss_fn
        self.g_loss_fn = g_loss_fn

    @property
    def metrics(self):
        # listed here so fit() resets them every epoch
        return list(self.trackers.values())

    def call(self, inputs, training: bool = False):
        """Generate images (B, 28, 28, 1) in [-1, 1] from noise (B, latent_dim), or [noise, labels (B,)]."""
        return self.generator(inputs, training=training)

    def build_optimizers(self) -> None:
        """Create both optimizers' slot variables now (restoring a checkpoint needs them to exist)."""
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def train_step(self, data):
        real_images, labels = data if self.conditional else (data, None)
        # the batch size comes from the data, so a short last batch meets as many fakes as it has reals
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        # a conditional GAN gives each fake the label of a real image in the batch: the data's class mix
        with_labels = (lambda x: [x, labels]) if self.conditional else (lambda x: x)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(with_labels(z), training=True)
            real_logits = self.discriminator(with_labels(real_images), training=True)
            fake_logits = self.discriminator(with_labels(fake_images), training=True)
            # under mixed precision the logits are bfloat16: take the losses in float32
            real_logits, fake_logits = ops.cast(real_logits, "float32"), ops.cast(fake_logits, "float32")
            g_loss = self.g_loss_fn(fake_logits)
            d_loss = self.d_loss_fn(real_logits, fake_logits)
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars, strict=True))

        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real_acc": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_fake_acc": ops.mean(ops.cast(fake_logits < 0, "float32")),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

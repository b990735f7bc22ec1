"""The GAN as a keras.Model: `compile(d_optimizer, g_optimizer, loss and penalty functions)` then `fit()`.

One batch of B real images is one training step: n_critic - 1 discriminator-only steps on the first slices of
the batch, then one joint step on the last slice that updates both networks from the same forward pass (the
TensorFlow DCGAN tutorial's step when n_critic = 1). The discriminator's loss is the adversarial loss plus
gamma x a gradient penalty (every `penalty_every` critic steps, weighted that many times: lazy regularisation);
the generator's, with a `mode_seeking` weight, also that times the mode-seeking term on the step's fakes; with a
`top_k` share below 1, its adversarial loss keeps only the fakes D rates most real (objectives.top_k).
After each generator update an exponential moving average of its weights is updated, when there is one.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from gan_mnist.ema import ema_beta, update_ema
from gan_mnist.networks import is_conditional
from gan_mnist.objectives.losses import discriminator_loss, generator_loss
from gan_mnist.objectives.mode_seeking import mode_seeking_loss
from gan_mnist.objectives.top_k import strongest, top_k_share


class GAN(keras.Model):
    """Trains `generator` (z -> image) against `discriminator` (image -> logit) with its own `train_step`.

    Each network has its own optimizer, so neither is ever frozen by a `trainable` flag. A conditional pair
    (generator takes (z, label), discriminator (image, label)) trains on (images, labels) batches.
    `ema_generator` (a frozen twin of the generator, see `ema.make_ema_copy`) is averaged with half-life
    `ema_half_life` images; it is then the `sampler`, the generator that frames, samples and scores use.
    `clusters` (a clustering.Clusters) self-conditions the pair: its pseudo-labels are the labels it trains on, and
    it makes the unconditional model users draw from.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, seed: int = 0,
                 ema_generator: keras.Model | None = None, ema_half_life: float = 10_000.0,
                 ema_rampup: float = 0.05, clusters=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.ema_generator = ema_generator
        self.ema_half_life, self.ema_rampup = ema_half_life, ema_rampup
        self.conditional = is_conditional(generator)  # the networks take labels (true ones, or clusters)
        self.clusters = clusters
        self.precision = None  # the run.precision.Precision build_gan built it in
        self.latent_dim = int(generator.inputs[0].shape[-1])
        # noise is drawn from a seeded, checkpointable generator, not from global state
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc", "d_penalty", "g_mode_seeking",
                                      "g_top_k", "skipped")}
        # both networks arrive built; without this, fit() under a tf.distribute strategy would try to build the
        # GAN by calling it on a batch of real images, which are not generator input
        self.built = True

    @property
    def sampler(self) -> keras.Model:
        """The generator to draw from: the EMA twin when there is one, else the trained generator (see `drawn`)."""
        return self.drawn(self.ema_generator if self.ema_generator is not None else self.generator)

    def drawn(self, generator: keras.Model) -> keras.Model:
        """`generator` (this GAN's raw or EMA one) as users draw from it: itself, or when self-conditioned the
        unconditional model of it that its clusters make (`Clusters.sampler`)."""
        return generator if self.clusters is None else self.clusters.sampler(generator)

    def compile(self, d_optimizer, g_optimizer, d_loss_fn=discriminator_loss, g_loss_fn=generator_loss,
                penalty_fn=None, gamma: float = 0.0, penalty_every: int = 1, n_critic: int = 1,
                mode_seeking: float = 0.0, top_k: float = 1.0, **kwargs):
        """One optimizer per network; losses (real_logits, fake_logits) -> scalar (see `losses`); an optional
        gradient penalty (critic, real, fake, seed) -> scalar (see `penalties`) weighted by gamma; the weight of
        the mode-seeking term in G's loss (see `objectives.mode_seeking`; 0: none); the share of fakes G's loss
        keeps once annealed (see `objectives.top_k`; 1: all)."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_loss_fn, self.g_loss_fn = d_loss_fn, g_loss_fn
        self.penalty_fn, self.gamma, self.penalty_every = penalty_fn, float(gamma), int(penalty_every)
        self.n_critic = int(n_critic)
        self.mode_seeking = float(mode_seeking)
        self.top_k = float(top_k)

    @property
    def loss_scaled(self) -> bool:
        """Whether the optimizers scale the losses (float16): they then skip steps whose gradients overflow."""
        return isinstance(self.d_optimizer, keras.optimizers.LossScaleOptimizer)

    @property
    def metrics(self):
        # listed here so fit() resets them every epoch; d_penalty only where there is a penalty, g_mode_seeking (the
        # term before its weight; g_loss includes it weighted) only where G has one, g_top_k (the share of fakes G's
        # loss kept) only under top-k, skipped (the share of optimizer updates a loss-scaled run skipped for
        # overflowing gradients) only where losses are scaled
        shown = {"d_penalty": self.penalty_fn is not None, "g_mode_seeking": self.mode_seeking > 0,
                 "g_top_k": self.top_k < 1.0, "skipped": self.loss_scaled}
        return [t for name, t in self.trackers.items() if shown.get(name, True)]

    def call(self, inputs, training: bool = False):
        """Generate images (B, 28, 28, 1) in [-1, 1] from noise (B, latent_dim), or [noise, labels (B,)]."""
        return self.generator(inputs, training=training)

    def build_optimizers(self) -> None:
        """Create both optimizers' slot variables now (restoring a checkpoint needs them to exist)."""
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def _replica_share(self, batch_size):
        """(noise (B, latent_dim), this replica's share of the global batch). One device: (its noise, 1.0).

        Under a tf.distribute strategy every replica draws the whole global batch's noise from the same seed
        and keeps its own rows, so N replicas use exactly the noise one device would (drawing per replica from
        the shared seed would give every replica the same noise).
        """
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator), 1.0
        sizes = context.all_gather(tf.reshape(batch_size, (1,)), axis=0)  # (replicas,): the split may be uneven
        start, total = tf.reduce_sum(sizes[: context.replica_id_in_sync_group]), tf.reduce_sum(sizes)
        z = keras.random.normal((total, self.latent_dim), seed=self.seed_generator)[start : start + batch_size]
        return z, tf.cast(batch_size, "float32") / tf.cast(total, "float32")

    def _with_labels(self, labels):
        return (lambda x: [x, labels]) if self.conditional else (lambda x: x)

    def _penalty(self, real, fake, labels):
        """gamma x the gradient penalty (0 without one); lazily every `penalty_every` critic steps, times that."""
        if self.penalty_fn is None:
            return 0.0
        with_labels = self._with_labels(labels)

        def critic(x):
            # inference mode: no dropout mask, and spectral norm's power iteration does not step again (it
            # would sync replicas inside the lazy penalty's tf.cond, which tf.distribute cannot do)
            return self.discriminator(with_labels(x), training=False)

        def weighted():
            return self.gamma * self.penalty_every * self.penalty_fn(critic, real, fake, self.seed_generator)

        if self.penalty_every == 1:
            return weighted()
        due = ops.equal(self.d_optimizer.iterations % self.penalty_every, 0)
        return tf.cond(due, weighted, lambda: tf.constant(0.0))

    def _step(self, real_images, labels, train_generator: bool):
        """One discriminator update on real images (b, 28, 28, 1) [and labels (b,)] against b fresh fakes; with
        `train_generator`, also the generator's (and its EMA's) from the same forward pass. Returns the step's
        losses and D accuracies, and b."""
        # the batch size comes from the data, so a short last batch meets as many fakes as it has reals
        batch_size = ops.shape(real_images)[0]
        z, share = self._replica_share(batch_size)
        global_batch = ops.cast(batch_size, "float32") / share  # under a strategy each replica holds `share` of it
        # a conditional GAN gives each fake the label of a real image in the batch: the data's class mix
        with_labels = self._with_labels(labels)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(with_labels(z), training=True)
            # under mixed precision the logits are 16-bit: take the losses in float32
            real_logits = ops.cast(self.discriminator(with_labels(real_images), training=True), "float32")
            fake_logits = ops.cast(self.discriminator(with_labels(fake_images), training=True), "float32")
            # only a generator step uses G's loss (train_step tracks the last, generator, step's values)
            spread = mode_seeking_loss(fake_images, z, labels) if self.mode_seeking and train_generator else 0.0
            kept, g_real, g_fake = 1.0, real_logits, fake_logits
            if self.top_k < 1.0 and train_generator:
                # the images seen: G steps so far x one whole train_step's global batch (n_critic slices)
                seen = ops.cast(self.g_optimizer.iterations, "float32") * self.n_critic * global_batch
                kept = top_k_share(seen, self.top_k)
                g_real, g_fake = strongest(real_logits, fake_logits, kept, labels)
            g_loss = self.g_loss_fn(g_real, g_fake) + self.mode_seeking * spread
            d_loss = self.d_loss_fn(real_logits, fake_logits)
            with g_tape.stop_recording():  # the penalty concerns D only
                penalty = self._penalty(real_images, fake_images, labels)
            # replicas' gradients are summed: weighting each replica's batch mean by its share of the global
            # batch makes the sum the gradient of the global batch mean, as on one device; under float16 the
            # optimizers scale the losses up (and the gradients back down), else scale_loss changes nothing
            g_scaled = self.g_optimizer.scale_loss(g_loss * share)
            d_scaled = self.d_optimizer.scale_loss((d_loss + penalty) * share)
        skipped = 0.0
        if train_generator:
            g_vars = self.generator.trainable_variables
            g_grads = g_tape.gradient(g_scaled, g_vars)
            self.g_optimizer.apply_gradients(zip(g_grads, g_vars, strict=True))
            skipped += self._skipped(self.g_optimizer, g_grads)
        d_vars = self.discriminator.trainable_variables
        d_grads = d_tape.gradient(d_scaled, d_vars)
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars, strict=True))
        skipped += self._skipped(self.d_optimizer, d_grads)
        if train_generator and self.ema_generator is not None:
            beta = ema_beta(self.g_optimizer.iterations, global_batch, self.ema_half_life, self.ema_rampup)
            update_ema(self.ema_generator, self.generator, beta)
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real_acc": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_fake_acc": ops.mean(ops.cast(fake_logits < 0, "float32")),
            "d_penalty": penalty,
            "g_mode_seeking": spread,
            "g_top_k": kept,
            "skipped": skipped,  # updates skipped in this step (0, 1 or 2)
        }, batch_size

    @staticmethod
    def _skipped(optimizer, grads):
        """1.0 when a loss-scaling optimizer skips this update (a gradient overflowed float16), else 0.0."""
        if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return 0.0
        return ops.cast(ops.logical_not(optimizer.check_finite(grads)), "float32")

    def train_step(self, data):
        real_images, labels = data if self.conditional else (data, None)
        total = ops.shape(real_images)[0]
        # n_critic equal slices (the config makes batch_size divisible and the dataset drops a ragged last batch):
        # the first n_critic - 1 update the discriminator alone, the last both networks
        skipped = 0.0
        for i in range(self.n_critic):
            lo, hi = i * total // self.n_critic, (i + 1) * total // self.n_critic
            values, batch_size = self._step(real_images[lo:hi], None if labels is None else labels[lo:hi],
                                            train_generator=i == self.n_critic - 1)
            skipped += values["skipped"]
        values["skipped"] = skipped / (self.n_critic + 1)  # of the batch's n_critic + 1 updates
        for tracker in self.metrics:
            # weighted by images, so the epoch means are per-image means however batches are split
            tracker.update_state(values[tracker.name], sample_weight=batch_size)
        results = {tracker.name: tracker.result() for tracker in self.metrics}
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras (3.15) averages scalars across workers with strategy.reduce(axis=0): give it an axis
            results = {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results

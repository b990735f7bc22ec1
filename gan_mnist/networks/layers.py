"""A batch normalization layer that trains through TensorFlow's fused kernel: same maths, fewer ops."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="gan_mnist")
class FusedBatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training pass is one `FusedBatchNormV3` op (input (B, ..., C)).

    Keras 3 builds batch norm from separate mean/variance/normalize ops (and, under mixed precision, casts the
    whole activation to float32 and back). The fused kernel does the same normalisation in one pass over the
    data and reads bfloat16 directly; measured here it halves the cost of the generators' norm layers (see
    docs/speed.md). Inference, and any option the kernel lacks, use the Keras implementation unchanged, so
    the layer keeps BatchNormalization's weights, config and saved format.
    """

    def _fusable(self, inputs) -> bool:
        return (self.axis in (-1, len(inputs.shape) - 1) and len(inputs.shape) in (2, 4) and self.center
                and self.scale and not self.renorm and not self.synchronized)

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and mask is None and self._fusable(inputs)):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        # the kernel wants NHWC: a (B, C) activation is normalised as (B, 1, 1, C)
        x = inputs if len(inputs.shape) == 4 else tf.reshape(inputs, (-1, 1, 1, channels))
        y, mean, variance, *_ = tf.compat.v1.nn.fused_batch_norm(
            tf.cast(x, self.compute_dtype), tf.cast(self.gamma, "float32"), tf.cast(self.beta, "float32"),
            epsilon=self.epsilon, data_format="NHWC", is_training=True)
        # the kernel reports the unbiased (n-1) batch variance; Keras tracks the biased one
        n = tf.cast(tf.size(x) // channels, "float32")
        variance = variance * (n - 1.0) / n
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return y if len(inputs.shape) == 4 else tf.reshape(y, tf.shape(inputs))


@keras.saving.register_keras_serializable(package="gan_mnist")
class FastDropout(layers.Dropout):
    """`keras.layers.Dropout` that draws half as many random numbers: each 32 random bits decide two units.

    Keras draws one float per unit; here each unit gets 16 random bits and is kept when they are at or above
    round(rate * 2**16), so the drop probability is `rate` to within 2**-17. Inference, `noise_shape` and
    rate 0 take Keras's path.
    """

    def call(self, inputs, training=False):
        if not (training and 0 < self.rate < 1 and self.noise_shape is None):
            return super().call(inputs, training=training)
        size = tf.size(inputs)
        seed = tf.cast(self.seed_generator.next(), "int32")
        # an odd-sized input gets one spare 16-bit draw, dropped after the bitcast
        bits = tf.random.stateless_uniform(((size + 1) // 2,), seed, minval=None, maxval=None, dtype=tf.uint32)
        bits = tf.reshape(tf.bitcast(bits, tf.uint16), (-1,))[:size]
        keep = tf.reshape(bits >= round(self.rate * 2**16), tf.shape(inputs))
        return tf.where(keep, inputs * tf.cast(1.0 / (1.0 - self.rate), inputs.dtype), tf.zeros_like(inputs))

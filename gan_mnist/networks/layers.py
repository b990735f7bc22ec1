"""Faster layers for training: each computes what a Keras layer (or two) computes, with the same weights, through
cheaper kernels; each is `Portable`, and `run.export.portable_copy` swaps them for Keras's own before a generator
is saved."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers


class Portable:
    """A training layer of ours that Keras's own `keras_class` computes at inference: `portable_layer()` builds that
    layer and `portable_weights()` gives its weights. By default the config and weights pass through unchanged (a
    subclass of the Keras layer that changes only its kernels); a layer of another form overrides both."""

    keras_class: type[keras.layers.Layer]

    def portable_layer(self) -> keras.layers.Layer:
        """A new, unbuilt `keras_class` layer configured to compute what this one computes."""
        return self.keras_class.from_config(self.get_config())

    def portable_weights(self) -> list[np.ndarray]:
        """This layer's weights in the form `portable_layer()` holds them."""
        return self.get_weights()


@keras.saving.register_keras_serializable(package="gan_mnist")
class FusedBatchNormalization(Portable, layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training pass is one `FusedBatchNormV3` op (input (B, ..., C)).

    Keras 3 builds batch norm from separate mean/variance/normalize ops (and, under mixed precision, casts the
    whole activation to float32 and back). The fused kernel does the same normalisation in one pass over the
    data and reads bfloat16 directly; measured here it halves the cost of the generators' norm layers (see
    docs/speed.md). Inference, and any option the kernel lacks, use the Keras implementation unchanged, so
    the layer keeps BatchNormalization's weights, config and saved format.
    """

    keras_class = layers.BatchNormalization

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
class FastDropout(Portable, layers.Dropout):
    """`keras.layers.Dropout` that draws half as many random numbers: each 32 random bits decide two units.

    Keras draws one float per unit; here each unit gets 16 random bits and is kept when they are at or above
    round(rate * 2**16), so the drop probability is `rate` to within 2**-17. Inference, `noise_shape` and
    rate 0 take Keras's path.
    """

    keras_class = layers.Dropout

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


def transposed_kernel(kernel):
    """The 4x4 kernel (4, 4, O, C) of a stride-2 transposed convolution that computes nearest-neighbour 2x
    upsampling followed by a `same` convolution with the 3x3 `kernel` (3, 3, C, O).

    After upsampling by repetition an output pixel's three rows of taps fall on two input rows: for even output
    rows the first tap on the row above, the other two on the row itself; for odd rows the first two on the row
    itself, the last on the row below. The taps that share an input pixel add up, per axis:
    [k2, k1 + k2, k0 + k1, k0] in the order the transposed convolution reads them.
    """
    def along(k, axis):
        k0, k1, k2 = tf.unstack(k, axis=axis)
        return tf.stack([k2, k1 + k2, k0 + k1, k0], axis=axis)

    return tf.transpose(along(along(kernel, 0), 1), (0, 1, 3, 2))


@keras.saving.register_keras_serializable(package="gan_mnist")
class ResizeConv2D(Portable, layers.Conv2D):
    """Nearest-neighbour 2x upsampling then a 3x3 `same` convolution: (B, H, W, C) -> (B, 2H, 2W, filters).

    `UpSampling2D(2)` followed by this layer's Conv2D parent, in one stride-2 transposed convolution whose 4x4 kernel
    is made from the 3x3 one (`transposed_kernel`): same weights, same function and gradients, 16 multiplications
    per input pixel and filter pair where the two layers do 36, and no upsampled map in memory. A resize-convolution
    generator's two upsampling layers train about twice as fast this way (docs/speed.md). Its portable form is
    Keras's Conv2DTranspose holding the 4x4 kernel: the op it trains with.
    """

    keras_class = layers.Conv2DTranspose

    def __init__(self, filters: int, kernel_size=3, padding="same", **kwargs):
        super().__init__(filters, kernel_size, padding=padding, **kwargs)
        plain = (self.kernel_size, self.strides, self.padding, self.dilation_rate, self.groups, self.data_format)
        if plain != ((3, 3), (1, 1), "same", (1, 1), 1, "channels_last"):
            raise ValueError("ResizeConv2D is a 3x3, stride-1, 'same', channels-last convolution after 2x "
                             f"upsampling; got kernel, strides, padding, dilation, groups, data format {plain}")

    def add_weight(self, *args, **kwargs):
        # the kernel is read as stored (float32) and combined before the cast to the compute dtype, so that a
        # 16-bit run rounds each combined tap once, as Keras's Conv2DTranspose holding that 4x4 kernel does
        if kwargs.get("name") == "kernel":
            kwargs["autocast"] = False
        return super().add_weight(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return batch, None if height is None else 2 * height, None if width is None else 2 * width, self.filters

    def convolution_op(self, inputs, kernel):
        shape = tf.shape(inputs)
        output_shape = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], self.filters])
        kernel = tf.cast(transposed_kernel(kernel), self.compute_dtype)
        return tf.nn.conv2d_transpose(inputs, kernel, output_shape, strides=2, padding="SAME")

    def portable_layer(self) -> keras.layers.Layer:
        """Keras's own Conv2DTranspose (4x4, stride 2, `same`) that computes this layer from `portable_weights`."""
        config = {key: value for key, value in self.get_config().items() if key != "groups"}
        return self.keras_class.from_config({**config, "kernel_size": (4, 4), "strides": (2, 2),
                                             "output_padding": None})

    def portable_weights(self) -> list[np.ndarray]:
        """This layer's weights for that Conv2DTranspose: the 4x4 kernel (4, 4, O, C), then the bias if any."""
        kernel, *bias = self.get_weights()
        return [np.asarray(transposed_kernel(kernel)), *bias]

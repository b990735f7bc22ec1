"""Spectral normalisation (Miyato et al. 2018) for the discriminator's Dense and Conv2D layers.

Why not `keras.layers.SpectralNormalization`: in Keras 3 (checked in 3.15) it writes W/sigma back into the
wrapped kernel on every training call and runs the layer on that variable, so the gradient never flows
through sigma(W) and each call re-normalises an already normalised kernel. Miyato et al. keep W as the trained
variable and differentiate through W/sigma(W) with the power-iteration vectors held constant; these layers do
that. One power iteration per training call updates the stored vector `sn_u`; inference reuses it unchanged.
"""

from __future__ import annotations

import keras
from keras import layers, ops


def _l2_normalize(x):
    return x / (ops.sqrt(ops.sum(ops.square(x))) + 1e-12)


class _SpectralNorm:
    """Mixin: `normalized_kernel(training)` = kernel / sigma, sigma the top singular value of the (n_in, n_out)
    matrix view of the kernel, estimated by power iteration on a persistent vector u (1, n_out)."""

    def build(self, input_shape):
        super().build(input_shape)  # the wrapped layer's kernel and bias, then the power-iteration vector
        n_out = self.kernel.shape[-1]
        # one copy across replicas: every replica computes the same update from the same (mirrored) kernel
        self.sn_u = self.add_weight(shape=(1, n_out), initializer=keras.initializers.RandomNormal(seed=0),
                                    trainable=False, name="sn_u", aggregation="only_first_replica")

    def normalized_kernel(self, training: bool):
        kernel = self.kernel
        w = ops.reshape(kernel, (-1, kernel.shape[-1]))  # (n_in, n_out)
        u = ops.cast(self.sn_u, w.dtype)
        v = _l2_normalize(ops.matmul(u, ops.transpose(w)))  # (1, n_in)
        if training:
            u = _l2_normalize(ops.matmul(v, w))  # (1, n_out)
            self.sn_u.assign(ops.cast(ops.stop_gradient(u), self.sn_u.dtype))
            v = _l2_normalize(ops.matmul(u, ops.transpose(w)))
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(v, w) * u)  # u^T W^T v: differentiable in W, u and v held constant
        return kernel / sigma


@keras.saving.register_keras_serializable(package="gan_mnist")
class SpectralDense(_SpectralNorm, layers.Dense):
    """`keras.layers.Dense` with a spectrally normalised kernel: (B, n_in) -> (B, units)."""

    def call(self, inputs, training=None):
        x = ops.matmul(inputs, self.normalized_kernel(bool(training)))
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x) if self.activation is not None else x


@keras.saving.register_keras_serializable(package="gan_mnist")
class SpectralConv2D(_SpectralNorm, layers.Conv2D):
    """`keras.layers.Conv2D` (channels last) with a spectrally normalised kernel, viewed as (k*k*c_in, filters)."""

    def call(self, inputs, training=None):
        outputs = self.convolution_op(inputs, self.normalized_kernel(bool(training)))
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, (1, 1, 1, self.filters)))
        return self.activation(outputs) if self.activation is not None else outputs


def dense(units: int, spectral_norm: bool = False, **kwargs) -> layers.Dense:
    """A Dense layer, spectrally normalised when asked."""
    return (SpectralDense if spectral_norm else layers.Dense)(units, **kwargs)


def conv2d(filters: int, kernel_size: int, spectral_norm: bool = False, **kwargs) -> layers.Conv2D:
    """A Conv2D layer, spectrally normalised when asked."""
    return (SpectralConv2D if spectral_norm else layers.Conv2D)(filters, kernel_size, **kwargs)

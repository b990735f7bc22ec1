"""Portable generators: the saved `generator.keras` uses only Keras's own layers, so it loads without gan_mnist.

Training uses faster layers of ours (gan_mnist.networks.layers): the maths of Keras layers through different kernels.
Each is `Portable`: it names the Keras layer that computes what it computes and gives that layer's weights (batch
norm and dropout: their Keras parents, weights copied; a resize-convolution: a Conv2DTranspose holding its kernel
made 4x4, the form it trains in). Before saving, every such layer is swapped for its Keras form, so
`keras.models.load_model("generator.keras")` works in any Python with Keras and draws the same digits.
"""

from __future__ import annotations

import keras

from gan_mnist.networks.layers import Portable


def _portable_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
    return layer.portable_layer() if isinstance(layer, Portable) else type(layer).from_config(layer.get_config())


def _portable_weights(layer: keras.layers.Layer) -> list:
    return layer.portable_weights() if isinstance(layer, Portable) else layer.get_weights()


def portable_copy(model: keras.Model) -> keras.Model:
    """A copy of functional `model` (nested models included) with every `Portable` layer replaced by its Keras
    form holding its weights; returns `model` itself when it has no such layer."""
    if not any(isinstance(layer, Portable) for layer in all_layers(model)):
        return model
    return _copy(model, _portable_layer, _portable_weights)


def float32_copy(model: keras.Model) -> keras.Model:
    """A copy of functional `model` (nested models included) that computes in float32, same weights (a model
    trained in mixed precision keeps float32 weights); `model` itself when it computes in float32 already."""
    if compute_dtypes(model) <= {"float32"}:
        return model
    return _copy(model, lambda layer: type(layer).from_config({**layer.get_config(), "dtype": "float32"}))


def _copy(model: keras.Model, clone_layer, layer_weights=None) -> keras.Model:
    """`model` cloned layer by layer through `clone_layer`; each layer's weights from `layer_weights(layer)` of its
    original (default: the same weights, copied whole)."""
    copy = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    if layer_weights is None:
        copy.set_weights(model.get_weights())
        return copy
    pairs = [(a, b) for a, b in zip(all_layers(model), all_layers(copy), strict=True) if not isinstance(a, keras.Model)]
    for original, cloned in pairs:
        cloned.set_weights(layer_weights(original))
    return copy


def compute_dtypes(model: keras.Model) -> set[str]:
    """The dtypes `model`'s layers compute in (its nested models' layers, not the models themselves), e.g.
    {"bfloat16", "float32"} for a mixed-precision generator whose output layer computes in float32."""
    return {layer.compute_dtype for layer in all_layers(model) if not isinstance(layer, keras.Model)}


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer of `model`, those of nested models included."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found += all_layers(layer)
    return found

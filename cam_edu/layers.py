"""Finding layers in Keras models, nested ones included, and cutting models at a layer.

Grad-CAM needs the activation of one layer together with the model's
pre-softmax output; CAM needs the input of the global pooling layer. This
module finds such layers by name or automatically (the last layer with a 4-D
output, as torch-cam does) and builds the sub-model that returns them.

>>> import keras
>>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"),
...                       keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
>>> last_spatial_layer(m)
'c'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

import keras
from keras import ops


def require_model(model, name: str = "model") -> keras.Model:
    """Check that ``model`` is a Keras model with a defined input; return it."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{name} must be a keras.Model; got {type(model).__name__}. "
            "Pass the model object itself, not its name or its predictions."
        )
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            f"{name} {model.name!r} has no defined input: a Sequential model only gets one "
            "once it knows its input shape. Start it with keras.Input, e.g. "
            "keras.Sequential([keras.Input(shape=(28, 28, 1)), ...]), or call it once on a "
            "batch first: model(images[:1])."
        )
    return model


def walk_layers(model: keras.Model) -> Iterator[tuple[keras.layers.Layer, tuple]]:
    """Yield ``(layer, parents)`` for every layer, depth first, nested models included.

    ``parents`` is the tuple of enclosing models, outermost first.
    """
    for layer in model.layers:
        yield layer, (model,)
        if isinstance(layer, keras.Model):
            for inner, parents in walk_layers(layer):
                yield inner, (model, *parents)


def _output_rank(layer) -> int | None:
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return None
    if isinstance(out, list | tuple):
        return None
    return len(out.shape)


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Names of the layers whose output is 4-D ``(N, H, W, K)``, in forward order.

    These are the layers Grad-CAM can explain. Nested models are searched too.
    """
    require_model(model)
    return [
        layer.name
        for layer, _ in walk_layers(model)
        if not isinstance(layer, keras.layers.InputLayer | keras.Model) and _output_rank(layer) == 4
    ]


def last_spatial_layer(model: keras.Model) -> str:
    """The name of the last layer with a 4-D output: the default target of Grad-CAM."""
    names = spatial_layer_names(model)
    if not names:
        raise ValueError(
            f"model {model.name!r} has no layer with a 4-D output (N, H, W, K), so there is "
            "no spatial activation to explain. CAM and Grad-CAM need a convolutional model."
        )
    return names[-1]


def find_layer(model: keras.Model, name: str) -> tuple[keras.layers.Layer, tuple]:
    """Return ``(layer, parents)`` for the layer called ``name``, searching nested models.

    A missing name raises ``ValueError`` listing the layers Grad-CAM could use.
    """
    if not isinstance(name, str):
        shown = repr(name)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise TypeError(
            f"layer must be a layer name (str); got {type(name).__name__} {shown}. Pass the "
            "name, e.g. layer='conv2' or layer=model.layers[3].name, or None for the last layer "
            "with a 4-D output."
        )
    for layer, parents in walk_layers(require_model(model)):
        if layer.name == name:
            return layer, parents
    candidates = spatial_layer_names(model)
    close = difflib.get_close_matches(name, candidates, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    shown = candidates if len(candidates) <= 12 else candidates[:4] + ["..."] + candidates[-6:]
    raise ValueError(
        f"model {model.name!r} has no layer named {name!r}.{hint} Layers with a 4-D output "
        f"(the ones CAM methods can use), in order: {', '.join(shown)}. "
        "Leave layer=None to use the last of them."
    )


class PreActivation(keras.layers.Layer):
    """The affine part ``x @ kernel + bias`` of a Dense layer, without its activation."""

    def __init__(self, dense: keras.layers.Dense, **kwargs):
        super().__init__(name=f"{dense.name}_pre_activation", **kwargs)
        self.dense = dense

    def call(self, x):
        z = ops.matmul(x, self.dense.kernel)
        return z + self.dense.bias if self.dense.use_bias else z


def _is_squashing(layer) -> bool:
    if isinstance(layer, keras.layers.Softmax):
        return True
    if isinstance(layer, keras.layers.Activation):
        return layer.activation.__name__ in ("softmax", "sigmoid")
    return False


def _dense_activation(layer) -> str | None:
    if isinstance(layer, keras.layers.Dense):
        return getattr(layer.activation, "__name__", None)
    return None


def outputs_logits(model: keras.Model) -> bool:
    """Whether ``model``'s output is logits: it does not end in a softmax or a sigmoid.

    Looks at the last layer, inside a nested last model too: a ``Softmax`` layer, an
    ``Activation("softmax" or "sigmoid")`` or a Dense layer with one of those
    activations squashes its input; anything else (``activation=None``, ``"linear"``,
    ``"relu"``) leaves logits.

    >>> outputs_logits(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    True
    >>> outputs_logits(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")]))
    False
    """
    layer = require_model(model).layers[-1]
    while isinstance(layer, keras.Model) and layer.layers:
        layer = layer.layers[-1]
    return not _is_squashing(layer) and _dense_activation(layer) not in ("softmax", "sigmoid")


def _is_linear_chain(model: keras.Model) -> bool:
    if isinstance(model, keras.Sequential):
        return True
    previous = None
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            previous = layer
            continue
        try:
            inp = layer.input
        except (AttributeError, ValueError):
            return False
        if isinstance(inp, list | tuple) or previous is None or inp is not previous.output:
            return False
        previous = layer
    return True


def _producer(tensor) -> tuple:
    """``(layer, input tensors)`` of the call that produced the symbolic ``tensor``."""
    history = tensor._keras_history
    node = history.operation._inbound_nodes[history.node_index]
    return history.operation, list(node.input_tensors)


def _logits_model(model: keras.Model) -> keras.Model:
    """``model`` itself, or a model on the same input returning its logits, if it squashes."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return model
    logits = logits_tensor(model)
    if logits is model.outputs[0]:
        return model
    return keras.Model(model.inputs[0], logits, name=f"{model.name}_logits")


def _apply_chain(model, x, target, strip):
    """Run ``model``'s layers on symbolic ``x``; return ``(activation, output)``.

    With ``strip``, the last layer's softmax or sigmoid is left out (also inside a
    nested last layer), so ``output`` is the logits.
    """
    layers = [la for la in model.layers if not isinstance(la, keras.layers.InputLayer)]
    activation = None
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        contains = isinstance(layer, keras.Model) and any(
            inner.name == target for inner, _ in walk_layers(layer)
        )
        if layer.name == target:
            x = layer(x)
            activation = x
        elif contains:
            activation, x = _apply_chain(layer, x, target, strip and last)
        elif last and strip and _is_squashing(layer):
            continue
        elif last and strip and _dense_activation(layer) not in (None, "linear"):
            x = PreActivation(layer)(x)
        elif last and strip and isinstance(layer, keras.Model):
            x = _logits_model(layer)(x)
        else:
            x = layer(x)
    return activation, x


def logits_tensor(model: keras.Model):
    """The symbolic pre-softmax (pre-sigmoid) output of a functional or Sequential model.

    Args:
        model: a built Keras model whose (first) output is ``(N, C)`` class scores.

    Returns:
        a symbolic tensor ``(N, C)`` in ``model``'s graph: the input of a final
        ``Softmax`` / ``Activation("softmax" or "sigmoid")`` layer, the affine part
        ``x @ kernel + bias`` of a final Dense layer with a non-linear activation, the
        same recursively when the last layer is a nested model (e.g. a
        ``Sequential([GlobalAveragePooling2D(), Dense(C, activation="softmax")])``
        head), or else the output itself.
    """
    output = model.outputs[0]
    layer, inputs = _producer(output)
    if len(inputs) != 1:
        return output
    if _is_squashing(layer):
        return inputs[0]
    if _dense_activation(layer) not in (None, "linear"):
        return PreActivation(layer)(inputs[0])
    if isinstance(layer, keras.Model):
        inner = _logits_model(layer)
        if inner is not layer:
            return inner(inputs[0])
    return output


def feeding_layer(model: keras.Model, layer: keras.layers.Layer):
    """The layer whose output is the input of ``layer`` in ``model``'s graph, or ``None``.

    Walks back from the model's (first) output along first inputs until it meets
    ``layer``, so it suits a model's head (global pooling -> Dense). Nested models
    are looked through both ways: a nested model that produces the input is entered
    (its own last layer is returned), and the input layer of a nested model is left
    for the tensor that feeds the nested model. Returns ``None`` if ``layer`` is not on
    that path or is fed directly by the model's input.
    """
    tensor, outer = model.outputs[0], []  # outer: inputs of the nested calls entered
    found = None
    for _ in range(10_000):  # a guard; every step moves one call towards the input
        op, inputs = _producer(tensor)
        if isinstance(op, keras.layers.InputLayer):
            if not outer:
                return None
            tensor = outer.pop()
        elif isinstance(op, keras.Model):
            if not inputs:
                return None
            outer.append(inputs[0])
            tensor = op.outputs[tensor._keras_history.tensor_index]
        elif found is not None:
            return op
        elif not inputs:
            return None
        else:
            if op is layer:
                found = op
            tensor = inputs[0]
    return None


def cut_model(model: keras.Model, layer: str | None = None, logits: bool = True) -> keras.Model:
    """A model returning ``[activation of layer, pre-activation logits]``.

    Args:
        model: a built Keras model; the layer may sit inside a nested model.
        layer: layer name, or ``None`` for the last layer with a 4-D output.
        logits: if ``False``, return only the activation.

    Returns:
        a ``keras.Model`` mapping the model's input ``(N, ...)`` to
        ``[(N, H, W, K), (N, C)]`` (or just ``(N, H, W, K)``).

    The logits are the model's output with a final softmax or sigmoid removed, so
    gradients do not saturate.
    """
    require_model(model)
    name = last_spatial_layer(model) if layer is None else layer
    target, parents = find_layer(model, name)
    if len(parents) == 1:
        outputs = [target.output, logits_tensor(model)] if logits else target.output
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        return keras.Model(inputs, outputs, name=f"{model.name}_cut_at_{name}")
    if not all(_is_linear_chain(p) for p in parents):
        raise ValueError(
            f"layer {name!r} sits in a nested model inside a branching (non-sequential) "
            "graph, which cam_edu cannot cut. Use a layer of the outer model, or rebuild the "
            "model functionally on the inner model's input."
        )
    x = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name="cut_input")
    activation, out = _apply_chain(model, x, name, strip=True)
    outputs = [activation, out] if logits else activation
    return keras.Model(x, outputs, name=f"{model.name}_cut_at_{name}")

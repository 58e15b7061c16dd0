"""Finding the tensor to explain in any Keras model, and the model that returns it.

CAM needs the tensor that the global pooling layer reads; Grad-CAM needs the
activation of one layer together with the model's pre-softmax output. This module
finds that tensor (by name, as a symbolic tensor, or automatically, after
torch-cam's ``locate_candidate_layer``) and builds the model that returns
``[activation (N, H, W, K), logits (N, C)]`` -- also when the layer sits inside a
nested model, e.g. a pretrained ``keras.applications`` base inside a
transfer-learning model, with branching graphs at any level. Only public Keras API
is used: ``model.layers``, ``layer.input`` / ``layer.output``,
``keras.models.clone_model(..., call_function=...)`` and ``keras.Model(...)``.

>>> import keras
>>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"),
...                       keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
>>> locate_target(m).name
'c'
>>> [tuple(t.shape) for t in split_model(m, locate_target(m)).outputs]
[(None, 6, 6, 2), (None, 3)]
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterator
from typing import NamedTuple

import keras
from keras import ops

from cam_edu.validate import user_stacklevel

GLOBAL_POOLING = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)
#: Layers that only move values around: a softmax before them still makes probabilities.
_RESHAPING = (keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dropout)


def _shown(names: list[str], limit: int = 12) -> str:
    """A list of names, cut in the middle when long (messages stay short)."""
    names = names if len(names) <= limit else [*names[:4], "...", *names[-6:]]
    return ", ".join(names)


def require_model(model, name: str = "model") -> keras.Model:
    """Check that ``model`` is a Keras model with a graph cam_edu can read; return it."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{name} must be a keras.Model; got {type(model).__name__}. "
            "Pass the model object itself, not its name or its predictions."
        )
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        return model
    if isinstance(model, keras.Sequential):
        raise ValueError(
            f"{name} {model.name!r} has no defined input: a Sequential model only gets one "
            "once it knows its input shape. Start it with keras.Input, e.g. "
            "keras.Sequential([keras.Input(shape=(28, 28, 1)), ...]), or call it once on a "
            "batch first: model(images[:1])."
        )
    raise ValueError(
        f"{name} {model.name!r} is a subclassed model ({type(model).__name__}): its call() "
        "is Python code with no graph of layers to read, so no layer's activation can be "
        "taken out. Rebuild it functionally (x = keras.Input(...); ...; "
        "keras.Model(x, outputs)), or pass a functional sub-model it uses."
    )


def output_index(model: keras.Model, output=None) -> int:
    """The index of the explained output: ``None`` (the first), an index, or a name.

    A model with several outputs (e.g. a class head and a box head) is explained at one of
    them; a wrong name or index raises ``ValueError`` listing the outputs.

    >>> i = keras.Input((4,))
    >>> heads = [keras.layers.Dense(3, name="cls")(i), keras.layers.Dense(4, name="box")(i)]
    >>> m = keras.Model(i, heads)
    >>> output_index(m), output_index(m, "box"), output_index(m, 1)
    (0, 1, 1)
    """
    if output is None:
        return 0
    names = output_names(model)
    count = len(model.outputs)
    listed = ", ".join(f"{k}: {n!r}" for k, n in enumerate(names)) or f"0..{count - 1}"
    if isinstance(output, str):
        if output in names:
            return names.index(output)
        close = difflib.get_close_matches(output, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"model {model.name!r} has no output named {output!r}.{hint} Its outputs are "
            f"({listed}); pass output= one of those names or indices."
        )
    if isinstance(output, bool) or not isinstance(output, int) or not 0 <= output < count:
        raise ValueError(
            f"output must be an output's name or an index in [0, {count - 1}] of model "
            f"{model.name!r} (outputs {listed}); got {output!r}."
        )
    return int(output)


def explained_output(model: keras.Model, output, who: str) -> int:
    """The index of the output ``who`` explains (:func:`output_index`), with a warning that
    names it when the model has several outputs and ``output`` is ``None``.

    The one place of the rule "the first output unless told": every method, curve and
    tool that runs a model calls it at its public door and passes the index on (an index
    passed on does not warn again).

    >>> i = keras.Input((4,))
    >>> m = keras.Model(i, [keras.layers.Dense(3, name="cls")(i), keras.layers.Dense(4)(i)])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     explained_output(m, None, "Grad-CAM"), explained_output(m, "cls", "Grad-CAM")
    (0, 0)
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    model '...' has 2 outputs; Grad-CAM explains the first, output 'cls' (1 of 2). Pass output= ...
    """
    index = output_index(model, output)
    if output is None and len(model.outputs) > 1:
        warnings.warn(
            f"model {model.name!r} has {len(model.outputs)} outputs; {who} explains the first, "
            f"{describe_output(model, 0)}. Pass output= (a name or an index) to choose.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return index


def output_names(model: keras.Model) -> list[str]:
    """The names of ``model``'s outputs, in the order of ``model.outputs``: the keys of a
    dict of outputs, else the layers' names (``model.output_names``)."""
    if len(model.outputs) > 1 and isinstance(model.output, dict):
        pairs = list(model.output.items())
        return [next((k for k, v in pairs if v is t), str(i)) for i, t in enumerate(model.outputs)]
    return list(getattr(model, "output_names", None) or [])


def describe_output(model: keras.Model, index: int) -> str:
    """``"output 'box' (1 of 2)"``: which output is explained, for messages and titles."""
    names = output_names(model)
    name = repr(names[index]) if index < len(names) else str(index)
    return f"output {name} ({index + 1} of {len(model.outputs)})"


def walk_layers(model: keras.Model) -> Iterator[tuple[keras.layers.Layer, tuple]]:
    """Yield ``(layer, parents)`` for every layer, depth first, nested models included.

    ``parents`` is the tuple of enclosing models, outermost first.
    """
    for layer in model.layers:
        yield layer, (model,)
        if isinstance(layer, keras.Model):
            for inner, parents in walk_layers(layer):
                yield inner, (model, *parents)


def _output_shape(layer) -> tuple | None:
    """The shape of ``layer``'s (single) output, or ``None`` if it has none or several."""
    try:
        out = layer.outputs if isinstance(layer, keras.Model) else layer.output
    except (AttributeError, ValueError):
        return None
    if isinstance(out, list | tuple):
        if len(out) != 1:
            return None
        out = out[0]
    return tuple(out.shape)


def _is_spatial(shape) -> bool:
    """A 4-D shape ``(N, H, W, K)`` with more than one position (unknown sizes count as many)."""
    return shape is not None and len(shape) == 4 and (shape[1] or 2) * (shape[2] or 2) > 1


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Names of the layers whose output is 4-D ``(N, H, W, K)``, in forward order.

    These are the layers Grad-CAM can explain. Nested models are searched too, and a
    nested model with a 4-D output (a ``keras.applications`` base) is one of them.
    """
    require_model(model)
    return [
        layer.name
        for layer, _ in walk_layers(model)
        if not isinstance(layer, keras.layers.InputLayer)
        and (shape := _output_shape(layer)) is not None
        and len(shape) == 4
    ]


class Target(NamedTuple):
    """The tensor to explain: the output (or input) of one call of a layer.

    Attributes:
        layer: the layer (or nested model) whose call gives the tensor.
        parents: the models enclosing ``layer``, outermost first.
        kind: ``"output"`` or ``"input"`` (the tensor the layer reads, e.g. the
            input of a global pooling layer, also when no named layer makes it).
        name: how the target is named in titles and messages.
    """

    layer: keras.layers.Layer
    parents: tuple
    kind: str
    name: str


def _input_name(layer, parents: tuple) -> str:
    """A name for the tensor ``layer`` reads: the layer (or nested model) that makes it,
    when a chain or the enclosing model's input tells; else ``"input of <layer>"``."""
    container = parents[-1]
    siblings = _computing_layers(container)
    at = siblings.index(layer)
    if isinstance(container, keras.Sequential) and at > 0:
        return siblings[at - 1].name
    if len(parents) > 1 and layer.input is container.inputs[0]:
        return _input_name(container, parents[:-1])  # it reads what feeds the nested model
    return _producer_in_config(container, layer.name) or f"input of {layer.name}"


def _first_history(node):
    """The first ``keras_history`` ``[layer name, node, tensor]`` in a serialized call."""
    if isinstance(node, dict):
        if "keras_history" in node:
            return node["keras_history"]
        node = list(node.values())
    if isinstance(node, list | tuple):
        for item in node:
            found = _first_history(item)
            if found:
                return found
    return None


def _producer_in_config(container: keras.Model, name: str) -> str | None:
    """The name of the layer (or nested model) whose output ``name`` reads, from the
    model's serialized graph (``get_config()``), or ``None`` if it does not say."""
    try:
        config = container.get_config()
    except Exception:  # noqa: BLE001 - a layer without get_config: only the name is lost
        return None
    for entry in config.get("layers", []):
        if entry.get("name") == name and entry.get("inbound_nodes"):
            history = _first_history(entry["inbound_nodes"][0])
            return history[0] if history else None
    return None


def _tensor_target(model: keras.Model, tensor) -> Target:
    """The target of a symbolic ``tensor``: the output of the layer that makes it, or
    the input of a layer that reads it (e.g. when a nested model or an ``add`` makes it)."""
    for layer, parents in walk_layers(model):
        if isinstance(layer, keras.layers.InputLayer | keras.Model):
            continue
        if layer.output is tensor:
            return Target(layer, parents, "output", layer.name)
        if layer.input is tensor:
            return Target(layer, parents, "input", _input_name(layer, parents))
    raise ValueError(
        f"the tensor {tensor.name!r} {tuple(tensor.shape)} is not the input or output of a "
        f"layer of model {model.name!r}. Pass a layer name, or a tensor of this model such as "
        "model.get_layer('avg_pool').input."
    )


def _pooling_target(model: keras.Model) -> Target | None:
    """The input of the last global pooling layer, if it is a spatial map."""
    pools = [
        layer
        for layer, _ in walk_layers(model)
        if isinstance(layer, GLOBAL_POOLING) and _is_spatial(tuple(layer.input.shape))
    ]
    return _tensor_target(model, pools[-1].input) if pools else None


def locate_target(model: keras.Model) -> Target:
    """The default tensor of CAM and Grad-CAM: what the global pooling reads.

    That is the tensor the classifier's spatial evidence is pooled from (torch-cam's
    ``locate_candidate_layer`` rule). It may be the output of a named layer, of a
    nested base model, or of an operation such as the residual ``add`` that ends a
    ConvNeXt. A model without global pooling gets its last layer with a 4-D output
    of more than one position, so never a ``1 x 1`` map after the pooling.

    Raises:
        ValueError: if the model has no spatial tensor at all.
    """
    require_model(model)
    target = _pooling_target(model)
    if target is not None:
        return target
    spatial = [
        (layer, parents)
        for layer, parents in walk_layers(model)
        if not isinstance(layer, keras.layers.InputLayer | keras.Model)
        and _is_spatial(_output_shape(layer))
    ]
    if not spatial:
        raise ValueError(
            f"model {model.name!r} has no layer with a 4-D output (N, H, W, K) of more than "
            "one position, so there is no spatial activation to explain. CAM and Grad-CAM "
            "need a convolutional model."
        )
    layer, parents = spatial[-1]
    return Target(layer, parents, "output", layer.name)


def last_spatial_layer(model: keras.Model) -> str:
    """The name of the default target (see :func:`locate_target`)."""
    return locate_target(model).name


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
    raise ValueError(
        f"model {model.name!r} has no layer named {name!r}.{hint} Layers with a 4-D output "
        f"(the ones CAM methods can use), in order: {_shown(candidates)}. "
        "Leave layer=None to use the last of them."
    )


def find_target(model: keras.Model, layer=None) -> Target:
    """The tensor to explain: ``None`` (the default, :func:`locate_target`), a layer name
    (a layer or a nested model, at any depth), or a symbolic tensor of the model such as
    ``model.get_layer("avg_pool").input``.

    Raises:
        ValueError: the name is unknown (close names are suggested) or its output is
            not 4-D ``(N, H, W, K)``.
    """
    require_model(model)
    if layer is None:
        return locate_target(model)
    if isinstance(layer, keras.KerasTensor):
        target = _tensor_target(model, layer)
        shape = tuple(layer.shape)
    else:
        found, parents = find_layer(model, layer)
        target = Target(found, parents, "output", layer)
        shape = _output_shape(found)
    if shape is None or len(shape) != 4:
        raise ValueError(
            f"layer {target.name!r} has no 4-D output (N, H, W, K) (its output shape is "
            f"{shape}), so it has no spatial map to explain. Choose one of: "
            f"{_shown(spatial_layer_names(model))} (layer=None picks the tensor the global "
            "pooling reads)."
        )
    return target


class PreActivation(keras.layers.Layer):
    """The affine part ``x @ kernel + bias`` of a Dense layer, without its activation."""

    def __init__(self, dense: keras.layers.Dense, **kwargs):
        super().__init__(name=f"{dense.name}_pre_activation", **kwargs)
        self.dense = dense

    def call(self, x):
        z = ops.matmul(x, self.dense.kernel)
        return z + self.dense.bias if self.dense.use_bias else z


def _activation_name(layer) -> str | None:
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None)


def _squashes(layer) -> bool:
    return _activation_name(layer) in ("softmax", "sigmoid")


def _computing_layers(model: keras.Model) -> list:
    return [la for la in model.layers if not isinstance(la, keras.layers.InputLayer)]


def _final_layer(model: keras.Model, output: int = 0):
    """The layer that makes ``model``'s output ``output``, or ``None`` if not a layer."""
    layers = _computing_layers(model)
    if not layers:
        return None
    if len(model.outputs) > 1:
        wanted = model.outputs[output]
        return next((la for la in layers if _makes(la, wanted)), None)
    last = layers[-1]
    if isinstance(model, keras.Sequential) or isinstance(last, keras.Model):
        return last
    return last if last.output is model.outputs[0] else None


def _makes(layer, tensor) -> bool:
    """Whether ``tensor`` is the output (or one of the outputs) of ``layer``'s call."""
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return False
    return any(t is tensor for t in (out if isinstance(out, list | tuple) else [out]))


def outputs_logits(model: keras.Model) -> bool:
    """Whether ``model``'s output is logits: it does not end in a softmax or a sigmoid.

    Looks at the last layer, inside a nested last model too: a ``Softmax`` layer, an
    ``Activation("softmax" or "sigmoid")`` or a layer with one of those activations
    squashes its input; anything else (``activation=None``, ``"linear"``,
    ``"relu"``) leaves logits.

    >>> outputs_logits(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    True
    >>> outputs_logits(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")]))
    False
    """
    layer = _final_layer(require_model(model))
    while isinstance(layer, keras.Model):
        layer = _final_layer(layer)
    return layer is None or not _squashes(layer)


def _refuse_hidden_softmax(model: keras.Model) -> None:
    """Refuse a head that squashes before a reshaping layer: its output is probabilities."""
    if len(model.outputs) > 1:
        return  # the heads are not in a row: no one tail to read
    layers = _computing_layers(model)
    tail = []
    for layer in reversed(layers):
        if not isinstance(layer, _RESHAPING):
            break
        tail.append(layer)
    if tail and len(tail) < len(layers) and _squashes(layer) and not isinstance(layer, keras.Model):
        after = " -> ".join(type(la).__name__ for la in reversed(tail))
        raise ValueError(
            f"model {model.name!r} outputs probabilities: layer {layer.name!r} "
            f"({type(layer).__name__}, activation={_activation_name(layer)!r}) is followed "
            f"only by {after}. CAM methods need the pre-softmax scores and cannot take the "
            f"activation out of a {type(layer).__name__}. Rebuild the head with "
            "activation=None there and a keras.layers.Softmax() as the last layer."
        )


def _logits_call(layer, *args, **kwargs):
    """Call the final ``layer`` without its softmax or sigmoid."""
    if isinstance(layer, keras.Model):
        return _rebuild(layer, None, strip=True)(*args, **kwargs)
    if isinstance(layer, keras.layers.Softmax | keras.layers.Activation) and _squashes(layer):
        return args[0]
    if isinstance(layer, keras.layers.Dense) and _activation_name(layer) not in (None, "linear"):
        return PreActivation(layer)(args[0])  # the class scores are the affine part
    return layer(*args, **kwargs)


def _run(model: keras.Model, call, output: int = 0) -> tuple:
    """Rebuild ``model``'s graph on new inputs, calling every layer through ``call``;
    return the inputs and the output ``output``."""
    if isinstance(model, keras.Sequential):
        inputs = keras.Input(batch_shape=tuple(model.inputs[0].shape), dtype=model.inputs[0].dtype)
        x = inputs
        for layer in _computing_layers(model):
            x = call(layer, x)
        return inputs, x
    clone = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    inputs = clone.inputs[0] if len(clone.inputs) == 1 else clone.inputs
    return inputs, clone.outputs[output]


def _rebuild(
    model: keras.Model, target: Target | None, strip: bool, output: int = 0
) -> keras.Model:
    """``model`` on its own input, returning ``[activation, output]`` (or just ``output``).

    ``target.parents`` starts at ``model``; a target in a nested model is reached by
    rebuilding that model in turn, inside the call of this one. With ``strip`` the
    final softmax or sigmoid is left out, so the output is the logits. ``output`` is the
    index of the returned output of a model with several (nested models: their first).
    """
    if strip:
        _refuse_hidden_softmax(model)
    final = _final_layer(model, output) if strip else None
    child = target.parents[1] if target is not None and len(target.parents) > 1 else None
    captured = []

    def call(layer, *args, **kwargs):
        is_final = strip and layer is final
        if child is not None and layer is child:
            inner = Target(target.layer, target.parents[1:], target.kind, target.name)
            activation, out = _rebuild(child, inner, is_final)(*args, **kwargs)
            captured.append(activation)
            return out
        out = _logits_call(layer, *args, **kwargs) if is_final else layer(*args, **kwargs)
        if target is not None and child is None and layer is target.layer:
            captured.append(args[0] if target.kind == "input" else out)
        return out

    inputs, result = _run(model, call, output)
    if target is None:
        return keras.Model(inputs, result, name=f"{model.name}_logits")
    if len(captured) != 1:
        raise ValueError(
            f"layer {target.name!r} is called {len(captured)} times in model {model.name!r}; "
            "cam_edu explains a layer that is called exactly once. Name another layer."
        )
    return keras.Model(inputs, [captured[0], result], name=f"{model.name}_at_{target.layer.name}")


def split_model(
    model: keras.Model, target: Target, logits: bool = True, output: int = 0
) -> keras.Model:
    """A model on ``model``'s input returning ``[activation (N, H, W, K), output (N, C)]``.

    Args:
        model: a functional or Sequential Keras model; the target may sit in a nested
            model at any depth, and every graph on the way may branch.
        target: from :func:`find_target`.
        logits: if ``True``, the output is the pre-softmax (pre-sigmoid) logits: a final
            ``Softmax`` or softmax/sigmoid ``Activation`` layer is left out, a final
            ``Dense`` with any activation becomes its affine part ``x @ kernel + bias``,
            also inside a nested last model.
        output: the index of the explained output (:func:`output_index`).

    Raises:
        ValueError: the output is probabilities that cannot be undone (a softmax inside
            a convolution before ``Flatten``), or the layer is called several times.
    """
    return _rebuild(require_model(model), target, strip=logits, output=output)


def logits_model(model: keras.Model, output=None) -> keras.Model:
    """``model`` with its final softmax or sigmoid left out: input ``(N, ...)`` to logits
    ``(N, C)`` of one output (``None``: the first; a name or an index), on the same layers
    (no weights are copied).

    Raises:
        ValueError: the output is probabilities that cannot be undone (a softmax inside
            a convolution before ``Flatten``).
    """
    require_model(model)
    index = explained_output(model, output, "logits_model")
    return _rebuild(model, None, strip=True, output=index)


def cut_model(model: keras.Model, layer=None, logits: bool = True, output=None) -> keras.Model:
    """A model returning ``[activation of layer, pre-activation logits]``.

    Args:
        model: a built Keras model; the layer may sit inside a nested model.
        layer: a layer name, a symbolic tensor of the model, or ``None`` for the
            tensor the global pooling reads (see :func:`find_target`).
        logits: if ``False``, return only the activation.
        output: the explained output of a model with several (name or index).

    Returns:
        a ``keras.Model`` mapping the model's input ``(N, ...)`` to
        ``[(N, H, W, K), (N, C)]`` (or just ``(N, H, W, K)``).
    """
    index = explained_output(require_model(model), output, "cut_model")
    split = split_model(model, find_target(model, layer), logits=True, output=index)
    if logits:
        return split
    return keras.Model(split.inputs[0], split.outputs[0], name=split.name)

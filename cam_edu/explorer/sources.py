"""Where the explorer's maps come from: any method of the registry, one map at a time.

A :class:`MapSource` computes the map of one image and one class with a method of
:data:`cam_edu.methods.METHODS` and keeps it. What differs between methods is read from
the registry, never from a method's name: a channel-weight method (``explainer``) runs the
model once for every image when the source is made (CAM then needs no further model call:
a map is ``A[i] @ w[:, c]``); a ``slow`` one says what it computes while it runs.

>>> import numpy as np
>>> from cam_edu.course.models import build_gap_cnn
>>> source = MapSource(build_gap_cnn(), np.zeros((2, 28, 28, 1), "float32"), "cam")
>>> source.heatmap(1, 3).shape, source.unit, source.logits.shape
((7, 7), 'feature cell', (2, 10))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cam_edu.methods import METHODS
from cam_edu.perturbation import ClassScores

BATCH = 64  # images per model call when a source is made


class MapSource:
    """The maps of one method for a batch of checked images ``x`` ``(N, H, W, ch)``.

    Args:
        model: the explained Keras model.
        x: checked model inputs.
        key: a key of :data:`cam_edu.methods.METHODS`.
        layer: the explained layer, for the methods that take one.
        notify: called with what is being computed before a slow map, and ``""`` after.
        output: the explained output's index (:func:`cam_edu.layers.explained_output`).

    Attributes:
        method: the registry's :class:`cam_edu.methods.Method`.
        logits: ``(N, C)`` of the images.
        binary: a one-unit sigmoid head counted as two classes.
        features: the explained layer's activations ``(N, h, w, K)``, or ``None`` for a
            method on the input pixels.
        map_shape: ``(h, w)`` of a map; ``unit``: ``"feature cell"`` or ``"pixel"``.
        layer: the explained tensor's name, or ``None``.
    """

    def __init__(self, model, x: np.ndarray, key: str, layer=None, notify=None, output: int = 0):
        self.method = METHODS[key]
        self.model, self.x, self.output = model, x, output
        self.notify: Callable[[str], None] = notify or (lambda text: None)
        self.options = dict(self.method.interactive or {})
        self.layer = layer if self.method.uses_layer else None
        self._maps: dict[tuple[int, int], np.ndarray] = {}
        if self.method.explainer is not None:
            self.explainer = self.method.explainer(model, self.layer, output)
            parts = [
                self.explainer.engine.forward(x[i : i + BATCH]) for i in range(0, len(x), BATCH)
            ]
            self.features = np.concatenate([a for a, _ in parts])
            self.logits = np.concatenate([z for _, z in parts])
            self.binary = self.explainer.engine.binary
            self.layer = self.explainer.layer
            self.map_shape, self.unit = self.features.shape[1:3], "feature cell"
        else:
            self.explainer = None
            scores = ClassScores(model, output=output)
            self.logits, self.binary = scores.logits(x), scores.binary
            self.features = None
            self.map_shape, self.unit = x.shape[1:3], "pixel"

    def heatmap(self, i: int, c: int) -> np.ndarray:
        """The raw map ``(h, w)`` of image ``i`` for class ``c``, computed once."""
        if (i, c) not in self._maps:
            if self.method.slow:
                self.notify(
                    f"<i>Computing the {self.method.display_name} map of image {i}, class {c} "
                    "(it runs the model hundreds of times; kept once computed)...</i>"
                )
            try:
                maps = self._compute(i, c)
            finally:
                if self.method.slow:
                    self.notify("")
            self._maps[(i, c)] = np.asarray(maps[0], np.float32)
        return self._maps[(i, c)]

    def _compute(self, i: int, c: int) -> np.ndarray:
        x = self.x[i : i + 1]
        if self.explainer is None:
            return self.method.compute(self.model, x, c, output=self.output, **self.options)[0]
        # a method without gradients reuses the activations computed when the source was made
        kept = (self.features[i : i + 1], self.logits[i : i + 1])
        forward = None if self.explainer.needs_gradients else kept
        return self.explainer.explain(x, c, forward)[0]

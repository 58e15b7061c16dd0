"""Every map method behind one call: ``METHODS[name](model, images, class_index, layer)``.

The one registry of map methods: the faithfulness comparison, the randomization check and
the explorer all read it, and none of them names a method in its code. Each entry gives
``(maps (N, h, w), logits (N, C))`` for the same call; ``layer`` is passed on only to the
methods that explain a layer (Grad-CAM, Grad-CAM++, Score-CAM); CAM uses the model's
pooling -> Dense head, occlusion and LIME the input pixels. Calling an entry checks the
images (a public door); :meth:`Method.compute` takes images checked once before, for the
tools that run several methods on one batch.

>>> [name for name, m in METHODS.items() if m.slow]
['scorecam', 'occlusion', 'lime']
>>> [name for name, m in METHODS.items() if m.signed]
['cam', 'occlusion', 'lime']
>>> [name for name, m in METHODS.items() if m.needs_cam_head]
['cam']
>>> METHODS["gradcam++"].display_name
'Grad-CAM++'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from cam_edu.cam import CAM, compute_cam
from cam_edu.gradcam import GradCAM, GradCAMPlusPlus, grad_cam, grad_cam_plus_plus
from cam_edu.lime_maps import fit_lime, grid_segmentation, lime_map
from cam_edu.perturbation import ScoreCAM, occlude, occlusion_map, score_cam


class Method(NamedTuple):
    """One map method of the registry.

    Attributes:
        function: the public function, e.g. :func:`cam_edu.gradcam.grad_cam`.
        display_name: its name for people, e.g. ``"Grad-CAM++"``.
        slow: it runs the model many times per image (Score-CAM and the perturbation
            methods): an interface computes its maps one at a time, on demand.
        uses_layer: it takes a ``layer`` argument.
        signed: its map has a meaningful sign (evidence for and against: CAM, occlusion,
            LIME), drawn on a diverging colormap centred at 0; the others are ReLU'd.
        explainer: the :class:`cam_edu.channels.ChannelWeightMethod` class behind it, or
            ``None`` (occlusion, LIME): an interface builds it once per model and layer.
        checked: for a method without an ``explainer``, the function on checked images
            ``fn(model, x, class_index, output=index, **options)``
            (:func:`cam_edu.perturbation.occlude`, :func:`cam_edu.lime_maps.fit_lime`).
        interactive: keyword arguments for one map at a time in an interactive tool
            (LIME: fewer samples and a grid of superpixels that fits small images).
        needs_cam_head: it reads a global pooling -> Dense head (CAM): a menu offers it
            only for a model that has one.
    """

    function: Callable
    display_name: str
    slow: bool
    uses_layer: bool
    signed: bool
    explainer: type | None = None
    checked: Callable | None = None
    interactive: dict | None = None
    needs_cam_head: bool = False

    def __call__(
        self, model, images, class_index=None, layer: str | None = None, output=None, **kwargs
    ):
        """``(maps (N, h, w), logits (N, C))``; ``layer`` is ignored if not ``uses_layer``."""
        if self.uses_layer:
            kwargs["layer"] = layer
        return self.function(model, images, class_index=class_index, output=output, **kwargs)

    def compute(
        self, model, x: np.ndarray, class_index=None, layer=None, output: int = 0, **kwargs
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(maps (N, h, w), logits (N, C))`` of checked images ``x`` ``(N, H, W, ch)``
        (:func:`cam_edu.inputs.as_model_images`) at output index ``output``; ``kwargs``:
        the method's options (``batch_size``, ``patch``, ``num_samples``...)."""
        layer = layer if self.uses_layer else None
        if self.explainer is not None:
            return self.explainer(model, layer, output, **kwargs).explain(x, class_index)
        if self.uses_layer:
            kwargs["layer"] = layer
        return self.checked(model, x, class_index, output=output, **kwargs)


METHODS: dict[str, Method] = {
    "cam": Method(
        compute_cam,
        "CAM",
        slow=False,
        uses_layer=False,
        signed=True,
        explainer=CAM,
        needs_cam_head=True,
    ),
    "gradcam": Method(
        grad_cam, "Grad-CAM", slow=False, uses_layer=True, signed=False, explainer=GradCAM
    ),
    "gradcam++": Method(
        grad_cam_plus_plus,
        "Grad-CAM++",
        slow=False,
        uses_layer=True,
        signed=False,
        explainer=GradCAMPlusPlus,
    ),
    "scorecam": Method(
        score_cam, "Score-CAM", slow=True, uses_layer=True, signed=False, explainer=ScoreCAM
    ),
    "occlusion": Method(
        occlusion_map, "Occlusion", slow=True, uses_layer=False, signed=True, checked=occlude
    ),
    "lime": Method(
        lime_map,
        "LIME",
        slow=True,
        uses_layer=False,
        signed=True,
        checked=fit_lime,
        interactive={"num_samples": 300, "segmentation": grid_segmentation(8)},
    ),
}


def get_method(method) -> Method:
    """The :class:`Method` of a registry name, or of a function with
    :func:`cam_edu.gradcam.grad_cam`'s signature ``fn(model, images, class_index=None,
    layer=None) -> (maps, logits)`` (it gets the layer, not ``output=``).

    >>> get_method("cam").display_name, get_method(len).display_name
    ('CAM', 'len')
    """
    if isinstance(method, Method):
        return method
    if callable(method):

        def checked(model, x, class_index=None, output=0, **kwargs):
            return method(model, x, class_index=class_index, **kwargs)

        name = getattr(method, "__name__", repr(method))
        return Method(method, name, slow=False, uses_layer=True, signed=False, checked=checked)
    if method not in METHODS:
        raise ValueError(
            f"method must be one of {list(METHODS)} or a function "
            f"fn(model, images, class_index=None, layer=None) -> (maps, logits); got {method!r}."
        )
    return METHODS[method]


def method_name(method) -> str:
    """How a method is named in tables: its display name, or a function's ``__name__``.

    >>> method_name("gradcam++"), method_name(len)
    ('Grad-CAM++', 'len')
    """
    return get_method(method).display_name

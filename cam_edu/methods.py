"""Every map method behind one call: ``METHODS[name](model, images, class_index, layer)``.

The one registry of map methods: the faithfulness comparison, the randomization check and
the explorer all read it, and none of them names a method in its code. Each entry gives
``(maps (N, h, w), logits (N, C))`` for the same call; ``layer`` is passed on only to the
methods that explain a layer (Grad-CAM, Grad-CAM++, Score-CAM); CAM uses the model's
pooling -> Dense head, occlusion and LIME the input pixels.

>>> [name for name, m in METHODS.items() if m.slow]
['scorecam', 'occlusion', 'lime']
>>> [name for name, m in METHODS.items() if m.signed]
['cam', 'occlusion', 'lime']
>>> METHODS["gradcam++"].display_name
'Grad-CAM++'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from cam_edu.cam import CAM, compute_cam
from cam_edu.gradcam import GradCAM, GradCAMPlusPlus, grad_cam, grad_cam_plus_plus
from cam_edu.perturbation import ScoreCAM, grid_segmentation, lime_map, occlusion_map, score_cam


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
        interactive: keyword arguments for one map at a time in an interactive tool
            (LIME: fewer samples and a grid of superpixels that fits small images).
    """

    function: Callable
    display_name: str
    slow: bool
    uses_layer: bool
    signed: bool
    explainer: type | None = None
    interactive: dict | None = None

    def __call__(self, model, images, class_index=None, layer: str | None = None, **kwargs):
        """``(maps (N, h, w), logits (N, C))``; ``layer`` is ignored if not ``uses_layer``."""
        if self.uses_layer:
            kwargs["layer"] = layer
        return self.function(model, images, class_index=class_index, **kwargs)


METHODS: dict[str, Method] = {
    "cam": Method(compute_cam, "CAM", slow=False, uses_layer=False, signed=True, explainer=CAM),
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
    "occlusion": Method(occlusion_map, "Occlusion", slow=True, uses_layer=False, signed=True),
    "lime": Method(
        lime_map,
        "LIME",
        slow=True,
        uses_layer=False,
        signed=True,
        interactive={"num_samples": 300, "segmentation": grid_segmentation(8)},
    ),
}


def get_method(method) -> Callable:
    """A registry name or a callable with :func:`cam_edu.gradcam.grad_cam`'s signature.

    >>> get_method("cam").display_name
    'CAM'
    """
    if callable(method):
        return method
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
    found = get_method(method)
    return getattr(found, "display_name", None) or getattr(found, "__name__", repr(found))

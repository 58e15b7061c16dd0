"""Every map method behind one call: ``METHODS[name](model, images, class_index, layer)``.

The explorer and the metrics call any method the same way and get
``(maps (N, h, w), logits (N, C))``; ``layer`` is passed on only to the methods that
explain a layer (Grad-CAM, Grad-CAM++, Score-CAM), CAM uses the model's
pooling -> Dense head, occlusion and LIME the input pixels. ``slow`` marks the methods
that run the model many times per image (an interface may want to ask first).

>>> [name for name, m in METHODS.items() if m.slow]
['scorecam', 'occlusion', 'lime']
>>> METHODS["gradcam++"].display_name
'Grad-CAM++'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from cam_edu.cam import compute_cam
from cam_edu.gradcam import grad_cam, grad_cam_plus_plus
from cam_edu.perturbation import lime_map, occlusion_map, score_cam


class Method(NamedTuple):
    """One map method of the registry.

    Attributes:
        function: the public function, e.g. :func:`cam_edu.gradcam.grad_cam`.
        display_name: its name for people, e.g. ``"Grad-CAM++"``.
        slow: it runs the model many times per image (perturbation methods).
        uses_layer: it takes a ``layer`` argument.
    """

    function: Callable
    display_name: str
    slow: bool
    uses_layer: bool

    def __call__(self, model, images, class_index=None, layer: str | None = None, **kwargs):
        """``(maps (N, h, w), logits (N, C))``; ``layer`` is ignored if not ``uses_layer``."""
        if self.uses_layer:
            kwargs["layer"] = layer
        return self.function(model, images, class_index=class_index, **kwargs)


METHODS: dict[str, Method] = {
    "cam": Method(compute_cam, "CAM", slow=False, uses_layer=False),
    "gradcam": Method(grad_cam, "Grad-CAM", slow=False, uses_layer=True),
    "gradcam++": Method(grad_cam_plus_plus, "Grad-CAM++", slow=False, uses_layer=True),
    "scorecam": Method(score_cam, "Score-CAM", slow=True, uses_layer=True),
    "occlusion": Method(occlusion_map, "Occlusion", slow=True, uses_layer=False),
    "lime": Method(lime_map, "LIME", slow=True, uses_layer=False),
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

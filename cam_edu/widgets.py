"""The interactive CAM explorer: one widget for every lesson's model and data.

The model runs once, when the explorer is built. For CAM the feature maps
``(N, H, W, K)`` are cached and every change of a control is one
``(H*W, K) @ (K,)`` product and a redraw. For Grad-CAM each (image, class) map is
computed once on first view and cached. The **method** menu offers every method of
:data:`cam_edu.methods.METHODS` (CAM only for a model with a CAM head); the slow ones
(Score-CAM, occlusion, LIME: hundreds of model calls per map) are computed once per image
and class, with a note above the picture while they run, and kept. Maps are drawn as
:func:`cam_edu.viz.overlay` draws them: signed maps (CAM, occlusion, LIME) on a diverging
scale centred at 0, the others on a min-max scale, the input outlined (one channel) or in
grey under the map; the colorbar shows the scale's numbers.

The parts are in :mod:`cam_edu.explorer` (state, rendering, picture widget, controls);
it needs ``pip install "cam_edu[explorer]"``.

>>> import numpy as np
>>> from cam_edu.course.models import build_gap_cnn
>>> explorer = cam_explorer(build_gap_cnn(), np.zeros((3, 28, 28, 1), "float32"))
>>> explorer.heatmap.shape  # the current map at feature resolution
(7, 7)
>>> explorer.features.shape  # computed once, when the explorer was built
(3, 7, 7, 64)
>>> explorer.klass.value = 4  # what a student's click does: a matmul and a redraw
>>> explorer.class_index, explorer.follow.value  # a chosen class is kept, image to image
(4, False)

In a notebook, make the explorer the last line of a cell to display it.
"""

from __future__ import annotations

from cam_edu.explorer.controls import CamExplorer
from cam_edu.explorer.picture import ExplorerPicture

__all__ = ["CamExplorer", "ExplorerPicture", "cam_explorer"]


def cam_explorer(
    model,
    images,
    labels=None,
    class_names=None,
    method: str = "cam",
    layer: str | None = None,
    display_images=None,
    output=None,
) -> CamExplorer:
    """An ipywidgets explorer of CAM, Grad-CAM, Grad-CAM++, Score-CAM, occlusion and LIME maps.

    Args:
        model: a Keras model (a GAP -> Dense head for ``method="cam"``; any CNN otherwise).
        images: the model's input batch, shape ``(N, H, W, channels)``. Preprocessed inputs
            (values outside ``[0, 1]``) are shown rescaled, with a note in the widget.
        labels: optional true labels ``(N,)``, shown in the caption.
        class_names: optional ``C`` names; models with more than 20 classes list the
            top 10 per image in the class menu (and the chosen class).
        method: the method shown first, a key of :data:`cam_edu.methods.METHODS`:
            ``"cam"``, ``"gradcam"``, ``"gradcam++"``, ``"scorecam"``, ``"occlusion"``
            or ``"lime"``; the explorer's **method** menu switches between them. The slow
            ones (Score-CAM, occlusion, LIME with the registry's ``interactive`` options)
            are computed per image and class when first shown, and kept.
        layer: Grad-CAM target layer (default: the last layer with a 4-D output).
        display_images: images to draw under the heatmap when ``images`` are
            preprocessed for the model (e.g. ResNet50's mean-subtracted BGR), ``(N, H, W, 3)``
            uint8 or float in ``[0, 1]``.
        output: for a model with several outputs, the explained one (a name or an index;
            ``None``: the first, with a warning that says so).

    Returns:
        a :class:`CamExplorer` (an ``ipywidgets.VBox``); display it as a cell's last line.

    >>> cam_explorer(model, x_test[:10], y_test[:10])  # doctest: +SKIP
    """
    return CamExplorer(
        model, images, labels, class_names, method, layer, display_images, output=output
    )

"""Reading a raw class activation map aloud: the numbers behind the picture.

A CAM ``M_c(x, y) = sum_k w_k^c f_k(x, y)`` has a sign: the features are >= 0 after
ReLU, so a position is evidence *for* class ``c`` (M > 0) or *against* it (M < 0)
depending on the weights. Min-max scaling hides where zero is; these numbers do not.

>>> import numpy as np
>>> m = np.array([[-2.0, 1.0], [3.0, 0.0]])
>>> image = np.array([[0.0, 1.0], [1.0, 0.0]])
>>> numbers = cam_numbers(m, image)
>>> numbers.min, numbers.max, numbers.positive, numbers.inside, numbers.outside
(-2.0, 3.0, 0.5, 2.0, -1.0)
>>> round(numbers.zero_level, 2)
0.4
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cam_edu.validate import as_heatmap
from cam_edu.viz import as_display_image, upsample


class CamNumbers(NamedTuple):
    """What a raw CAM says, in numbers.

    Attributes:
        min, max: the map's smallest and largest value (at the image's size if one is given).
        positive: fraction of the map's area where it is > 0 (evidence for the class).
        inside: mean of the map on the ink (image > ``ink``), NaN without an image.
        outside: mean of the map on the background (image <= ``ink``), NaN without an image.
        zero_level: where 0 lands on the min-max scaled map, ``-min / (max - min)``:
            the colour a min-max overlay gives to "no evidence".
    """

    min: float
    max: float
    positive: float
    inside: float
    outside: float
    zero_level: float

    def __str__(self) -> str:
        return (
            f"min {self.min:.1f}, max {self.max:.1f}, positive on {self.positive:.0%} of the "
            f"area; mean on the strokes {self.inside:.1f}, on the background {self.outside:.1f}"
        )


def cam_numbers(heatmap, image=None, ink: float = 0.5) -> CamNumbers:
    """The numbers of one raw CAM ``(h, w)``, on the image ``(H, W[, 1|3])`` if given.

    With an image the map is upsampled (bilinear) to ``(H, W)`` and split into the
    strokes (grey level above ``ink`` times the image's maximum) and the background.

    >>> cam_numbers(np.ones((7, 7))).positive
    1.0
    """
    m = as_heatmap(heatmap)
    inside = outside = float("nan")
    if image is not None:
        picture = np.squeeze(as_display_image(image))
        picture = picture.mean(axis=-1) if picture.ndim == 3 else picture
        m = upsample(m, picture.shape[:2])
        strokes = picture > ink * float(picture.max() or 1.0)
        inside = float(m[strokes].mean()) if strokes.any() else float("nan")
        outside = float(m[~strokes].mean()) if (~strokes).any() else float("nan")
    lo, hi = float(m.min()), float(m.max())
    zero = -lo / (hi - lo) if hi > lo else float("nan")
    return CamNumbers(lo, hi, float((m > 0).mean()), inside, outside, zero)

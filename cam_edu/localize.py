"""From a heatmap to a bounding box, as in the CAM paper, and box overlap (IoU).

Boxes are ``(y0, x0, y1, x1)`` in pixel indices with ``y1``/``x1`` exclusive,
so ``image[y0:y1, x0:x1]`` is the boxed region.

>>> import numpy as np
>>> m = np.zeros((10, 10)); m[2:5, 3:8] = 1.0
>>> bbox_from_cam(m)
(2, 3, 5, 8)
>>> iou((0, 0, 2, 2), (0, 0, 2, 4))
0.5
"""

from __future__ import annotations

import numbers
import warnings
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from cam_edu.validate import as_float_array, as_heatmap, as_threshold, check_finite


def bbox_from_cam(heatmap, threshold: float = 0.2) -> tuple[int, int, int, int]:
    """Box the largest connected region where the heatmap is at least ``threshold * max``.

    This is the rule of Zhou et al. (2016): keep the region above 20 % of the
    CAM's maximum and box its largest connected component (8-connectivity).

    Args:
        heatmap: one heatmap, shape ``(H, W)``, usually upsampled to image size.
        threshold: fraction of the maximum, in ``(0, 1]``.

    Returns:
        ``(y0, x0, y1, x1)`` with exclusive ends.

    Raises:
        ValueError: for a heatmap whose maximum is not positive (nothing to box;
            e.g. an all-negative CAM after ReLU is all zeros).

    A constant positive heatmap gives the whole map, with a ``UserWarning``.
    The box encloses the *largest* component, which need not hold the argmax
    when the map has several separate peaks.

    >>> m = np.zeros((8, 8)); m[1:3, 1:3] = 1; m[5:8, 4:8] = 0.9
    >>> bbox_from_cam(m)
    (5, 4, 8, 8)
    """
    m = as_heatmap(heatmap)
    t = as_threshold(threshold)
    peak = float(m.max())
    if peak <= 0:
        raise ValueError(
            f"heatmap has maximum {peak:g} <= 0, so no region lies above {t:g} x max. "
            "The class has no positive evidence in this image; pick another class, or "
            "look at the raw (unnormalized) map."
        )
    if float(m.min()) == peak:
        warnings.warn(
            f"heatmap is constant (every value is {peak:g}), but a box needs a map that "
            f"varies; it carries no location, so the box is the whole map {m.shape}.",
            stacklevel=2,
        )
    return _bbox_from_cam(m, t)


def _bbox_from_cam(m: np.ndarray, t: float) -> tuple[int, int, int, int]:
    """:func:`bbox_from_cam` of a checked map ``(H, W)`` with a positive maximum, unchecked."""
    labels, count = ndimage.label(m >= t * float(m.max()), structure=np.ones((3, 3)))
    sizes = ndimage.sum_labels(np.ones_like(m), labels, index=np.arange(1, count + 1))
    biggest = int(np.argmax(sizes)) + 1
    ys, xs = ndimage.find_objects((labels == biggest).astype(int))[0]
    return int(ys.start), int(xs.start), int(ys.stop), int(xs.stop)


def as_box(box, name: str = "box", image_shape=None) -> tuple[float, float, float, float]:
    """Check a box ``(y0, x0, y1, x1)`` with ``y0 < y1`` and ``x0 < x1``.

    If ``image_shape`` ``(H, W)`` is given, the box must lie inside it. Returns the four
    coordinates as floats.

    >>> as_box((1, 2, 3, 4))
    (1.0, 2.0, 3.0, 4.0)
    """
    if isinstance(box, str | bytes) or not hasattr(box, "__len__"):
        raise TypeError(f"{name} must be 4 numbers (y0, x0, y1, x1); got {box!r}.")
    if len(box) != 4:
        raise ValueError(f"{name} must be 4 numbers (y0, x0, y1, x1); got {box!r}.")
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in box):
        raise TypeError(f"{name} must hold numbers (y0, x0, y1, x1); got {box!r}.")
    y0, x0, y1, x1 = (float(v) for v in box)
    if not all(np.isfinite((y0, x0, y1, x1))):
        raise ValueError(f"{name} must hold finite numbers (y0, x0, y1, x1); got {tuple(box)}.")
    if not (y0 < y1 and x0 < x1):
        raise ValueError(
            f"{name} = {tuple(box)} is empty or flipped; expected (y0, x0, y1, x1) with "
            "y0 < y1 and x0 < x1 (rows first, ends exclusive)."
        )
    if image_shape is not None:
        h, w = image_shape[:2]
        if y0 < 0 or x0 < 0 or y1 > h or x1 > w:
            raise ValueError(
                f"{name} = {tuple(box)} reaches outside the image of height {h} and width "
                f"{w}; expected 0 <= y0 < y1 <= {h} and 0 <= x0 < x1 <= {w}."
            )
    return y0, x0, y1, x1


def iou(box_a, box_b) -> float:
    """Intersection over union of two boxes ``(y0, x0, y1, x1)``, in ``[0, 1]``.

    >>> iou((0, 0, 4, 4), (2, 2, 6, 6))
    0.14285714285714285
    """
    ay0, ax0, ay1, ax1 = as_box(box_a, "box_a")
    by0, bx0, by1, bx1 = as_box(box_b, "box_b")
    inter_h = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter_w = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    inter = inter_h * inter_w
    union = (ay1 - ay0) * (ax1 - ax0) + (by1 - by0) * (bx1 - bx0) - inter
    return inter / union


def box_area(box) -> float:
    """Area in pixels of a box ``(y0, x0, y1, x1)`` with exclusive ends.

    >>> box_area((2, 3, 5, 8))
    15.0
    """
    y0, x0, y1, x1 = as_box(box)
    return (y1 - y0) * (x1 - x0)


def ink_box(image, level: float = 0.5) -> tuple[int, int, int, int]:
    """The box around an image's ink: the pixels brighter than ``level`` times its maximum.

    For a digit on a dark background this is where the object is, the true box a map's
    box is compared with. ``level`` 0.5 makes the ink the strokes of
    :func:`cam_edu.reading.cam_numbers`.

    Args:
        image: one image ``(H, W)`` or ``(H, W, 1)``, ink bright on a dark background.
        level: fraction of the image's maximum, in ``(0, 1]``.

    Returns:
        ``(y0, x0, y1, x1)`` with exclusive ends.

    Raises:
        ValueError: for an image without ink (maximum <= 0), or not one channel.

    >>> im = np.zeros((6, 6)); im[1, 2] = 1.0; im[3, 4] = 0.8; im[5, 0] = 0.2
    >>> ink_box(im)
    (1, 2, 4, 5)
    """
    picture = check_finite(as_float_array(image, "image"), "image")
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    if picture.ndim != 2:
        raise ValueError(f"image must be one image (H, W) or (H, W, 1); got shape {picture.shape}.")
    if not isinstance(level, numbers.Real) or isinstance(level, bool) or not 0 < level <= 1:
        raise ValueError(
            f"level must be a fraction of the image's maximum in (0, 1]; got {level!r}."
        )
    peak = float(picture.max())
    if not peak > 0:
        raise ValueError(
            f"image has maximum {peak:g}, so it has no ink to box; expected bright ink on a "
            "dark background (grey levels >= 0)."
        )
    ink = picture > level * peak
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _maps_and_boxes(heatmaps, boxes, name: str) -> tuple[np.ndarray, list]:
    """Check a batch of maps ``(N, H, W)`` and one box inside ``(H, W)`` for each; return the
    maps and the boxes as float tuples ``(y0, x0, y1, x1)``."""
    maps = as_heatmap(heatmaps, "heatmaps", allow_batch=True)
    if maps.ndim != 3:
        raise ValueError(
            f"heatmaps must be a batch (N, H, W); got shape {maps.shape}. For one map use "
            "heatmaps[None] and [box]."
        )
    boxes = list(boxes)
    if len(boxes) != len(maps):
        raise ValueError(f"got {len(maps)} heatmaps but {len(boxes)} {name}; pass one box per map.")
    return maps, [
        as_box(b, f"{name}[{i}]", image_shape=maps.shape[1:]) for i, b in enumerate(boxes)
    ]


class BoxScore(NamedTuple):
    """How well the boxes of a batch of heatmaps match the true boxes.

    Attributes:
        accuracy: fraction of images whose box has IoU >= ``min_iou`` with the truth
            (the CAM paper's localization criterion, with ``min_iou = 0.5``).
        mean_iou: mean IoU over all images (0 where a map has no positive value).
        mean_area: mean area in pixels of the boxes that exist.
        boxes: the predicted boxes, ``None`` where a map has no positive value.
    """

    accuracy: float
    mean_iou: float
    mean_area: float
    boxes: list


def box_accuracy(heatmaps, true_boxes, threshold: float = 0.2, min_iou: float = 0.5) -> BoxScore:
    """Box every heatmap with :func:`bbox_from_cam` and score it against the true box.

    Args:
        heatmaps: ``(N, H, W)`` maps at image resolution (upsample them first).
        true_boxes: ``(N, 4)`` boxes ``(y0, x0, y1, x1)``, exclusive ends.
        threshold: fraction of each map's maximum that defines its region.
        min_iou: a box counts as correct when its IoU with the truth is at least this.

    Returns:
        a :class:`BoxScore`. A map with no positive value has no box and counts as a
        miss with IoU 0 (e.g. a Grad-CAM that is all zero after its ReLU).

    >>> maps = np.zeros((2, 10, 10)); maps[0, 2:5, 3:8] = 1.0
    >>> box_accuracy(maps, [(2, 3, 5, 8), (0, 0, 4, 4)]).accuracy
    0.5
    """
    maps, truths = _maps_and_boxes(heatmaps, true_boxes, "true_boxes")
    if not 0.0 < float(min_iou) <= 1.0:
        raise ValueError(f"min_iou must lie in (0, 1]; got {min_iou!r}. The CAM paper uses 0.5.")
    scores, boxes = [], []
    for m, truth in zip(maps, truths, strict=True):
        box = bbox_from_cam(m, threshold) if m.max() > 0 else None
        boxes.append(box)
        scores.append(0.0 if box is None else iou(box, truth))
    scores = np.asarray(scores)
    areas = [box_area(b) for b in boxes if b is not None]
    return BoxScore(
        float(np.mean(scores >= min_iou)),
        float(scores.mean()),
        float(np.mean(areas)) if areas else float("nan"),
        boxes,
    )


def share_in_box(heatmaps, boxes) -> np.ndarray:
    """The share of each map's positive mass that lies inside its box, ``(N,)`` in ``[0, 1]``.

    ``sum of max(map, 0) inside the box / sum of max(map, 0)``: the proportion of the
    energy-based pointing game (Wang et al., Score-CAM, 2020). Negative values (evidence
    against the class in a raw CAM) are left out, so a raw CAM and its ReLU score the same.
    A map with no positive value gets NaN (nothing to share; average with ``np.nanmean``).

    Args:
        heatmaps: ``(N, H, W)`` maps at the boxes' (image) resolution; upsample them first.
        boxes: ``(N, 4)`` boxes ``(y0, x0, y1, x1)``, exclusive ends, inside ``(H, W)``.

    Returns:
        ``(N,)`` float64 shares.

    >>> maps = np.zeros((2, 4, 4)); maps[0, 0, 0] = 3.0; maps[0, 3, 3] = 1.0; maps[1] = -1.0
    >>> share_in_box(maps, [(0, 0, 2, 2), (0, 0, 2, 2)]).tolist()
    [0.75, nan]
    """
    maps, checked = _maps_and_boxes(heatmaps, boxes, "boxes")
    positive = np.maximum(maps, 0.0).astype(np.float64)
    total = positive.sum(axis=(1, 2))
    inside = np.empty(len(maps))
    for i, (m, corners) in enumerate(zip(positive, checked, strict=True)):
        if not all(v.is_integer() for v in corners):
            raise ValueError(f"boxes[{i}] = {corners} must hold whole pixel indices.")
        y0, x0, y1, x1 = (int(v) for v in corners)
        inside[i] = m[y0:y1, x0:x1].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / total, np.nan)


# --- scores against true boxes, per image and in one row


def pointing_game(heatmaps, true_boxes, tolerance: int = 0) -> np.ndarray:
    """Whether each map's maximum lies inside its true box (Zhang et al. 2016), ``(N,)`` bool.

    Args:
        heatmaps: ``(N, H, W)`` maps at the boxes' (image) resolution.
        true_boxes: ``(N, 4)`` boxes ``(y0, x0, y1, x1)`` with exclusive ends.
        tolerance: pixels the maximum may lie outside the box (the paper: 15 at 224 px).

    The maximum is the first one in row-major order if there are ties.

    >>> maps = np.zeros((2, 8, 8)); maps[0, 2, 3] = 1.0; maps[1, 7, 7] = 1.0
    >>> pointing_game(maps, [(1, 1, 4, 4), (1, 1, 4, 4)]).tolist()
    [True, False]
    """
    maps, boxes = _maps_and_boxes(heatmaps, true_boxes, "true_boxes")
    peaks = np.unravel_index(maps.reshape(len(maps), -1).argmax(axis=1), maps.shape[1:])
    t = float(tolerance)
    return np.array(
        [
            y0 - t <= py + 0.5 <= y1 + t and x0 - t <= px + 0.5 <= x1 + t
            for (y0, x0, y1, x1), py, px in zip(boxes, *peaks, strict=True)
        ]
    )


class LocalizationScore(NamedTuple):
    """Localization of a batch of maps against true boxes.

    Attributes:
        pointing: fraction of maps whose maximum lies in the true box.
        box_accuracy: fraction whose box (20 % of max rule) has IoU >= 0.5 with the truth.
        mean_iou: mean IoU of those boxes with the truth.
    """

    pointing: float
    box_accuracy: float
    mean_iou: float


def localization_score(heatmaps, true_boxes, threshold: float = 0.2, min_iou: float = 0.5):
    """Pointing game and box accuracy (:func:`cam_edu.localize.box_accuracy`) in one row.

    >>> maps = np.zeros((2, 10, 10)); maps[0, 2:5, 3:8] = 1.0; maps[1, 6:9, 6:9] = 1.0
    >>> localization_score(maps, [(2, 3, 5, 8), (0, 0, 4, 4)])
    LocalizationScore(pointing=0.5, box_accuracy=0.5, mean_iou=0.5)
    """
    boxes = box_accuracy(heatmaps, true_boxes, threshold, min_iou)
    hits = pointing_game(heatmaps, true_boxes)
    return LocalizationScore(float(hits.mean()), boxes.accuracy, boxes.mean_iou)


class BoxTruth:
    """Localization against true boxes, per image: box IoU >= ``min_iou`` and pointing game.

    One of the ``truth`` objects :func:`compare_methods` takes: ``per_image(maps)`` gives
    ``{column: (N,) values}``, ``summary(values)`` one number per column, ``chance`` the
    same numbers for a map that knows nothing, and ``higher_is_better`` per column.

    Args:
        boxes: ``(N, 4)`` true boxes ``(y0, x0, y1, x1)``, exclusive ends, image pixels.
        image_shape: ``(H, W)`` of the images (for the chance of the pointing game).
        threshold: the box rule's fraction of the map's maximum (CAM paper: 0.2).
        min_iou: IoU for a box to count as found (CAM paper: 0.5).

    The chance of the pointing game is the mean fraction of the image the true box
    covers: where a maximum drawn uniformly at random lands in the box.

    >>> truth = BoxTruth([(0, 0, 4, 4), (4, 4, 8, 8)], (8, 8))
    >>> maps = np.zeros((2, 8, 8)); maps[:, :4, :4] = 1.0
    >>> {k: v.tolist() for k, v in truth.per_image(maps).items()}
    {'box IoU>=0.5': [1.0, 0.0], 'pointing': [1.0, 0.0]}
    >>> truth.chance
    {'box IoU>=0.5': nan, 'pointing': 0.25}
    """

    def __init__(self, boxes, image_shape, threshold: float = 0.2, min_iou: float = 0.5):
        self.boxes = [as_box(b, "boxes[i]") for b in boxes]
        self.threshold, self.min_iou = threshold, min_iou
        self.columns = (f"box IoU>={min_iou:g}", "pointing")
        self.higher_is_better = dict.fromkeys(self.columns, True)
        height, width = image_shape[:2]
        covered = np.mean([(y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in self.boxes])
        self.chance = {self.columns[0]: float("nan"), "pointing": float(covered / height / width)}

    def per_image(self, maps) -> dict[str, np.ndarray]:
        """``{column: (N,)}``: 1.0 where the box is found / the maximum is in the box."""
        scores = box_accuracy(maps, self.boxes, self.threshold, self.min_iou)
        found = [
            b is not None and iou(b, t) >= self.min_iou
            for b, t in zip(scores.boxes, self.boxes, strict=True)
        ]
        hits = pointing_game(maps, self.boxes)
        return {self.columns[0]: np.array(found, float), "pointing": hits.astype(float)}

    def summary(self, values: dict[str, np.ndarray]) -> dict[str, float]:
        """The fraction of images per column."""
        return {c: float(np.mean(values[c])) for c in self.columns}

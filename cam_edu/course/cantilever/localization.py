r"""Localization on the beam: where a CAM puts the fault, its error, and the chance baseline.

Positions are fractions of the beam length L, from the clamp (0) to the tip (1).

>>> float(localization_error(0.3, 0.5)[0])
0.2
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cam_edu.validate import as_float_array, as_heatmap


class ErrorSummary(NamedTuple):
    """Localization errors against a chance baseline (e.g. in units of the beam length L).

    Attributes:
        median: median error of the method.
        p90: its 90th percentile.
        chance_median: median error of the chance baseline.
        chance_p90: 90th percentile of the chance baseline.
    """

    median: float
    p90: float
    chance_median: float
    chance_p90: float


def error_summary(errors, chance_errors) -> ErrorSummary:
    """Median and 90th percentile of ``errors`` and of ``chance_errors`` (any shapes).

    >>> error_summary([0.0, 0.5, 1.0], np.full((3, 10), 0.25))
    ErrorSummary(median=0.5, p90=0.9, chance_median=0.25, chance_p90=0.25)
    """
    e = as_float_array(errors, "errors").astype(np.float64).ravel()
    c = as_float_array(chance_errors, "chance_errors").astype(np.float64).ravel()
    if e.size == 0 or c.size == 0:
        raise ValueError("errors and chance_errors must not be empty.")
    values = (np.median(e), np.percentile(e, 90), np.median(c), np.percentile(c, 90))
    return ErrorSummary(*(float(v) for v in values))


def _as_cams(cam, name: str = "cam") -> np.ndarray:
    arr = as_heatmap(cam, name, allow_batch=True)
    return arr[None] if arr.ndim == 2 else arr


def cam_profile(cam) -> np.ndarray:
    """Mean of the CAM over the time rows: evidence per position along the beam.

    Args:
        cam: one CAM ``(H, W)`` or a batch ``(N, H, W)``; columns run from the clamp
            (column 0) to the tip (column ``W - 1``), as in the images.

    Returns:
        ``(W,)`` or ``(N, W)``.

    >>> cam_profile(np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]])).tolist()
    [1.0, 2.0, 3.0]
    """
    arr = _as_cams(cam)
    profile = arr.mean(axis=1)
    return profile if np.ndim(cam) == 3 else profile[0]


def cam_peak_position(cam, refine: bool = True):
    """Where along the beam the CAM is largest, as a fraction of the beam length.

    The CAM is averaged over its rows (time), then the column ``j`` of the maximum
    gives the position ``(j + 0.5) / W``: the centre of the stretch of beam that
    column covers (so CAMs at any resolution map to the same beam coordinate).
    With ``refine``, a parabola through the maximum and its two neighbours moves
    the peak by up to half a column.

    Args:
        cam: ``(H, W)`` or ``(N, H, W)``, e.g. from :func:`cam_edu.cam.compute_cam`.
        refine: sub-column (parabolic) peak.

    Returns:
        a float in ``[0, 1]``, or ``(N,)`` floats for a batch.

    >>> cam = np.zeros((4, 16)); cam[:, 4] = 1.0
    >>> cam_peak_position(cam)
    0.28125
    """
    profile = np.atleast_2d(cam_profile(cam)).astype(np.float64)
    n, width = profile.shape
    j = profile.argmax(axis=1)
    offset = np.zeros(n)
    if refine and width >= 3:
        inner = (j > 0) & (j < width - 1)
        rows = np.flatnonzero(inner)
        left, mid, right = (profile[rows, j[rows] + d] for d in (-1, 0, 1))
        curvature = left - 2 * mid + right
        safe = np.where(curvature < 0, curvature, -1.0)
        offset[rows] = np.where(curvature < 0, np.clip(0.5 * (left - right) / safe, -0.5, 0.5), 0)
    positions = (j + 0.5 + offset) / width
    return positions if np.ndim(cam) == 3 else float(positions[0])


def _as_positions(x, name: str, allow_nan: bool = False) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a number or a 1-D array of positions; got {arr.shape}.")
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(
            f"{name} contains NaN: the fault position of a normal (healthy) image. Localize "
            f"fault images only, e.g. {name}[labels == 1]."
        )
    finite = arr[np.isfinite(arr)]
    if np.isinf(arr).any() or np.any((finite < 0) | (finite > 1)):
        raise ValueError(
            f"{name} must hold fractions of the beam length in [0, 1] (0 = clamp, 1 = tip); "
            f"got values from {np.nanmin(arr):g} to {np.nanmax(arr):g}."
        )
    return arr


def localization_error(predicted, true) -> np.ndarray:
    """Distance along the beam between predicted and true fault positions, in beam lengths.

    Args:
        predicted: ``(N,)`` positions in ``[0, 1]``, e.g. :func:`cam_peak_position`.
        true: ``(N,)`` true fault positions in ``[0, 1]`` (no NaN: faults only).

    Returns:
        ``|predicted - true|``, shape ``(N,)``, in ``[0, 1]``.

    >>> localization_error([0.2, 0.9], [0.25, 0.5]).round(2).tolist()
    [0.05, 0.4]
    """
    p = _as_positions(predicted, "predicted")
    t = _as_positions(true, "true")
    if p.shape != t.shape:
        raise ValueError(
            f"predicted has {p.shape[0]} positions but true has {t.shape[0]}; pass one "
            "predicted position per fault image."
        )
    return np.abs(p - t)


def chance_localization_errors(true, draws: int = 100, seed: int = 0) -> np.ndarray:
    """The errors of a guess uniform along the beam: the chance baseline, ``(N, draws)``.

    For a fault at ``p`` the expected error is ``(p^2 + (1 - p)^2) / 2``
    (:func:`expected_chance_error`): 1/4 in the middle, 1/2 at the ends.

    >>> e = chance_localization_errors(np.full(1000, 0.5), draws=10)
    >>> round(float(e.mean()), 2)
    0.25
    """
    t = _as_positions(true, "true")
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise ValueError(f"draws must be a positive int; got {draws!r}.")
    guesses = np.random.default_rng(seed).uniform(size=(t.size, int(draws)))
    return np.abs(guesses - t[:, None])


def expected_chance_error(true) -> np.ndarray:
    """Mean error ``(p^2 + (1 - p)^2) / 2`` of a uniform guess for faults at ``p``, ``(N,)``.

    >>> expected_chance_error([0.0, 0.5]).tolist()
    [0.5, 0.25]
    """
    t = _as_positions(true, "true")
    return (t**2 + (1 - t) ** 2) / 2


def peak_error_summary(maps, true, draws: int = 100, seed: int = 0):
    """How far the maps' peaks lie from the true faults, against a uniform guess.

    The peak of each map (:func:`cam_peak_position`) is compared with the true fault
    position (:func:`localization_error`, in beam lengths L); the chance baseline is
    :func:`chance_localization_errors` with ``draws`` guesses per fault.

    Args:
        maps: ``(N, H, W)`` maps of fault images, from any method (CAM, Score-CAM, ...).
        true: ``(N,)`` true fault positions in ``[0, 1]``.
        draws: chance guesses per fault.
        seed: seed of the chance guesses.

    Returns:
        a :class:`ErrorSummary`: median and 90th percentile of the
        errors and of the chance errors, in units of L.

    >>> maps = np.zeros((2, 4, 10)); maps[0, :, 2] = 1; maps[1, :, 7] = 1
    >>> s = peak_error_summary(maps, [0.25, 0.75])
    >>> round(s.median, 3), round(s.chance_median, 2)
    (0.0, 0.26)
    """
    errors = localization_error(cam_peak_position(maps), true)
    return error_summary(errors, chance_localization_errors(true, draws, seed))


def excess_peak_position(images, normal_images) -> np.ndarray:
    """Where along the beam images are brighter than normal beams: no network involved.

    Subtracts the mean normal image from each image, then takes the peak of what is
    left as :func:`cam_peak_position` does for a CAM (mean over rows, parabolic peak).
    For fault images it finds the fault's bump in the picture itself: a reference for
    where a CAM *should* peak.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, 1)``, e.g. the fault images.
        normal_images: ``(M, H, W)`` or ``(M, H, W, 1)`` images of normal beams.

    Returns:
        ``(N,)`` positions in ``[0, 1]`` (0 = clamp, 1 = tip).

    >>> normal = np.zeros((3, 4, 10))
    >>> faulty = np.zeros((2, 4, 10)); faulty[0, :, 2] = 1; faulty[1, :, 7] = 1
    >>> excess_peak_position(faulty, normal).tolist()
    [0.25, 0.75]
    """
    x = np.asarray(images, np.float64)
    ref = np.asarray(normal_images, np.float64)
    x = x[..., 0] if x.ndim == 4 else x
    ref = ref[..., 0] if ref.ndim == 4 else ref
    if x.ndim != 3 or ref.ndim != 3 or x.shape[1:] != ref.shape[1:]:
        raise ValueError(
            "images and normal_images must be (N, H, W[, 1]) batches of one image size; got "
            f"{np.shape(images)} and {np.shape(normal_images)}."
        )
    return np.atleast_1d(cam_peak_position(x - ref.mean(axis=0)))


def bump_contrast(images, column: int, gap: int = 4) -> np.ndarray:
    """A local bump along the beam: each image's time-mean brightness at ``column`` minus
    the mean of the columns ``gap`` to either side. A straight slope of brightness cancels,
    so a crack's stripe is compared with the noise of normal beams, not with the smooth
    differences between them.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, 1)``, rows = frames, columns = positions.
        column: the column to test, with ``gap <= column < W - gap``.
        gap: how many columns away the two reference columns lie.

    Returns:
        ``(N,)`` contrasts, in the images' brightness units.

    >>> ramp = np.tile(np.linspace(0, 1, 16), (1, 2, 1))  # (1, 2, 16): a straight slope
    >>> bumped = ramp.copy(); bumped[:, :, 8] += 0.3
    >>> bump_contrast(ramp, 8).round(6).tolist(), bump_contrast(bumped, 8).round(6).tolist()
    ([0.0], [0.3])
    """
    contrasts = _all_contrasts(images, gap)  # (N, W - 2 gap), columns gap .. W - gap - 1
    width = contrasts.shape[1] + 2 * gap
    if not gap <= column < width - gap:
        raise ValueError(
            f"column must lie at least gap = {gap} columns inside the {width} columns; "
            f"got {column}."
        )
    return contrasts[:, column - gap]


def bump_scan(images, normal_images, gap: int = 4) -> np.ndarray:
    """A bump anywhere along the beam: :func:`bump_contrast` at every column it allows
    (``gap`` to ``W - gap - 1``), each standardised by the mean and standard deviation of
    normal beams at that column, then the largest over the columns. Unlike
    :func:`bump_contrast` it is not told where to look, so it pays for searching: compare
    it with an alarm set on other normal beams.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, 1)``, rows = frames, columns = positions.
        normal_images: ``(M, H, W[, 1])``, ``M >= 2`` normal beams that set each column's
            mean and standard deviation.
        gap: as in :func:`bump_contrast`.

    Returns:
        ``(N,)`` the largest standardised contrast of each image (in standard deviations).

    >>> rng = np.random.default_rng(0)
    >>> normal = rng.normal(0, 0.01, (50, 2, 16))  # (50, 2, 16): flat beams with noise
    >>> bumped = np.zeros((1, 2, 16)); bumped[:, :, 11] = 0.1  # at a column not named
    >>> bool(bump_scan(bumped, normal)[0] > bump_scan(normal, normal).max())
    True
    """
    contrasts = _all_contrasts(images, gap)
    reference = _all_contrasts(normal_images, gap)
    if reference.shape[0] < 2 or reference.shape[1] != contrasts.shape[1]:
        raise ValueError(
            "normal_images must hold at least 2 beams of the images' width; got "
            f"{np.shape(normal_images)} for images {np.shape(images)}."
        )
    return ((contrasts - reference.mean(axis=0)) / reference.std(axis=0)).max(axis=1)


def _all_contrasts(images, gap: int) -> np.ndarray:
    """:func:`bump_contrast` at every column from ``gap`` to ``W - gap - 1``: ``(N, W - 2 gap)``."""
    x = np.asarray(images, np.float64)
    x = x[..., 0] if x.ndim == 4 else x
    if x.ndim != 3:
        raise ValueError(f"images must be an (N, H, W[, 1]) batch; got {np.shape(images)}.")
    if not 1 <= gap < x.shape[2] / 2:
        raise ValueError(
            f"gap must be at least 1 and below half the width {x.shape[2]}; got {gap}."
        )
    profile = x.mean(axis=1)  # (N, W)
    return profile[:, gap:-gap] - (profile[:, : -2 * gap] + profile[:, 2 * gap :]) / 2


class PeakTruth:
    """Localization on the beam against the true fault positions, for
    :func:`cam_edu.comparison.compare_methods`: the peak error in units of L.

    ``per_image(maps)`` gives each map's :func:`localization_error` (peak of
    :func:`cam_peak_position` against the truth); ``summary`` its median and 90th
    percentile; ``chance`` the same for guesses uniform along the beam
    (:func:`chance_localization_errors`, ``draws`` per fault).

    >>> truth = PeakTruth([0.25, 0.75])
    >>> maps = np.zeros((2, 4, 10)); maps[0, :, 2] = 1; maps[1, :, 2] = 1
    >>> truth.per_image(maps)["median error (L)"].round(3).tolist()
    [0.0, 0.5]
    >>> truth.columns
    ('median error (L)', 'p90 error (L)')
    """

    columns = ("median error (L)", "p90 error (L)")
    higher_is_better = dict.fromkeys(columns, False)

    def __init__(self, true, draws: int = 100, seed: int = 0):
        self.true = _as_positions(true, "true")
        chance = chance_localization_errors(self.true, draws, seed)
        self.chance = {
            self.columns[0]: float(np.median(chance)),
            self.columns[1]: float(np.percentile(chance, 90)),
        }

    def per_image(self, maps) -> dict[str, np.ndarray]:
        """``{"median error (L)": (N,)}``; the p90 column is a summary of the same errors."""
        errors = localization_error(cam_peak_position(_as_cams(maps)), self.true)
        return {self.columns[0]: errors, self.columns[1]: errors}

    def summary(self, values) -> dict[str, float]:
        """Median and 90th percentile of the errors, in units of L."""
        e = np.asarray(values[self.columns[0]], np.float64)
        return {self.columns[0]: float(np.median(e)), self.columns[1]: float(np.percentile(e, 90))}

r"""Imaging of the cantilever: a camera films the vibrating beam; the image is its curvature.

>>> data = make_dataset(2, seed=0)
>>> data.images.shape
(2, 32, 64, 1)
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
from scipy import signal

from cam_edu.course.cantilever.physics import Beam, deflection, steady_state


@dataclass(frozen=True)
class Camera:
    """How the vibrating beam becomes an image ``(frames, columns)``.

    Attributes:
        frames: image rows: frames over one vibration period (evenly spaced, random start).
        columns: image columns along the beam; column ``j`` looks at
            ``x = (j + 0.5) / columns`` (plus the pose shift).
        noise_mm: range of the deflection measurement noise (std, mm) per sample.
        shift_px: the view shifts along the beam by up to this many columns.
        shake_mm: std of the per-frame camera shake (vertical offset, mm).
        tilt_mrad: std of the per-frame camera tilt (mrad).
        window: Savitzky--Golay window (odd, columns) of the curvature estimate.
    """

    frames: int = 32
    columns: int = 64
    noise_mm: tuple[float, float] = (0.0005, 0.002)
    shift_px: float = 1.0
    shake_mm: float = 0.05
    tilt_mrad: float = 0.2
    window: int = 7

    def __post_init__(self):
        for name in ("frames", "columns", "window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(
                    f"Camera.{name} must be an int; got {type(value).__name__} {value!r}. "
                    f"Pass a whole number, e.g. Camera({name}={int(getattr(Camera, name))})."
                )
        if self.frames < 1:
            raise ValueError(
                f"Camera.frames must be >= 1 (image rows, frames per vibration period); got "
                f"{self.frames}. The default is {Camera.frames}."
            )
        if self.columns < 3:
            raise ValueError(
                f"Camera.columns must be >= 3 (image columns along the beam, at least one "
                f"curvature window); got {self.columns}. The default is {Camera.columns}."
            )
        if self.window < 3 or self.window % 2 == 0 or self.window > self.columns:
            odd = self.window + 1 if self.window % 2 == 0 else self.window
            suggestion = min(max(odd, 3), self.columns - (self.columns % 2 == 0))
            raise ValueError(
                f"Camera.window must be an odd number of columns with 3 <= window <= "
                f"columns = {self.columns} (a quadratic Savitzky-Golay window); got "
                f"{self.window}. Use e.g. window={suggestion}."
            )


def measured_deflection(
    beam: Beam,
    q,
    base_amplitude: float,
    camera: Camera,
    rng: np.random.Generator,
    noise_mm: float,
) -> tuple[np.ndarray, np.ndarray]:
    """What the camera measures: deflection (mm) ``(frames, columns)`` and x ``(columns,)``.

    Includes the base motion, a random start phase, the pose shift, per-frame
    shake and tilt, and Gaussian measurement noise of std ``noise_mm``. Columns
    beyond the tip (after a shift) continue the tip's tangent; columns before the
    clamp show the clamp. ``x`` are the true beam positions of the columns.
    """
    x = (np.arange(camera.columns) + 0.5 + rng.uniform(-1, 1) * camera.shift_px) / camera.columns
    xc = np.clip(x, 0.0, 1.0)
    amplitude = deflection(beam, q, xc) + beyond_tip(beam, q, x)
    phase = 2 * np.pi * (rng.uniform() + np.arange(camera.frames) / camera.frames)
    rotation = np.exp(1j * phase)[:, None]
    total = np.real((amplitude[None, :] + base_amplitude) * rotation) * 1e3  # mm
    shake = rng.normal(0, camera.shake_mm, (camera.frames, 1))
    tilt = rng.normal(0, camera.tilt_mrad * 1e-3, (camera.frames, 1)) * (x - 0.5) * beam.length
    noise = rng.normal(0, noise_mm, total.shape)
    return (total + shake + tilt * 1e3 + noise).astype(np.float64), x


def beyond_tip(beam: Beam, q, x) -> np.ndarray:
    """Tangent continuation past the tip: ``(x - 1) L * slope(tip)`` where ``x > 1``, else 0."""
    x = np.asarray(x, float)
    slope = deflection(beam, q, np.array([1.0]), derivative=1)[0]
    return np.where(x > 1, (x - 1) * beam.length * slope, 0.0)


@functools.lru_cache(maxsize=8)
def _second_derivative_operator(columns: int, window: int) -> np.ndarray:
    """``D`` ``(columns, columns)``: ``row @ D.T`` is the Savitzky--Golay 2nd difference."""
    return signal.savgol_filter(
        np.eye(columns), window, polyorder=2, deriv=2, axis=0, mode="interp"
    )


def curvature_image(measured_mm, x, beam: Beam, camera: Camera) -> np.ndarray:
    """Curvature in 1/m along each row of a measured deflection ``(frames, columns)`` in mm.

    A Savitzky--Golay second derivative (quadratic, ``camera.window`` columns) along
    the beam, then 0 where a column does not look at the beam (``x`` outside
    ``[0, 1]``). A straight line (rigid motion) gives exactly 0.
    """
    spacing = beam.length / camera.columns
    operator = _second_derivative_operator(camera.columns, camera.window)
    kappa = (np.asarray(measured_mm, float) * 1e-3) @ operator.T / spacing**2
    return np.where((x >= 0) & (x <= 1), kappa, 0.0)


def render(kappa: np.ndarray) -> np.ndarray:
    """Bending-strain picture in ``[0, 1]``: ``|kappa| / max |kappa|`` (0 = straight).

    Args:
        kappa: curvature in 1/m, shape ``(frames, columns)`` from
            :func:`curvature_image` (any shape works).

    Returns:
        the picture, same shape as ``kappa``, values in ``[0, 1]``; all zero if
        ``kappa`` is all zero.

    >>> render(np.array([[2.0, -4.0], [0.0, 1.0]])).tolist()
    [[0.5, 1.0], [0.0, 0.25]]
    """
    magnitude = np.abs(kappa)
    scale = magnitude.max()
    return magnitude / scale if scale > 0 else magnitude


class BeamDataset(NamedTuple):
    """``images`` ``(N, frames, columns, 1)`` in [0, 1], ``labels`` ``(N,)`` (0 normal,
    1 fault), ``fault_positions`` ``(N,)`` as fractions of L (NaN if normal),
    ``severities`` ``(N,)`` (0 if normal)."""

    images: np.ndarray
    labels: np.ndarray
    fault_positions: np.ndarray
    severities: np.ndarray


def make_dataset(
    n: int,
    seed: int = 0,
    beam: Beam | None = None,
    camera: Camera | None = None,
    fault_fraction: float = 0.5,
    severity_range: tuple[float, float] = (0.35, 0.7),
    position_range: tuple[float, float] = (0.05, 0.7),
    frequency_range: tuple[float, float] = (0.8, 1.25),
    amplitude_mm: tuple[float, float] = (0.5, 2.0),
    damage_length: float = 0.04,
    progress: bool | None = None,
) -> BeamDataset:
    """Simulate ``n`` camera images of the vibrating beam, normal or faulty.

    Every sample draws (uniformly): a fault or not, the fault position and
    severity, the excitation frequency (as a multiple of the healthy first natural
    frequency, default 0.8 to 1.25: around the first resonance, where the beam
    moves most), the base amplitude ``Y`` in mm, the measurement noise in mm
    (``camera.noise_mm``) and the pose. Unless ``fault_fraction`` is 0 or 1, the
    first sample is normal and the second faulty, then at random.

    The default fault ranges are the *detectable* ones for the default camera
    (severity >= 0.35, centre <= 0.7 L): near the free tip the bending moment, and
    with it the fault's curvature signature, goes to zero. Widen the ranges to see
    where detection and localization fail.

    Args:
        n: number of images.
        seed: everything is drawn from ``np.random.default_rng(seed)``: same seed,
            same dataset.
        beam, camera: :class:`Beam` and :class:`Camera` (defaults if None).
        fault_fraction: probability of a fault.
        severity_range: stiffness loss :math:`s` of faults.
        position_range: fault centre :math:`x_f / L`.
        frequency_range: excitation frequency in units of the healthy :math:`f_1`.
        amplitude_mm: base amplitude :math:`Y` in mm.
        damage_length: length of the damaged zone, fraction of ``L``.
        progress: show a tqdm bar (default: if ``n >= 1000``).

    Returns:
        :class:`BeamDataset` ``(images, labels, fault_positions, severities)``.

    >>> images, labels, positions, severities = make_dataset(4, seed=1)
    >>> images.shape, images.dtype
    ((4, 32, 64, 1), dtype('float32'))
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int (number of images); got {n!r}.")
    beam = Beam() if beam is None else beam
    camera = Camera() if camera is None else camera
    for name, (lo, hi), bounds in (
        ("severity_range", severity_range, (0, 1)),
        ("position_range", position_range, (0, 1)),
        ("frequency_range", frequency_range, (0, np.inf)),
        ("amplitude_mm", amplitude_mm, (0, np.inf)),
    ):
        if not bounds[0] <= lo <= hi <= bounds[1] or (name == "severity_range" and hi >= 1):
            raise ValueError(
                f"{name} must be (low, high) with {bounds[0]} <= low <= high "
                f"{'< 1' if name == 'severity_range' else f'<= {bounds[1]}'}; "
                f"got {(lo, hi)}."
            )
    if not 0 <= fault_fraction <= 1:
        raise ValueError(f"fault_fraction must be a probability in [0, 1]; got {fault_fraction}.")
    rng = np.random.default_rng(seed)
    labels = (rng.uniform(size=n) < fault_fraction).astype(np.int64)
    if 0 < fault_fraction < 1:
        labels[: min(n, 2)] = [0, 1][: min(n, 2)]
    positions = np.where(labels == 1, rng.uniform(*position_range, n), np.nan)
    severities = np.where(labels == 1, rng.uniform(*severity_range, n), 0.0)
    f1 = beam.natural_frequencies_analytical(1)[0]
    frequencies = rng.uniform(*frequency_range, n) * f1
    amplitudes = rng.uniform(*amplitude_mm, n) * 1e-3
    noises = rng.uniform(*camera.noise_mm, n)
    sample_seeds = rng.integers(0, 2**63 - 1, n)
    images = np.empty((n, camera.frames, camera.columns, 1), np.float32)
    show = n >= 1000 if progress is None else progress
    indices = range(n)
    if show:
        from tqdm import tqdm

        indices = tqdm(indices, desc="simulating beams", file=sys.stdout, mininterval=1.0)
    for i in indices:
        fault = (positions[i], severities[i], damage_length) if labels[i] else ()
        q = steady_state(beam, frequencies[i], amplitudes[i], *fault)
        sample_rng = np.random.default_rng(sample_seeds[i])
        measured, x = measured_deflection(beam, q, amplitudes[i], camera, sample_rng, noises[i])
        images[i, ..., 0] = render(curvature_image(measured, x, beam, camera))
    return BeamDataset(images, labels, positions, severities)


def paint_stripe(images, position: float, height: float, width: float = 1.5) -> np.ndarray:
    """A painted crack: ``images`` with the same Gaussian stripe added to every frame,
    ``height`` bright (in picture maxima) and ``width`` columns wide (its sd), centred at
    ``position`` (fraction of the beam), clipped to ``[0, 1]``. Its excess is symmetric
    about ``position``; a real crack's excess instead follows the bending, frame by frame.

    Args:
        images: ``(N, H, W, 1)`` beam images.

    Returns:
        ``(N, H, W, 1)`` painted copies.

    >>> painted = paint_stripe(np.zeros((1, 2, 64, 1)), 0.5, height=0.2)
    >>> painted.shape, round(float(painted[0, 0, 31, 0]), 3), round(float(painted[0, 1, 32, 0]), 3)
    ((1, 2, 64, 1), 0.189, 0.189)
    """
    x = np.asarray(images, np.float64)
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"images must be (N, H, W, 1) beam images; got shape {x.shape}.")
    columns = np.arange(x.shape[2]) + 0.5
    stripe = height * np.exp(-0.5 * ((columns - position * x.shape[2]) / width) ** 2)
    return np.clip(x + stripe[:, None], 0, 1)


def noise_free_profile(
    fault_position: float = 0.5,
    severity: float = 0.0,
    beam: Beam | None = None,
    camera: Camera | None = None,
) -> np.ndarray:
    """What the physics alone puts in a picture: its brightness along the beam, ``(columns,)``.

    The mean over the frames of one :func:`make_dataset` picture (seed 0), filmed at the
    healthy first resonance by ``camera`` with its noise, pose shift, shake and tilt set
    to zero. With ``severity`` 0 the beam is healthy (``fault_position`` is ignored); a
    faulty profile minus the healthy one is the stripe the fault adds.

    Args:
        fault_position: :math:`x_f / L` of the fault, in ``[0, 1]``.
        severity: :math:`s` in ``[0, 1)``; 0 for a healthy beam.
        beam, camera: :class:`Beam` and :class:`Camera` (defaults if None).

    Returns:
        ``(camera.columns,)``, in units of the picture's maximum (as the images are).

    >>> stripe = noise_free_profile(0.5, 0.5) - noise_free_profile()
    >>> stripe.shape, int(stripe.argmax())  # column 31 ends at x = 0.5 L
    ((64,), 31)
    """
    camera = Camera() if camera is None else camera
    quiet = replace(camera, noise_mm=(0.0, 0.0), shift_px=0.0, shake_mm=0.0, tilt_mrad=0.0)
    one = make_dataset(
        1,
        beam=beam,
        camera=quiet,
        fault_fraction=float(severity > 0),
        severity_range=(severity, severity),
        position_range=(fault_position, fault_position),
        frequency_range=(1.0, 1.0),
    )
    return one.images[0, ..., 0].mean(axis=0)

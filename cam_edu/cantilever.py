r"""A base-excited cantilever beam with a fault, filmed while it vibrates.

The course's machine example (after Sun et al., IEEE Access 8, 2020): a camera
films a cantilever beam shaken at its clamp; a GAP CNN tells *normal* from *fault*
and its CAM points at the fault. The original videos are not public, so this
module simulates them from physics, which also gives the true fault position.

**Beam.** Euler--Bernoulli, clamped at :math:`x = 0`, free at :math:`x = L`,
discretized with cubic Hermite finite elements (nodal deflection :math:`w` and
slope :math:`\theta`). The healthy natural frequencies are

.. math::

    \omega_n = (\beta_n L)^2 \sqrt{\frac{EI}{\rho A L^4}}, \qquad
    \beta_n L = 1.8751,\ 4.6941,\ 7.8548,\ 10.9955, \dots

**Fault.** As in the structural-health-monitoring literature, a crack is a local
loss of bending stiffness: over a zone of length :math:`\ell` centred at
:math:`x_f` the stiffness is :math:`(1 - s)\,EI` with severity :math:`s \in [0, 1)`.
Under the same bending moment the slope jumps across the zone by
:math:`\Delta\theta = M \ell\, s / ((1 - s) EI)`, exactly like a rotational spring
of stiffness :math:`k_r = (1 - s) EI / (s \ell)`.

**Excitation.** The clamp moves as :math:`y_b(t) = Y \cos \Omega t`. The
deflection :math:`u(x, t)` relative to the clamp obeys
:math:`M\ddot u + C\dot u + K u = -M r\,\ddot y_b` (:math:`r` = 1 on the deflection
degrees of freedom); it is solved in steady state by modal superposition of all
finite-element modes with modal damping ratio :math:`\zeta`.

**Camera.** Each image column looks at one position along the beam, each row is
one frame of one vibration period. The camera measures the beam's total deflection
:math:`y_b + u` with noise and with small pose jitter (per-frame shake and tilt, a
sub-pixel shift along the beam). The image shows the **curvature**
:math:`\kappa = \partial^2 w / \partial x^2` estimated from the measured
deflection (a Savitzky--Golay second derivative along each row, as in the
curvature-mode-shape method of Pandey et al., J. Sound Vib. 145, 1991). Why
curvature: the fault changes the deflection only by a barely visible kink, but the
curvature in the damaged zone jumps by the factor :math:`1 / (1 - s)` (the bending
moment is nearly unchanged, the stiffness is not). Rigid motion -- the base
motion, camera shake and tilt -- has zero curvature and drops out.

**What cannot be seen.** The curvature bump is :math:`\kappa(x_f)\,s / (1 - s)`:
it vanishes where the bending moment vanishes, at the free tip, so faults near the
tip are physically hard to detect; faults near the clamp sit at the image border.

Units are SI unless a name says otherwise (``_mm``, ``_hz``). Positions along the
beam are fractions of the beam length :math:`L`.

>>> data = make_dataset(8, seed=0)
>>> data.images.shape, data.labels.tolist()[:4]
((8, 32, 64, 1), [0, 1, 1, 1])
>>> bool(np.isnan(data.fault_positions[data.labels == 0]).all())
True
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import linalg, signal

from cam_edu.validate import as_heatmap

#: Healthy cantilever eigenvalues :math:`\beta_n L`, the roots of
#: :math:`1 + \cos\beta L\cosh\beta L = 0`.
BETA_L = (1.8751040687, 4.6940911330, 7.8547574382, 10.9955407349)


@dataclass(frozen=True)
class Beam:
    """A uniform rectangular cantilever beam (defaults: a steel ruler, 300 x 20 x 2 mm).

    Attributes:
        length: :math:`L` in m.
        width: cross-section width :math:`b` in m.
        thickness: cross-section height :math:`h` in m (bending is across it).
        youngs_modulus: :math:`E` in Pa.
        density: :math:`\\rho` in kg/m^3.
        damping_ratio: modal damping ratio :math:`\\zeta` of every mode (dimensionless).
        n_elements: number of finite elements along the beam.

    >>> round(float(Beam().natural_frequencies_analytical()[0]), 2)  # Hz
    18.12
    """

    length: float = 0.300
    width: float = 0.020
    thickness: float = 0.002
    youngs_modulus: float = 200e9
    density: float = 7850.0
    damping_ratio: float = 0.01
    n_elements: int = 100

    def __post_init__(self):
        for name in ("length", "width", "thickness", "youngs_modulus", "density"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"Beam.{name} must be a positive number (SI units); got {value}.")
        if not 0 <= self.damping_ratio < 1:
            raise ValueError(
                f"Beam.damping_ratio must lie in [0, 1) (e.g. 0.01 for 1 %); got "
                f"{self.damping_ratio}."
            )
        if int(self.n_elements) != self.n_elements or self.n_elements < 4:
            raise ValueError(f"Beam.n_elements must be an int >= 4; got {self.n_elements}.")

    @property
    def bending_stiffness(self) -> float:
        """:math:`EI` in N m^2, with :math:`I = b h^3 / 12`."""
        return self.youngs_modulus * self.width * self.thickness**3 / 12.0

    @property
    def mass_per_length(self) -> float:
        """:math:`\\rho A` in kg/m."""
        return self.density * self.width * self.thickness

    def natural_frequencies_analytical(self, n_modes: int = 3) -> np.ndarray:
        """Healthy natural frequencies in Hz, ``(n_modes,)``.

        :math:`f_n = (\\beta_n L)^2 \\sqrt{EI/(\\rho A L^4)} / 2\\pi`.
        """
        if not 1 <= n_modes <= len(BETA_L):
            raise ValueError(f"n_modes must lie in [1, {len(BETA_L)}]; got {n_modes}.")
        scale = np.sqrt(self.bending_stiffness / (self.mass_per_length * self.length**4))
        return np.asarray(BETA_L[:n_modes]) ** 2 * scale / (2 * np.pi)


def _check_fault(fault_position, severity, damage_length) -> None:
    if severity is None or severity == 0:
        return
    if not 0 < severity < 1:
        raise ValueError(
            f"severity must lie in [0, 1): the fraction of bending stiffness lost in the "
            f"damaged zone (0 = healthy); got {severity}."
        )
    if fault_position is None or not 0 <= fault_position <= 1:
        raise ValueError(
            f"fault_position must be a fraction of the beam length in [0, 1] (0 = clamp, "
            f"1 = tip); got {fault_position}. Divide a position in metres by Beam.length."
        )
    if not 0 < damage_length <= 0.5:
        raise ValueError(
            f"damage_length must be a fraction of the beam length in (0, 0.5]; got {damage_length}."
        )


def stiffness_factors(
    beam: Beam, fault_position=None, severity: float = 0.0, damage_length: float = 0.04
) -> np.ndarray:
    """Bending stiffness of each element as a fraction of the healthy :math:`EI`, shape ``(E,)``.

    The zone ``[x_f - l/2, x_f + l/2]`` (clipped to the beam) has stiffness
    ``(1 - s) EI``. An element that the zone covers by a fraction ``f`` gets the
    series (flexibility-averaged) stiffness ``1 / ((1 - f) + f / (1 - s))``, so the
    slope jump across the zone does not depend on where the element edges lie.

    Args:
        beam: the :class:`Beam`.
        fault_position: :math:`x_f / L` in ``[0, 1]``; ignored if ``severity`` is 0.
        severity: :math:`s` in ``[0, 1)``.
        damage_length: :math:`\\ell / L`.

    >>> f = stiffness_factors(Beam(n_elements=10), 0.22, 0.5, damage_length=0.1)
    >>> f.round(3).tolist()  # the zone [0.17, 0.27] covers 30 % and 70 % of two elements
    [1.0, 0.769, 0.588, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    _check_fault(fault_position, severity, damage_length)
    n = int(beam.n_elements)
    if not severity:
        return np.ones(n)
    edges = np.linspace(0.0, 1.0, n + 1)
    lo, hi = fault_position - damage_length / 2, fault_position + damage_length / 2
    covered = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None) * n
    return 1.0 / ((1.0 - covered) + covered / (1.0 - severity))


def assemble(beam: Beam, factors=None) -> tuple[np.ndarray, np.ndarray]:
    """Global stiffness and mass matrices of the clamped beam, each ``(2E, 2E)``.

    Degrees of freedom: ``(w_1, theta_1, ..., w_E, theta_E)`` at nodes ``1..E``
    (node 0, the clamp, is removed). Units: K in N/m (and N, N m for the slope
    rows/columns), M in kg.

    Args:
        beam: the :class:`Beam`.
        factors: element stiffness fractions ``(E,)`` from :func:`stiffness_factors`.
    """
    n = int(beam.n_elements)
    factors = np.ones(n) if factors is None else np.asarray(factors, float)
    if factors.shape != (n,) or np.any(factors <= 0):
        raise ValueError(
            f"factors must be {n} positive stiffness fractions, one per element; got shape "
            f"{factors.shape}."
        )
    h = beam.length / n
    k_e = np.array(
        [
            [12, 6 * h, -12, 6 * h],
            [6 * h, 4 * h * h, -6 * h, 2 * h * h],
            [-12, -6 * h, 12, -6 * h],
            [6 * h, 2 * h * h, -6 * h, 4 * h * h],
        ]
    ) * (beam.bending_stiffness / h**3)
    m_e = np.array(
        [
            [156, 22 * h, 54, -13 * h],
            [22 * h, 4 * h * h, 13 * h, -3 * h * h],
            [54, 13 * h, 156, -22 * h],
            [-13 * h, -3 * h * h, -22 * h, 4 * h * h],
        ]
    ) * (beam.mass_per_length * h / 420)
    size = 2 * (n + 1)
    k, m = np.zeros((size, size)), np.zeros((size, size))
    for e in range(n):
        dofs = slice(2 * e, 2 * e + 4)
        k[dofs, dofs] += factors[e] * k_e
        m[dofs, dofs] += m_e
    return k[2:, 2:], m[2:, 2:]


def natural_frequencies(
    beam: Beam | None = None,
    fault_position=None,
    severity: float = 0.0,
    damage_length: float = 0.04,
    n_modes: int = 3,
) -> np.ndarray:
    """The lowest ``n_modes`` natural frequencies in Hz, shape ``(n_modes,)``.

    Solves the generalized eigenproblem :math:`K \\phi = \\omega^2 M \\phi` of the
    finite-element model.

    >>> f = natural_frequencies(Beam())
    >>> np.allclose(f, Beam().natural_frequencies_analytical(), rtol=1e-3)
    True
    >>> bool(natural_frequencies(Beam(), 0.2, 0.5)[0] < f[0])  # a fault lowers them
    True
    """
    beam = Beam() if beam is None else beam
    k, m = assemble(beam, stiffness_factors(beam, fault_position, severity, damage_length))
    if not 1 <= n_modes <= len(k):
        raise ValueError(f"n_modes must lie in [1, {len(k)}]; got {n_modes}.")
    eigenvalues = linalg.eigh(k, m, eigvals_only=True, subset_by_index=(0, n_modes - 1))
    return np.sqrt(eigenvalues) / (2 * np.pi)


def _banded(a: np.ndarray, half_band: int = 3) -> np.ndarray:
    """The ``(2 half_band + 1, D)`` banded storage of ``scipy.linalg.solve_banded``."""
    n = len(a)
    ab = np.zeros((2 * half_band + 1, n), a.dtype)
    for offset in range(-half_band, half_band + 1):
        diagonal = np.diagonal(a, offset)
        if offset >= 0:
            ab[half_band - offset, offset:] = diagonal
        else:
            ab[half_band - offset, : n + offset] = diagonal
    return ab


def steady_state(
    beam: Beam,
    frequency_hz: float,
    base_amplitude: float,
    fault_position=None,
    severity: float = 0.0,
    damage_length: float = 0.04,
) -> np.ndarray:
    """Complex nodal amplitudes ``(2E,)`` of the deflection relative to the clamp.

    The clamp moves as ``Y cos(Omega t)``; the relative deflection at node ``j``
    (``x = j L / E``) is ``Re(q[2 j - 2] * exp(1j * Omega * t))`` in m, and
    ``q[2 j - 1]`` is the slope in rad. Solves
    :math:`(K (1 + i\\eta) - \\Omega^2 M)\\, q = \\Omega^2 Y M r` with structural
    damping of loss factor :math:`\\eta = 2\\zeta` (``beam.damping_ratio``), which
    damps every resonance like a modal damping ratio :math:`\\zeta`.

    Args:
        beam: the :class:`Beam`.
        frequency_hz: excitation frequency :math:`\\Omega / 2\\pi` in Hz.
        base_amplitude: :math:`Y` in m.
        fault_position, severity, damage_length: the fault (see :func:`stiffness_factors`).

    >>> q = steady_state(Beam(), 5.0, 1e-3)
    >>> q.shape, q.dtype
    ((200,), dtype('complex128'))
    """
    if not np.isfinite(frequency_hz) or frequency_hz <= 0:
        raise ValueError(f"frequency_hz must be a positive number of Hz; got {frequency_hz}.")
    if not np.isfinite(base_amplitude):
        raise ValueError(f"base_amplitude must be a finite number of m; got {base_amplitude}.")
    k, m = assemble(beam, stiffness_factors(beam, fault_position, severity, damage_length))
    big_omega = 2 * np.pi * frequency_hz
    dynamic = k * (1 + 2j * beam.damping_ratio) - big_omega**2 * m
    r = np.zeros(len(k))
    r[0::2] = 1.0
    return linalg.solve_banded((3, 3), _banded(dynamic), big_omega**2 * base_amplitude * (m @ r))


def deflection(beam: Beam, q, x, derivative: int = 0) -> np.ndarray:
    """Evaluate the finite-element field at positions ``x`` (fractions of ``L``).

    Args:
        beam: the :class:`Beam` (``E = beam.n_elements`` elements).
        q: nodal amplitudes ``(2E,)`` (real or complex) from :func:`steady_state`.
        x: positions in ``[0, 1]``, any shape ``S``.
        derivative: 0 for the deflection (m), 1 for the slope (rad), 2 for the
            curvature (1/m), each exact inside an element for cubic Hermite shapes.

    Returns:
        the field at ``x``, shape ``S`` (the shape of ``x``); complex if ``q`` is.

    >>> deflection(Beam(), np.zeros(200), np.linspace(0, 1, 5)).shape
    (5,)
    """
    n = int(beam.n_elements)
    x = np.asarray(x, float)
    outside = x[~((x >= 0) & (x <= 1))]
    if outside.size:
        raise ValueError(
            f"x must hold fractions of the beam length in [0, 1] (0 = clamp, 1 = tip); got "
            f"{outside.size} value(s) outside, e.g. {float(outside.flat[0])!r} (x ranges over "
            f"[{np.nanmin(x):g}, {np.nanmax(x):g}]). For positions in m divide by beam.length; "
            "clip positions just past the ends with np.clip(x, 0, 1)."
        )
    full = np.concatenate([[0.0, 0.0], np.asarray(q)])
    e = np.minimum((x * n).astype(int), n - 1)
    xi = x * n - e
    h = beam.length / n
    if derivative == 0:
        shapes = [1 - 3 * xi**2 + 2 * xi**3, h * (xi - 2 * xi**2 + xi**3), 3 * xi**2 - 2 * xi**3]
        shapes.append(h * (xi**3 - xi**2))
    elif derivative == 1:
        shapes = [(6 * xi**2 - 6 * xi) / h, 1 - 4 * xi + 3 * xi**2, (6 * xi - 6 * xi**2) / h]
        shapes.append(3 * xi**2 - 2 * xi)
    elif derivative == 2:
        shapes = [(12 * xi - 6) / h**2, (6 * xi - 4) / h, (6 - 12 * xi) / h**2, (6 * xi - 2) / h]
    else:
        raise ValueError(f"derivative must be 0, 1 or 2; got {derivative}.")
    return sum(s * full[2 * e + i] for i, s in enumerate(shapes))


# --------------------------------------------------------------------------- camera


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


# --------------------------------------------------------------------- localization


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


# --------------------------------------------------------------------------- model


def build_beam_cnn(
    input_shape: tuple[int, int, int] = (32, 64, 1),
    filters: tuple[int, int, int] = (16, 32, 64),
    num_classes: int = 1,
    activation: str = "sigmoid",
    seed: int = 0,
    name: str = "beam_cnn",
):
    """A GAP CNN for space--time beam images that keeps resolution along the beam.

    Like :func:`cam_edu.models.build_gap_cnn`, but the second pooling halves only
    the time axis, so the ``features`` layer is ``(N, H/4, W/2, K)``: for
    ``32 x 64`` images, ``8 x 32`` cells, one cell per 1/32 of the beam.

    Default head: one weight vector and a sigmoid (``num_classes=1``), the
    lecture's binary form; use ``num_classes=2, activation="softmax"`` for two.

    >>> build_beam_cnn().get_layer("features").output.shape  # doctest: +SKIP
    (None, 8, 32, 64)
    """
    import keras

    from cam_edu.models import _conv_stack

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            *_conv_stack(input_shape, filters, pool_sizes=((2, 2), (2, 1))),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(num_classes, activation=activation, name="predictions"),
        ],
        name=name,
    )

r"""Physics of the cantilever: an Euler--Bernoulli beam with a crack, shaken at its clamp.

Cubic Hermite finite elements, a crack as a local loss of bending stiffness, and the
steady-state response to base excitation with structural damping, by one banded solve
(see the package :mod:`cam_edu.course.cantilever` for the equations).

>>> f = natural_frequencies(Beam(), n_modes=1)
>>> round(float(f[0]) / float(Beam().natural_frequencies_analytical(1)[0]), 3)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

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
        damping_ratio: :math:`\\zeta`: structural damping of loss factor :math:`2\\zeta`, which
            damps every resonance like a modal damping ratio :math:`\\zeta` (dimensionless).
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


def curvature_change(
    beam: Beam,
    fault_position: float,
    severity: float,
    frequency_hz: float,
    x,
    damage_length: float = 0.04,
) -> np.ndarray:
    """What a fault adds to the bending-strain picture, noise-free: where it is largest.

    The amplitude of the curvature :math:`|\\hat\\kappa(x)|` of the faulty and of the
    healthy beam, shaken at the clamp at ``frequency_hz``, each scaled to its maximum as
    the images are (:func:`cam_edu.course.cantilever.render`), and their difference.
    The base amplitude cancels out of the scaled pictures.

    Args:
        beam: the :class:`Beam`.
        fault_position, severity, damage_length: the fault (see :func:`stiffness_factors`).
        frequency_hz: excitation frequency in Hz.
        x: positions along the beam in ``[0, 1]``, shape ``(P,)``.

    Returns:
        ``(P,)``: faulty minus healthy, in units of each picture's maximum; its argmax
        is where the fault's evidence is strongest.

    >>> x = np.linspace(0, 1, 101)
    >>> change = curvature_change(Beam(), 0.4, 0.5, 18.0, x)
    >>> change.shape, float(x[change.argmax()])  # inside the damaged zone 0.38-0.42
    ((101,), 0.38)
    """
    x = np.asarray(x, float)
    pictures = []
    for fault in ((), (fault_position, severity, damage_length)):
        kappa = np.abs(deflection(beam, steady_state(beam, frequency_hz, 1.0, *fault), x, 2))
        pictures.append(kappa / kappa.max())
    return pictures[1] - pictures[0]

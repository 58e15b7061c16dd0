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
Under the same bending moment :math:`M_b` the slope changes across the zone by
:math:`\Delta\theta = M_b \ell\, s / ((1 - s) EI)` more than in a healthy beam, as
across a rotational spring of stiffness :math:`k_r = (1 - s) EI / (s \ell)`.

**Excitation.** The clamp moves as :math:`y_b(t) = Y \cos \Omega t`. The steady-state
deflection relative to the clamp, :math:`u = \mathrm{Re}[\hat u\, e^{i \Omega t}]`, is
solved for directly (one banded linear solve, no modal expansion):
:math:`(K (1 + 2 i \zeta) - \Omega^2 M)\, \hat u = \Omega^2 Y M r` (:math:`K`, :math:`M` the
stiffness and mass matrices, :math:`r` = 1 on the deflection degrees of freedom).
The damping is structural, of loss factor :math:`2\zeta`: it damps
every resonance like a modal damping ratio :math:`\zeta`.

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
>>> import numpy as np
>>> bool(np.isnan(data.fault_positions[data.labels == 0]).all())
True

Modules: :mod:`.physics` (beam, crack, excitation), :mod:`.imaging` (camera,
curvature images, data set), :mod:`.localization` (CAM peak, error, chance baseline).
"""

from cam_edu.course.cantilever.imaging import (
    BeamDataset,
    Camera,
    beyond_tip,
    curvature_image,
    make_dataset,
    measured_deflection,
    noise_free_profile,
    paint_stripe,
    render,
)
from cam_edu.course.cantilever.localization import (
    bump_contrast,
    bump_scan,
    cam_peak_position,
    cam_profile,
    chance_localization_errors,
    excess_peak_position,
    expected_chance_error,
    localization_error,
)
from cam_edu.course.cantilever.physics import (
    BETA_L,
    Beam,
    assemble,
    curvature_change,
    deflection,
    natural_frequencies,
    steady_state,
    stiffness_factors,
)
from cam_edu.course.models import build_beam_cnn

__all__ = [
    "BETA_L",
    "Beam",
    "BeamDataset",
    "Camera",
    "assemble",
    "beyond_tip",
    "build_beam_cnn",
    "bump_contrast",
    "bump_scan",
    "cam_peak_position",
    "cam_profile",
    "chance_localization_errors",
    "curvature_change",
    "curvature_image",
    "deflection",
    "excess_peak_position",
    "expected_chance_error",
    "localization_error",
    "make_dataset",
    "measured_deflection",
    "natural_frequencies",
    "noise_free_profile",
    "paint_stripe",
    "render",
    "steady_state",
    "stiffness_factors",
]

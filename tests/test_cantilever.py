"""The cantilever-beam fault example: physics, camera images, dataset, localization metric."""

import numpy as np
import pytest

from cam_edu.course.cantilever import (
    BETA_L,
    Beam,
    Camera,
    assemble,
    cam_peak_position,
    cam_profile,
    chance_localization_errors,
    curvature_image,
    deflection,
    expected_chance_error,
    localization_error,
    make_dataset,
    natural_frequencies,
    noise_free_profile,
    steady_state,
    stiffness_factors,
)

BEAM = Beam()


# ------------------------------------------------------------------------- physics


def test_beta_l_are_roots_of_the_cantilever_frequency_equation():
    for bl in BETA_L:
        assert abs(1 + np.cos(bl) * np.cosh(bl)) < 1e-6 * np.cosh(bl)


def test_healthy_frequencies_match_euler_bernoulli_within_1_percent():
    fe = natural_frequencies(BEAM, n_modes=4)
    ei, rho_a, length = BEAM.bending_stiffness, BEAM.mass_per_length, BEAM.length
    analytical = np.array(BETA_L) ** 2 * np.sqrt(ei / (rho_a * length**4)) / (2 * np.pi)
    np.testing.assert_allclose(fe, analytical, rtol=0.01)
    np.testing.assert_allclose(fe[:3], BEAM.natural_frequencies_analytical(3), rtol=1e-4)


def test_units_of_the_default_steel_beam():
    # I = b h^3 / 12 = 0.02 * 0.002^3 / 12 m^4; E I in N m^2; rho A in kg/m.
    assert BEAM.bending_stiffness == pytest.approx(200e9 * 0.02 * 0.002**3 / 12)
    assert BEAM.mass_per_length == pytest.approx(7850 * 0.02 * 0.002)
    # f1 = 1.8751^2 / (2 pi) * sqrt(EI / (rho A L^4)) = 18.1 Hz for a 30 cm steel ruler.
    assert BEAM.natural_frequencies_analytical(1)[0] == pytest.approx(18.12, abs=0.01)
    # Doubling the length divides every frequency by 4 (omega ~ 1 / L^2).
    long = Beam(length=0.6)
    np.testing.assert_allclose(natural_frequencies(long), natural_frequencies(BEAM) / 4, rtol=1e-6)


def test_fault_lowers_every_frequency_and_more_when_more_severe():
    healthy = natural_frequencies(BEAM)
    mild = natural_frequencies(BEAM, 0.3, 0.3)
    severe = natural_frequencies(BEAM, 0.3, 0.6)
    assert np.all(mild < healthy)
    assert np.all(severe < mild)


def test_first_mode_is_most_sensitive_to_a_fault_at_the_clamp():
    # Frequency loss scales with the modal strain energy at the fault: largest at
    # the clamp for mode 1, vanishing at the free tip where the curvature is zero.
    drop = [
        1 - natural_frequencies(BEAM, x, 0.5)[0] / natural_frequencies(BEAM)[0]
        for x in (0.05, 0.5, 0.97)
    ]
    assert drop[0] > drop[1] > drop[2] > 0
    assert drop[2] < 0.01 * drop[0]


def test_stiffness_factors_keep_the_zone_flexibility():
    factors = stiffness_factors(BEAM, 0.333, 0.4, damage_length=0.05)
    # sum of element flexibilities (1/factor - 1) * h equals the zone's s / (1 - s) * l.
    extra = (1 / factors - 1).sum() / BEAM.n_elements
    assert extra == pytest.approx(0.05 * 0.4 / 0.6)
    assert np.all(factors[:25] == 1) and np.all(factors[40:] == 1)
    np.testing.assert_array_equal(stiffness_factors(BEAM), np.ones(BEAM.n_elements))


def test_quasi_static_response_is_the_uniform_load_solution():
    # Far below resonance the inertial load is uniform, q = rho A Omega^2 Y, and the
    # tip deflects by q L^4 / (8 EI) (exact for cubic Hermite elements).
    beam = Beam(damping_ratio=0.0)
    f = 1e-3 * natural_frequencies(beam, n_modes=1)[0]
    y = 1e-3
    q = steady_state(beam, f, y)
    load = beam.mass_per_length * (2 * np.pi * f) ** 2 * y
    tip = load * beam.length**4 / (8 * beam.bending_stiffness)
    assert deflection(beam, q, np.array([1.0]))[0].real == pytest.approx(tip, rel=1e-5)
    # ... and the curvature is M / EI with M(x) = q (L - x)^2 / 2.
    x = np.array([0.1, 0.5, 0.8])
    kappa = deflection(beam, q, x, derivative=2).real
    expected = load * (beam.length * (1 - x)) ** 2 / (2 * beam.bending_stiffness)
    np.testing.assert_allclose(kappa, expected, rtol=0.02)


def test_fault_multiplies_the_curvature_in_its_zone_by_one_over_one_minus_s():
    # Statically determinate: the moment is unchanged, the stiffness is (1 - s) EI.
    beam = Beam(damping_ratio=0.0)
    f = 1e-3 * natural_frequencies(beam, n_modes=1)[0]
    healthy = steady_state(beam, f, 1e-3)
    faulty = steady_state(beam, f, 1e-3, 0.405, 0.5, damage_length=0.05)
    inside, outside = np.array([0.395, 0.405, 0.415]), np.array([0.2, 0.6])
    ratio_in = deflection(beam, faulty, inside, 2).real / deflection(beam, healthy, inside, 2).real
    ratio_out = (
        deflection(beam, faulty, outside, 2).real / deflection(beam, healthy, outside, 2).real
    )
    np.testing.assert_allclose(ratio_in, 2.0, rtol=1e-3)
    np.testing.assert_allclose(ratio_out, 1.0, rtol=1e-3)


def test_banded_solver_agrees_with_a_dense_solve():
    beam = Beam(n_elements=20)
    f = 30.0
    q = steady_state(beam, f, 2e-3, 0.6, 0.3)
    k, m = assemble(beam, stiffness_factors(beam, 0.6, 0.3))
    omega = 2 * np.pi * f
    r = np.zeros(len(k))
    r[0::2] = 1
    dense = np.linalg.solve(
        k * (1 + 2j * beam.damping_ratio) - omega**2 * m, omega**2 * 2e-3 * m @ r
    )
    np.testing.assert_allclose(q, dense, rtol=1e-9, atol=1e-15)


def test_response_peaks_at_resonance_with_quality_factor_one_over_two_zeta():
    f1 = natural_frequencies(BEAM, n_modes=1)[0]
    tips = [
        abs(deflection(BEAM, steady_state(BEAM, r * f1, 1e-3), np.array([1.0]))[0])
        for r in (0.5, 0.99, 1.0, 1.01, 1.5)
    ]
    assert tips[2] == max(tips)
    # At resonance the first mode's amplification is 1 / (2 zeta) = 50 times its static one.
    static = abs(deflection(BEAM, steady_state(BEAM, 1e-3 * f1, 1e-3), np.array([1.0]))[0])
    static_at_f1 = static * 1e6  # the inertial load grows with Omega^2
    assert 30 < tips[2] / static_at_f1 < 60


def test_bad_physical_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="Beam.length must be a positive"):
        Beam(length=-1)
    with pytest.raises(ValueError, match="damping_ratio"):
        Beam(damping_ratio=1.5)
    with pytest.raises(ValueError, match="severity must lie in"):
        natural_frequencies(BEAM, 0.5, 1.0)
    with pytest.raises(ValueError, match="Divide a position in metres"):
        natural_frequencies(BEAM, 150.0, 0.3)
    with pytest.raises(ValueError, match="frequency_hz must be a positive"):
        steady_state(BEAM, -3.0, 1e-3)
    with pytest.raises(ValueError, match="derivative must be"):
        deflection(BEAM, np.zeros(2 * BEAM.n_elements), [0.5], derivative=3)


# -------------------------------------------------------------------------- camera


def test_rigid_motion_has_zero_curvature():
    camera = Camera()
    x = (np.arange(camera.columns) + 0.5) / camera.columns
    offset_and_tilt = 0.7 + 0.3 * np.arange(camera.frames)[:, None] * x[None, :]
    np.testing.assert_allclose(curvature_image(offset_and_tilt, x, BEAM, camera), 0, atol=1e-9)


def test_curvature_image_recovers_a_parabola():
    camera = Camera()
    x = (np.arange(camera.columns) + 0.5) / camera.columns
    w_mm = 1e3 * 0.5 * 2.0 * (x * BEAM.length) ** 2  # w = kappa x^2 / 2 with kappa = 2 / m
    kappa = curvature_image(np.tile(w_mm, (3, 1)), x, BEAM, camera)
    np.testing.assert_allclose(kappa, 2.0, rtol=1e-6)


# ------------------------------------------------------------------------- dataset


def test_dataset_shapes_ranges_and_labels():
    images, labels, positions, severities = make_dataset(12, seed=3)
    assert images.shape == (12, 32, 64, 1) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() == pytest.approx(1.0)
    assert set(labels.tolist()) == {0, 1}
    assert np.all(np.isnan(positions[labels == 0])) and np.all(severities[labels == 0] == 0)
    fault = labels == 1
    assert np.all((positions[fault] >= 0.05) & (positions[fault] <= 0.7))
    assert np.all((severities[fault] >= 0.35) & (severities[fault] <= 0.7))


def test_dataset_is_deterministic_per_seed():
    a, b, c = make_dataset(6, seed=5), make_dataset(6, seed=5), make_dataset(6, seed=6)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.images, c.images)


def test_fault_brightens_the_image_at_the_fault():
    # Noise-free, no shift: the curvature picture of a faulty beam exceeds the healthy
    # one most near the fault.
    camera = Camera(noise_mm=(0.0, 0.0), shift_px=0.0, shake_mm=0.0, tilt_mrad=0.0)
    kw = dict(camera=camera, frequency_range=(1.0, 1.0), amplitude_mm=(1.0, 1.0))
    healthy = make_dataset(1, seed=0, fault_fraction=0.0, **kw).images[0, ..., 0]
    for x_f in (0.2, 0.5):
        faulty = make_dataset(2, seed=0, position_range=(x_f, x_f), severity_range=(0.5, 0.5), **kw)
        excess = (faulty.images[1, ..., 0] - healthy).mean(axis=0)
        assert abs((excess.argmax() + 0.5) / camera.columns - x_f) < 0.04


def test_noise_free_profile_is_the_period_mean_of_the_curvature_amplitude():
    # Independent reference: the mean of |cos| over a period is 2/pi, and the picture is
    # divided by its maximum, the curvature the filter finds at the fourth column (the
    # first three repeat it: one parabola is fitted to the seven columns at the clamp).
    columns = (np.arange(64) + 0.5) / 64
    f1 = BEAM.natural_frequencies_analytical(1)[0]
    kappa = np.abs(deflection(BEAM, steady_state(BEAM, f1, 1e-3), columns, derivative=2))
    healthy = noise_free_profile()
    np.testing.assert_allclose(healthy[3:-3], 2 / np.pi * kappa[3:-3] / kappa[3], atol=2e-3)
    for x_f in (0.3, 0.6):
        stripe = noise_free_profile(x_f, 0.5) - healthy
        assert abs((stripe.argmax() + 0.5) / 64 - x_f) <= 1 / 64
    with pytest.raises(ValueError, match="severity_range"):
        noise_free_profile(0.5, 1.5)


def test_make_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be a positive int"):
        make_dataset(0)
    with pytest.raises(ValueError, match="severity_range"):
        make_dataset(2, severity_range=(0.5, 1.0))
    with pytest.raises(ValueError, match="position_range"):
        make_dataset(2, position_range=(0.2, 1.5))


# -------------------------------------------------------------------- localization


def test_cam_peak_position_maps_columns_to_beam_fractions():
    cam = np.zeros((2, 4, 16))
    cam[0, :, 0] = 1.0
    cam[1, :, 15] = 1.0
    np.testing.assert_allclose(cam_peak_position(cam, refine=False), [0.5 / 16, 15.5 / 16])
    # the same beam position at two CAM resolutions
    fine = np.zeros((8, 64))
    fine[:, 20:24] = 1.0
    coarse = np.zeros((2, 16))
    coarse[:, 5] = 1.0
    assert cam_peak_position(fine, refine=False) == pytest.approx(20.5 / 64)
    assert cam_peak_position(coarse) == pytest.approx(5.5 / 16)


def test_refined_peak_is_exact_on_a_parabola():
    j = np.arange(16)
    true_column = 6.3
    cam = np.tile(-((j - true_column) ** 2), (3, 1)).astype(float)
    assert cam_peak_position(cam) == pytest.approx((true_column + 0.5) / 16, abs=1e-6)
    assert cam_peak_position(cam, refine=False) == pytest.approx(6.5 / 16)


def test_cam_profile_averages_over_time():
    cam = np.arange(12, dtype=float).reshape(3, 4)
    np.testing.assert_allclose(cam_profile(cam), cam.mean(axis=0))
    assert cam_profile(np.zeros((5, 3, 4))).shape == (5, 4)


def test_localization_error_and_its_input_checks():
    np.testing.assert_allclose(localization_error([0.1, 0.9], [0.3, 0.2]), [0.2, 0.7])
    with pytest.raises(ValueError, match="labels == 1"):
        localization_error([0.1], [np.nan])
    with pytest.raises(ValueError, match="one predicted position per fault"):
        localization_error([0.1, 0.2], [0.3])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        localization_error([1.7], [0.3])


def test_chance_baseline_matches_its_closed_form():
    true = np.array([0.0, 0.1, 0.5, 0.8])
    errors = chance_localization_errors(true, draws=40000, seed=1)
    assert errors.shape == (4, 40000)
    np.testing.assert_allclose(errors.mean(axis=1), expected_chance_error(true), atol=0.005)
    # the median of a uniform guess at the middle of the beam is 1/4
    assert np.median(errors[2]) == pytest.approx(0.25, abs=0.01)


# -------------------------------------------------------------------------- input checks


def test_deflection_outside_the_beam_shows_the_value():
    q = np.zeros(2 * BEAM.n_elements)
    with pytest.raises(
        ValueError, match=r"(?s)x must hold fractions.*\[0, 1\].*1\.5.*beam\.length"
    ):
        deflection(BEAM, q, [0.2, 1.5])
    with pytest.raises(ValueError, match=r"(?s)-0\.1.*np\.clip"):
        deflection(BEAM, q, np.array([[-0.1, 0.5]]))
    assert deflection(BEAM, q, np.zeros((2, 3))).shape == (2, 3)


@pytest.mark.parametrize(
    "kwargs,error,fragments",
    [
        ({"window": 8}, ValueError, ("Camera.window", "odd", "got 8", "window=9")),
        ({"window": 1}, ValueError, ("Camera.window", "3 <= window", "got 1", "window=3")),
        ({"columns": 16, "window": 17}, ValueError, ("<= columns = 16", "got 17", "window=15")),
        ({"frames": 0}, ValueError, ("Camera.frames", ">= 1", "got 0", "default is 32")),
        ({"frames": 2.5}, TypeError, ("Camera.frames", "an int", "float 2.5", "frames=32")),
        ({"columns": 2, "window": 3}, ValueError, ("Camera.columns", ">= 3", "got 2")),
    ],
)
def test_camera_rejects_bad_geometry(kwargs, error, fragments):
    with pytest.raises(error) as info:
        Camera(**kwargs)
    message = str(info.value)
    assert all(f in message for f in fragments), message


def test_camera_accepts_a_valid_geometry():
    camera = Camera(frames=1, columns=9, window=9)
    assert (camera.frames, camera.columns, camera.window) == (1, 9, 9)


def test_render_is_the_normalized_strain_magnitude():
    from cam_edu.course.cantilever import render

    kappa = np.array([[2.0, -4.0], [0.0, 1.0]])
    np.testing.assert_allclose(render(kappa), np.abs(kappa) / 4.0)
    np.testing.assert_array_equal(render(np.zeros((3, 4))), np.zeros((3, 4)))


def test_beam_cnn_shares_the_lessons_conv_body_but_keeps_the_beam_axis():
    from cam_edu.course.cantilever import build_beam_cnn
    from cam_edu.course.models import build_gap_cnn

    beam, gap = build_beam_cnn(), build_gap_cnn(input_shape=(32, 64, 1), seed=0)
    names = [la.name for la in beam.layers]
    assert names == ["conv1", "pool1", "conv2", "pool2", "features", "gap", "predictions"]
    assert names[:5] == [la.name for la in gap.layers][:5]
    assert beam.get_layer("pool1").pool_size == (2, 2)
    assert beam.get_layer("pool2").pool_size == (2, 1)
    assert beam.get_layer("features").output.shape == (None, 8, 32, 64)
    assert beam.get_layer("predictions").activation.__name__ == "sigmoid"
    assert beam.get_layer("predictions").kernel.shape == (64, 1)


# ------------------------------------------------------------ where the evidence is


def test_curvature_change_peaks_at_the_fault_and_vanishes_without_one():
    from cam_edu.course.cantilever import curvature_change

    x = np.linspace(0, 1, 501)
    f1 = BEAM.natural_frequencies_analytical(1)[0]
    for position in (0.2, 0.5):
        change = curvature_change(BEAM, position, 0.5, f1, x)
        assert change.shape == (501,)
        assert abs(x[change.argmax()] - position) <= 0.025
    np.testing.assert_allclose(curvature_change(BEAM, 0.3, 0.0, f1, x), 0.0, atol=1e-9)


def test_excess_peak_position_finds_a_bright_column_over_the_normal_mean():
    from cam_edu.course.cantilever import excess_peak_position

    rng = np.random.default_rng(0)
    normal = rng.uniform(0, 0.1, (5, 8, 32, 1))
    faulty = normal[:2].copy()
    faulty[0, :, 8] += 1.0
    faulty[1, :, 20] += 1.0
    np.testing.assert_allclose(
        excess_peak_position(faulty, normal), [8.5 / 32, 20.5 / 32], atol=0.02
    )
    with pytest.raises(ValueError, match="one image size"):
        excess_peak_position(faulty, normal[:, :, :16])


def test_bump_contrast_cancels_a_slope_and_measures_a_bump():
    from cam_edu.course.cantilever import bump_contrast

    rng = np.random.default_rng(0)
    slopes = rng.uniform(-1, 1, (5, 1, 1)) * np.linspace(0, 1, 64)  # (5, 1, 64) straight lines
    images = np.repeat(slopes, 8, axis=1)[..., None] + rng.uniform(0, 1, (5, 1, 1, 1))
    np.testing.assert_allclose(bump_contrast(images, 30), 0.0, atol=1e-12)
    images[:, :, 30] += 0.25
    np.testing.assert_allclose(bump_contrast(images, 30), 0.25, atol=1e-12)
    with pytest.raises(ValueError, match="column must lie"):
        bump_contrast(images, 62)


def test_bump_scan_finds_a_bump_at_an_unnamed_column_and_no_alarm_on_a_flat_beam():
    from cam_edu.course.cantilever import bump_contrast, bump_scan

    rng = np.random.default_rng(0)
    slopes = rng.uniform(-1, 0, (1600, 1, 1)) * np.linspace(0, 1, 64)  # sloping beams
    normal = np.repeat(slopes, 8, axis=1) + rng.normal(0, 0.01, (1600, 8, 64))
    reference, calibration, test = normal[:600], normal[600:1500], normal[1500:]
    alarm = np.quantile(bump_scan(calibration, reference), 0.99)
    bumped = test.copy()
    columns = rng.integers(4, 60, len(test))  # one bump per beam, at a column not told
    bumped[np.arange(len(test)), :, columns] += 0.04  # about 9 sd of a contrast
    assert np.mean(bump_scan(bumped, reference) > alarm) > 0.95
    assert np.mean(bump_scan(test, reference) > alarm) < 0.05
    flat = np.full((1, 8, 64), 0.4)
    assert bump_scan(flat, reference)[0] < alarm
    # the scan is the largest z-score of bump_contrast over the columns 4 to 59
    ref = [bump_contrast(reference, c) for c in range(4, 60)]
    z = [
        (bump_contrast(bumped[:3], c) - r.mean()) / r.std()
        for c, r in zip(range(4, 60), ref, strict=True)
    ]
    np.testing.assert_allclose(bump_scan(bumped[:3], reference), np.max(z, axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2 beams"):
        bump_scan(bumped, reference[:, :, :32])


def test_paint_stripe_is_symmetric_about_its_position_and_clipped():
    from cam_edu.course.cantilever import excess_peak_position, paint_stripe

    normal = np.full((3, 4, 64, 1), 0.5)
    position = 25.5 / 64  # the centre of image column 25
    excess = paint_stripe(normal, position, height=0.2) - 0.5
    np.testing.assert_allclose(excess[..., 26:36, 0], excess[..., 24:14:-1, 0], atol=1e-15)
    assert excess.max() == excess[0, 0, 25, 0] == pytest.approx(0.2)
    np.testing.assert_allclose(excess_peak_position(excess + 0.5, normal), position, atol=1e-6)
    assert paint_stripe(normal, position, height=0.9).max() == 1.0  # clipped
    with pytest.raises(ValueError, match="N, H, W, 1"):
        paint_stripe(normal[..., 0], position, height=0.2)

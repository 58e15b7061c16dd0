"""cam_edu.reading: the numbers of a raw CAM (sign, area, strokes vs background)."""

import numpy as np

from cam_edu.reading import cam_numbers


def test_numbers_of_a_signed_map_on_an_image():
    m = np.array([[-2.0, 1.0], [3.0, 0.0]])
    image = np.array([[0.0, 1.0], [1.0, 0.0]])
    n = cam_numbers(m, image)
    assert (n.min, n.max, n.positive, n.inside, n.outside) == (-2.0, 3.0, 0.5, 2.0, -1.0)
    assert np.isclose(n.zero_level, 0.4)
    assert "positive on 50% of the area" in str(n)


def test_map_is_upsampled_to_the_image():
    n = cam_numbers(np.full((7, 7), -1.0), np.eye(28))
    assert n.positive == 0.0 and np.isclose(n.inside, -1.0) and np.isclose(n.outside, -1.0)
    assert np.isnan(n.zero_level)  # constant map: no min-max scale


def test_without_image_inside_and_outside_are_nan():
    n = cam_numbers(np.arange(4.0).reshape(2, 2) - 1)
    assert np.isnan(n.inside) and np.isnan(n.outside) and n.positive == 0.5

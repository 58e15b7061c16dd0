"""ResNet50 loading (offline behaviour), ImageNet class names, photos, CAM on ResNet50."""

import time

import numpy as np
import pytest

from cam_edu.cam import cam_head, compute_cam
from cam_edu.course import imagenet


def test_class_names_are_the_1000_imagenet_classes_in_keras_order():
    names = imagenet.class_names()
    assert len(names) == 1000
    assert names[0] == "tench" and names[281] == "tabby" and names[967] == "espresso"


def test_photos_are_square_uint8_and_preprocessed_like_keras():
    photos = imagenet.load_photos(("chelsea", "coffee"))
    assert photos.shape == (2, 224, 224, 3) and photos.dtype == np.uint8
    x = imagenet.preprocess(photos)
    np.testing.assert_allclose(
        x[0, 0, 0], photos[0, 0, 0, ::-1] - [103.939, 116.779, 123.68], atol=1e-3
    )
    with pytest.raises(ValueError, match="unknown photo"):
        imagenet.load_photos(("cat",))


def test_more_photos_ship_offline_and_grey_ones_become_rgb():
    import skimage.data

    photos = imagenet.load_photos(tuple(imagenet.MORE_PHOTOS), size=32)
    assert photos.shape == (len(imagenet.MORE_PHOTOS), 32, 32, 3) and photos.dtype == np.uint8
    assert not set(imagenet.MORE_PHOTOS) & set(imagenet.PHOTOS)
    coins = imagenet.load_photos(("coins",), size=303)[0]  # the grey photo is 303 x 384
    np.testing.assert_array_equal(coins[..., 0], coins[..., 2])
    np.testing.assert_array_equal(coins[..., 1], skimage.data.coins()[:, 40:343])


def test_top_k_orders_probabilities():
    order, probs = imagenet.top_k(np.array([[0.0, 3.0, 1.0, 2.0]]), k=2)
    assert order.tolist() == [[1, 3]]
    assert probs[0, 0] > probs[0, 1]


def test_offline_load_fails_fast_and_says_what_to_download(no_network):
    start = time.perf_counter()
    with pytest.raises(ConnectionError) as info:
        imagenet.load_resnet50()
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert imagenet.WEIGHTS_FILE in message
    assert str(imagenet.weights_path()) in message
    assert "allow_random=True" in message


def test_random_fallback_is_announced(no_network, capsys):
    model = imagenet.load_resnet50(allow_random=True)
    assert not imagenet.is_pretrained(model) and model.name == imagenet.RANDOM_NAME
    out = capsys.readouterr().out
    assert "RANDOM WEIGHTS" in out and "MEAN NOTHING" in out


def test_random_resnet50_is_seeded_untrained_and_the_offline_fallback(no_network, capsys):
    first, again, other = (imagenet.random_resnet50(seed) for seed in (3, 3, 4))
    fallback = imagenet.load_resnet50(allow_random=True, seed=3)
    kernel = [m.get_layer("predictions").get_weights()[0] for m in (first, again, other, fallback)]
    np.testing.assert_array_equal(kernel[0], kernel[1])
    np.testing.assert_array_equal(kernel[0], kernel[3])
    assert not np.allclose(kernel[0], kernel[2])
    assert not any(map(imagenet.is_pretrained, (first, other, fallback)))
    assert first.get_layer("conv5_block3_out").output.shape == (None, 7, 7, 2048)


@pytest.fixture(scope="module")
def resnet():
    """ResNet50 with the ImageNet weights if they are cached, else the random fallback.

    The identities below hold for any weights, so they run on whichever it is.
    """
    return imagenet.load_resnet50(allow_random=True)


def test_resnet50_has_the_lectures_shapes_and_the_cam_identity(resnet):
    # real weights exactly when they are (now) in the Keras cache
    assert imagenet.is_pretrained(resnet) == imagenet.weights_path().exists()
    head = cam_head(resnet)
    assert head.feature_layer == "conv5_block3_out"
    assert resnet.get_layer("conv5_block3_out").output.shape == (None, 7, 7, 2048)
    assert head.kernel.shape == (2048, 1000) and head.bias.shape == (1000,)
    x = imagenet.preprocess(imagenet.load_photos(("chelsea",)))
    cams, logits = compute_cam(resnet, x, class_index=281)
    assert cams.shape == (1, 7, 7)
    np.testing.assert_allclose(cams.mean() + head.bias[281], logits[0, 281], rtol=1e-4, atol=1e-4)


def test_offline_env_attempts_no_download(monkeypatch, tmp_path):
    """With CAM_EDU_OFFLINE=1 Keras is never asked to download (no model is even built)."""
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("CAM_EDU_OFFLINE", "1")

    def boom(*args, **kwargs):
        raise AssertionError("ResNet50(weights='imagenet') was called offline")

    monkeypatch.setattr(keras.applications, "ResNet50", boom)
    with pytest.raises(ConnectionError, match="CAM_EDU_OFFLINE is set") as info:
        imagenet.load_resnet50()
    assert str(tmp_path / "models" / imagenet.WEIGHTS_FILE) in str(info.value)


def test_grad_cam_on_resnet50_is_relu_cam_over_49(resnet):
    """ResNet50 ends conv5_block3_out -> avg_pool -> predictions, so Grad-CAM = ReLU(CAM)/49."""
    from cam_edu.gradcam import grad_cam

    names = [layer.name for layer in resnet.layers[-3:]]
    assert names == ["conv5_block3_out", "avg_pool", "predictions"]
    x = imagenet.preprocess(imagenet.load_photos(("coffee",)))
    maps, logits = grad_cam(resnet, x, class_index=967)
    cams, cam_logits = compute_cam(resnet, x, class_index=967)
    np.testing.assert_allclose(maps, np.maximum(cams, 0) / 49, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(logits, cam_logits, rtol=1e-4, atol=1e-3)

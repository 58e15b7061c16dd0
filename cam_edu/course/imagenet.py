"""ImageNet ResNet50 for the lesson on real photos: weights, class names, photos.

Real users download the ImageNet weights once (about 100 MB) into the Keras cache.
Offline, :func:`load_resnet50` fails within seconds and says which file to put where.
Only with ``allow_random=True`` does it fall back, loudly, to the same architecture
with seeded random weights, whose maps mean nothing but whose shapes, layer names and
CAM/logit identity are the same: that is what the test suite checks offline.
:func:`random_resnet50` builds that untrained network on purpose: what a map shows before
any learning.

>>> model = load_resnet50(allow_random=True)  # doctest: +SKIP
>>> model.get_layer("conv5_block3_out").output.shape  # doctest: +SKIP
(None, 7, 7, 2048)
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from cam_edu.cam import softmax
from cam_edu.course.data import keras_home, offline_requested, socket_timeout

WEIGHTS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
#: Where keras.applications.ResNet50(weights="imagenet") downloads them from, and their MD5.
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" + WEIGHTS_FILE
WEIGHTS_MD5 = "2cb95161c43110f7111970584f804107"
RANDOM_NAME = "resnet50_RANDOM_WEIGHTS"
CLASSES_FILE = Path(__file__).resolve().parents[2] / "data" / "imagenet_classes.json"
PHOTOS = {  # scikit-image sample photos that ship inside its wheel (no download)
    "chelsea": "a tabby cat; CC0, Stefan van der Walt",
    "coffee": "a cup of coffee; CC0, Rachel Michetti",
    "astronaut": "astronaut Eileen Collins; public domain, NASA",
    "rocket": "a SpaceX rocket launch; public domain, SpaceX",
}
#: More scikit-image sample pictures from its wheel, for measurements over more than four
#: photos; :func:`load_photos` gives the grey ones three equal channels.
MORE_PHOTOS = {
    "hubble_deep_field": "the Hubble eXtreme Deep Field; public domain, NASA",
    "immunohistochemistry": "stained colonic glands; no known copyright restrictions, CMMI",
    "retina": "a fundus photograph; CC0, Mikael Häggström",
    "camera": "a photographer (grey); CC0, Lav Varshney",
    "coins": "Greek coins from Pompeii (grey); no known copyright restrictions, Brooklyn Museum",
    "clock": "a motion-blurred wall clock (grey); public domain, Stefan van der Walt",
    "grass": "grass (grey); CC0",
    "brick": "a brick wall (grey); CC0",
}


def weights_path() -> Path:
    """Where Keras keeps the ResNet50 ImageNet weights: ``<Keras cache>/models/``."""
    return Path(keras_home()) / "models" / WEIGHTS_FILE


def load_resnet50(allow_random: bool = False, seed: int = 0, timeout: float = 10.0):
    """``keras.applications.ResNet50`` with ImageNet weights (224x224x3 in, 1000 classes out).

    Args:
        allow_random: if the weights cannot be had, build the same architecture with
            seeded random weights (named ``resnet50_RANDOM_WEIGHTS``) and print a banner,
            instead of raising.
        seed: seed of the random weights.
        timeout: seconds a stalled download may wait for the network.

    Returns:
        the Keras model; ``is_pretrained(model)`` tells which kind it is.

    Raises:
        ConnectionError: the weights are neither cached nor downloadable, and
            ``allow_random`` is ``False``. The message names the file and the folder.

    With the environment variable ``CAM_EDU_OFFLINE=1`` no download is attempted.
    """
    if offline_requested() and not weights_path().exists():
        reason = f"CAM_EDU_OFFLINE is set and {weights_path()} does not exist"
    else:
        with socket_timeout(timeout):
            try:
                path = keras.utils.get_file(
                    WEIGHTS_FILE,
                    WEIGHTS_URL,
                    cache_subdir="models",
                    file_hash=WEIGHTS_MD5,
                    cache_dir=keras_home(),
                )
                return keras.applications.ResNet50(weights=path)
            except Exception as exc:  # noqa: BLE001 - the reason goes into the message
                reason = f"{type(exc).__name__}: {str(exc)[:200]}"
    if not allow_random:
        raise ConnectionError(
            f"The ImageNet weights of ResNet50 are not in the Keras cache and could not be "
            f"downloaded ({reason}). Download {WEIGHTS_FILE} (about 100 MB) from "
            f"{WEIGHTS_URL} on a machine with internet and put it at {weights_path()}; "
            "or call cam_edu.course.imagenet.load_resnet50() once while online. "
            "For an offline dry run use load_resnet50(allow_random=True)."
        )
    print(
        "=" * 78 + "\n"
        f"RANDOM WEIGHTS: the ImageNet weights are not available here ({reason[:40]}...).\n"
        "This ResNet50 has the right architecture but RANDOM weights. Its predictions,\n"
        "class names and heatmaps below MEAN NOTHING. Only shapes, layer names and the\n"
        "CAM identity are meaningful. Get the weights: see cam_edu.course.imagenet.load_resnet50.\n"
        + "="
        * 78
    )
    return random_resnet50(seed)


def random_resnet50(seed: int = 0) -> keras.Model:
    """``keras.applications.ResNet50`` with seeded random weights: ImageNet's architecture
    (224x224x3 in, 1000 logits out), nothing learned.

    The same seed gives the same weights; ``is_pretrained`` is ``False`` for it.

    >>> model = random_resnet50(seed=1)
    >>> model.get_layer("conv5_block3_out").output.shape, is_pretrained(model)
    ((None, 7, 7, 2048), False)
    """
    keras.utils.set_random_seed(seed)
    return keras.applications.ResNet50(weights=None, name=RANDOM_NAME)


def is_pretrained(model: keras.Model) -> bool:
    """Whether ``model`` came from :func:`load_resnet50` with real ImageNet weights."""
    return model.name != RANDOM_NAME


def class_names() -> list[str]:
    """The 1,000 ImageNet class names in the order of ResNet50's outputs.

    Read from ``data/imagenet_classes.json`` (made by ``scripts/make_imagenet_classes.py``),
    so no download is needed.

    >>> class_names()[281]  # doctest: +SKIP
    'tabby'
    """
    return [name for _, name in json.loads(CLASSES_FILE.read_text())["classes"]]


def load_photos(names=tuple(PHOTOS), size: int = 224) -> np.ndarray:
    """Sample photos from scikit-image, center-cropped to squares and resized.

    Args:
        names: photo names among ``PHOTOS`` and ``MORE_PHOTOS`` (their licences are
            listed there).
        size: output side in pixels.

    Returns:
        uint8 RGB images, shape ``(N, size, size, 3)``; a grey photo has three equal
        channels.

    >>> load_photos(("coins",), size=32).shape  # a grey photo, as RGB
    (1, 32, 32, 3)
    """
    import skimage.data

    unknown = [n for n in names if n not in PHOTOS and n not in MORE_PHOTOS]
    if unknown:
        raise ValueError(f"unknown photo(s) {unknown}; choose from {sorted(PHOTOS | MORE_PHOTOS)}.")
    out = []
    for name in names:
        image = getattr(skimage.data, name)()
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = image[top : top + side, left : left + side]
        resized = tf.image.resize(square, (size, size), antialias=True)
        out.append(np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8))
    return np.stack(out)


def preprocess(photos) -> np.ndarray:
    """ResNet50's own preprocessing (RGB -> BGR, ImageNet mean subtracted), ``(N, 224, 224, 3)``."""
    return keras.applications.resnet50.preprocess_input(np.asarray(photos, np.float32).copy())


def top_k(logits: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(N, k)`` of the k largest of ``logits`` ``(N, C)``, best first, and their
    softmax probabilities ``(N, k)``.

    >>> top_k(np.array([[0.0, 3.0, 1.0]]), k=2)[0].tolist()
    [[1, 2]]
    """
    probs = softmax(logits)
    order = np.argsort(-probs, axis=1)[:, :k]
    return order, np.take_along_axis(probs, order, axis=1)

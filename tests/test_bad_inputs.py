"""A catalogue of the inputs students get wrong, and the error each one must give.

Every :class:`Case` names the public function, the mistake, the exception (or
warning) type, and three message fragments: the **argument** it names, what was
**expected** and what was **got**. The test checks the exact exception type and
all fragments (plus an optional hint of what to do).

``docs/bad_inputs.md`` shows the same catalogue as a table. The table is generated
from ``CASES``, so the two cannot drift: ``test_doc_table_matches_the_cases`` fails
until the doc is regenerated with ``.venv/bin/python tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

from cam_edu import (
    cam,
    exercises,
    faithfulness,
    gap,
    gradcam,
    layers,
    lime_maps,
    localize,
    perturbation,
    randomization,
    viz,
    widgets,
)
from cam_edu.course import cantilever, data, imagenet
from cam_edu.exercises import safe_io

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_inputs.md"
BEGIN, END = "<!-- BEGIN CASES (generated) -->", "<!-- END CASES -->"


@dataclass(frozen=True)
class Case:
    """One bad input: ``call(z)`` raises (or warns) ``error`` naming arg, expected and got."""

    id: str
    function: str
    mistake: str
    call: Callable[[SimpleNamespace], object]
    error: type[BaseException]
    arg: str
    expected: str
    got: str
    hint: str = ""

    @property
    def fragments(self) -> tuple[str, ...]:
        return tuple(f for f in (self.arg, self.expected, self.got, self.hint) if f)


RNG = np.random.default_rng(0)
F = RNG.normal(size=(2, 7, 7, 64)).astype(np.float32)  # features (N, H, W, K)
W = RNG.normal(size=(64, 10)).astype(np.float32)  # Dense kernel (K, C)
X = RNG.random((2, 28, 28, 1), dtype=np.float32)  # images in [0, 1]
M = np.outer(np.hanning(7), np.hanning(7)).astype(np.float32)  # a one-peak heatmap


def _nan(a, value=np.nan):
    a = np.array(a, dtype=np.float32)
    a.flat[1] = value
    return a


# fmt: off
CASES = [
    # --- wrong rank -------------------------------------------------------------------------
    Case("features-3d", "gap.global_average_pool", "one image's feature maps, no batch axis",
         lambda z: gap.global_average_pool(F[0]), ValueError,
         "features", "(N, H, W, K)", "(7, 7, 64)", "features[None]"),
    Case("features-2d-loop", "gap.global_average_pool_loop", "a single feature map (H, W)",
         lambda z: gap.global_average_pool_loop(F[0, ..., 0]), ValueError,
         "features", "(N, H, W, K)", "(7, 7) (rank 2)"),
    Case("features-5d", "gap.global_max_pool", "an extra axis (N, 1, H, W, K)",
         lambda z: gap.global_max_pool(F[:, None]), ValueError,
         "features", "rank 4", "(2, 1, 7, 7, 64)"),
    Case("features-3d-cam", "cam.class_activation_maps", "features of one image into the CAM",
         lambda z: cam.class_activation_maps(F[0], W), ValueError,
         "features", "(N, H, W, K)", "(7, 7, 64)", "features[None]"),
    Case("image-no-batch", "cam.compute_cam", "one image (H, W, 1) without the batch axis",
         lambda z: cam.compute_cam(z.model, X[0]), ValueError,
         "images", "(N, 28, 28, 1)", "(28, 28, 1)", "images[None]"),
    Case("image-hw", "gradcam.grad_cam", "a bare H x W image: no batch, no channel axis",
         lambda z: gradcam.grad_cam(z.model, X[0, ..., 0]), ValueError,
         "images", "(N, 28, 28, 1)", "(28, 28)", "images[None, ..., None]"),
    Case("batch-no-channel", "cam.compute_cam", "a batch (N, H, W) without the channel axis",
         lambda z: cam.compute_cam(z.model, X[..., 0]), ValueError,
         "images", "(N, 28, 28, 1)", "(2, 28, 28)", "images[..., None]"),
    Case("heatmap-batch-box", "localize.bbox_from_cam", "a batch of heatmaps into the box rule",
         lambda z: localize.bbox_from_cam(np.stack([M, M])), ValueError,
         "heatmap", "(H, W)", "(2, 7, 7)", "heatmap[0]"),
    Case("heatmap-channel-axis", "viz.upsample", "a heatmap with a channel axis (1, H, W, 1)",
         lambda z: viz.upsample(M[None, ..., None], (28, 28)), ValueError,
         "heatmap", "(H, W) or (N, H, W)", "(1, 7, 7, 1)", "heatmap[..., 0]"),
    Case("display-batch", "viz.as_display_image", "a batch where one image is drawn",
         lambda z: viz.as_display_image(X), ValueError,
         "image", "(H, W), (H, W, 1) or (H, W, 3)", "(2, 28, 28, 1)", "images[i]"),
    # --- channels first ---------------------------------------------------------------------
    Case("features-channels-first", "gap.global_average_pool", "PyTorch layout (N, K, H, W)",
         lambda z: gap.global_average_pool(np.transpose(F, (0, 3, 1, 2))), ValueError,
         "features", "channels last (N, H, W, K)", "(2, 64, 7, 7)",
         "np.transpose(features, (0, 2, 3, 1))"),
    Case("images-channels-first", "cam.compute_cam", "images as (N, 1, H, W)",
         lambda z: cam.compute_cam(z.model, np.transpose(X, (0, 3, 1, 2))), ValueError,
         "images", "(N, 28, 28, 1)", "(2, 1, 28, 28)", "np.transpose(images, (0, 2, 3, 1))"),
    # --- value ranges and dtypes ------------------------------------------------------------
    Case("uint8-into-float-model", "cam.compute_cam", "uint8 0-255 images into a [0, 1] model",
         lambda z: cam.compute_cam(z.model, (X * 255).astype(np.uint8)), TypeError,
         "images", "float images", "integer dtype uint8", "astype('float32') / 255"),
    Case("floats-into-0-255-model", "gradcam.grad_cam", "[0, 1] floats into Rescaling(1/255)",
         lambda z: gradcam.grad_cam(z.rescaling_model, z.x16), ValueError,
         "images", "0..255", "values in [0, 1]", "images * 255"),
    Case("float-0-255-display", "viz.overlay", "a float image with 0-255 values drawn",
         lambda z: viz.overlay(np.linspace(0, 255, 28 * 28).reshape(28, 28), M), ValueError,
         "image", "expected [0, 1]", "[0, 255]", "by 255"),
    Case("int-display-out-of-range", "viz.as_display_image", "an int16 image beyond 0..255",
         lambda z: viz.as_display_image(np.arange(-5, 301, dtype=np.int16)[:300].reshape(20, 15)),
         ValueError, "image", "0..255", "[-5, 294]"),
    Case("uint8-into-canvas", "data.digits_on_canvas", "0-255 digits where [0, 1] is expected",
         lambda z: data.digits_on_canvas((X * 255).round(), [1, 2]), ValueError,
         "images", "[0, 1]", "[0, 25", "/ 255"),
    # --- grayscale vs RGB -------------------------------------------------------------------
    Case("grayscale-into-rgb", "cam.compute_cam", "grayscale images into an RGB model",
         lambda z: cam.compute_cam(z.rgb_model, z.x16), ValueError,
         "images", "(N, 16, 16, 3)", "(2, 16, 16, 1)", "np.repeat(images, 3, axis=-1)"),
    Case("rgb-into-grayscale", "gradcam.grad_cam", "RGB images into a grayscale model",
         lambda z: gradcam.grad_cam(z.model, np.repeat(X, 3, axis=-1)), ValueError,
         "images", "(N, 28, 28, 1)", "(2, 28, 28, 3)", "mean(axis=-1, keepdims=True)"),
    # --- class index ------------------------------------------------------------------------
    Case("class-minus-one", "cam.compute_cam", "Python's -1 for the last class",
         lambda z: cam.compute_cam(z.model, X, class_index=-1), IndexError,
         "class_index", "[0, 9]", "got -1", "write 9"),
    Case("class-equals-C", "gradcam.grad_cam", "class C of a C-class model (off by one)",
         lambda z: gradcam.grad_cam(z.model, X, class_index=10), IndexError,
         "class_index", "[0, 9]", "got 10", "numbered from 0"),
    Case("class-per-image-too-big", "cam.class_activation_map_loop", "one image's class >= C",
         lambda z: cam.class_activation_map_loop(F, W[:, :3], [0, 5]), IndexError,
         "class_index", "[0, 2]", "got 5"),
    Case("class-string", "cam.compute_cam", "the class name instead of its index",
         lambda z: cam.compute_cam(z.model, X, class_index="7"), TypeError,
         "class_index", "integer in [0, 10)", "'7'", "class_names.index"),
    Case("class-float", "gradcam.grad_cam_plus_plus", "a fractional class index",
         lambda z: gradcam.grad_cam_plus_plus(z.model, X, class_index=2.5), TypeError,
         "class_index", "integer", "float 2.5"),
    Case("class-bool", "cam.class_activation_map_loop", "True as a class",
         lambda z: cam.class_activation_map_loop(F, W, True), TypeError,
         "class_index", "integer", "bool True"),
    Case("class-wrong-length", "cam.compute_cam", "3 classes for 2 images",
         lambda z: cam.compute_cam(z.model, X, class_index=[1, 2, 3]), ValueError,
         "class_index", "shape (2,)", "shape (3,)"),
    Case("labels-wrong-length", "widgets.cam_explorer", "3 labels for 2 images",
         lambda z: widgets.cam_explorer(z.model, X, labels=[1, 2, 3]), ValueError,
         "labels", "shape (2,)", "shape (3,)"),
    Case("labels-strings", "widgets.cam_explorer", "class names as labels",
         lambda z: widgets.cam_explorer(z.model, X, labels=["a", "b"]), TypeError,
         "labels", "integer", "['a', 'b']"),
    # --- empty ------------------------------------------------------------------------------
    Case("features-empty-batch", "gap.global_average_pool", "an empty batch of features",
         lambda z: gap.global_average_pool(F[:0]), ValueError,
         "features", "at least one", "N = 0"),
    Case("images-empty-batch", "gradcam.grad_cam", "an empty batch of images (x[:0])",
         lambda z: gradcam.grad_cam(z.model, X[:0]), ValueError,
         "images", "at least one image", "N = 0"),
    Case("features-empty-axis", "gap.global_average_pool", "feature maps with H = 0",
         lambda z: gap.global_average_pool(F[:, :0]), ValueError,
         "features", "H, W and K all at least 1", "(2, 0, 7, 64)"),
    Case("heatmap-empty", "viz.normalize", "an empty heatmap",
         lambda z: viz.normalize(np.zeros((0, 7))), ValueError,
         "heatmap", "at least one value", "(0, 7)"),
    # --- NaN and inf ------------------------------------------------------------------------
    Case("features-nan", "cam.class_activation_maps", "NaN in the features (diverged training)",
         lambda z: cam.class_activation_maps(_nan(F), W), ValueError,
         "features", "finite numbers", "1 NaN"),
    Case("features-inf", "gap.global_max_pool", "inf in the features",
         lambda z: gap.global_max_pool(_nan(F, np.inf)), ValueError,
         "features", "finite numbers", "1 inf"),
    Case("weights-nan", "cam.class_activation_map_loop", "NaN in the Dense kernel",
         lambda z: cam.class_activation_map_loop(F, _nan(W), 0), ValueError,
         "weights", "finite numbers", "1 NaN"),
    Case("images-nan", "cam.compute_cam", "NaN pixels",
         lambda z: cam.compute_cam(z.model, _nan(X)), ValueError,
         "images", "finite pixel values", "1 NaN"),
    Case("heatmap-inf", "localize.bbox_from_cam", "inf in a heatmap",
         lambda z: localize.bbox_from_cam(_nan(M, np.inf)), ValueError,
         "heatmap", "finite numbers", "1 inf"),
    # --- all-zero and constant heatmaps -----------------------------------------------------
    Case("box-all-zero", "localize.bbox_from_cam", "an all-zero CAM (no evidence after ReLU)",
         lambda z: localize.bbox_from_cam(np.zeros((7, 7))), ValueError,
         "heatmap", "above 0.2 x max", "maximum 0 <= 0", "raw (unnormalized) map"),
    Case("box-all-negative", "localize.bbox_from_cam", "an all-negative raw CAM",
         lambda z: localize.bbox_from_cam(-M - 1), ValueError,
         "heatmap", "above 0.2 x max", "maximum -1 <= 0"),
    Case("box-constant", "localize.bbox_from_cam", "a constant positive map (warning)",
         lambda z: localize.bbox_from_cam(np.full((7, 7), 3.0)), UserWarning,
         "heatmap", "a map that varies", "every value is 3", "whole map (7, 7)"),
    Case("normalize-constant", "viz.normalize", "a constant map: min-max gives 0/0 (warning)",
         lambda z: viz.normalize(np.full((7, 7), 2.0)), UserWarning,
         "heatmap(s)", "expects max > min", "constant (value 2)", "shown as zeros"),
    Case("normalize-all-zero", "viz.normalize", "an all-zero map (warning)",
         lambda z: viz.normalize(np.zeros((2, 7, 7))), UserWarning,
         "2 heatmap(s)", "expects max > min", "constant (value 0)"),
    # --- threshold --------------------------------------------------------------------------
    Case("threshold-zero", "localize.bbox_from_cam", "threshold 0 (everything is foreground)",
         lambda z: localize.bbox_from_cam(M, 0), ValueError,
         "threshold", "(0, 1]", "got 0"),
    Case("threshold-above-one", "localize.bbox_from_cam", "threshold 1.5",
         lambda z: localize.bbox_from_cam(M, 1.5), ValueError,
         "threshold", "(0, 1]", "got 1.5"),
    Case("threshold-percent", "localize.bbox_from_cam", "20 meaning 20 %",
         lambda z: localize.bbox_from_cam(M, 20), ValueError,
         "threshold", "(0, 1]", "got 20", "divide by 100"),
    Case("threshold-negative", "localize.bbox_from_cam", "a negative threshold",
         lambda z: localize.bbox_from_cam(M, -0.2), ValueError,
         "threshold", "(0, 1]", "got -0.2"),
    Case("threshold-nan", "localize.bbox_from_cam", "threshold NaN",
         lambda z: localize.bbox_from_cam(M, float("nan")), ValueError,
         "threshold", "(0, 1]", "got nan"),
    Case("threshold-string", "localize.bbox_from_cam", "the threshold as text",
         lambda z: localize.bbox_from_cam(M, "0.2"), TypeError,
         "threshold", "a number in (0, 1]", "str '0.2'"),
    # --- boxes ------------------------------------------------------------------------------
    Case("box-outside-image", "localize.as_box", "a box beyond the image border",
         lambda z: localize.as_box((0, 0, 30, 30), image_shape=(28, 28)), ValueError,
         "box", "0 <= y0 < y1 <= 28", "(0, 0, 30, 30)"),
    Case("box-outside-shown-image", "viz.show_map", "a box (in feature cells?) off the image",
         lambda z: viz.show_map(Figure().add_subplot(), M, X[0], box=(20, 20, 40, 40)),
         ValueError, "box", "0 <= x0 < x1 <= 28", "(20, 20, 40, 40)"),
    Case("box-flipped", "localize.iou", "(x0, y0, x1, y1) or swapped corners",
         lambda z: localize.iou((5, 5, 0, 0), (0, 0, 2, 2)), ValueError,
         "box_a", "y0 < y1 and x0 < x1", "(5, 5, 0, 0)"),
    Case("box-three-numbers", "localize.iou", "a box of 3 numbers",
         lambda z: localize.iou((0, 0, 2, 2), (0, 0, 2)), ValueError,
         "box_b", "4 numbers (y0, x0, y1, x1)", "(0, 0, 2)"),
    Case("box-nan", "localize.iou", "NaN in a box",
         lambda z: localize.iou((0, 0, float("nan"), 2), (0, 0, 2, 2)), ValueError,
         "box_a", "finite numbers", "nan"),
    Case("box-string", "localize.iou", "a box as text",
         lambda z: localize.iou("0,0,2,2", (0, 0, 2, 2)), TypeError,
         "box_a", "4 numbers", "'0,0,2,2'"),
    Case("box-accuracy-count", "localize.box_accuracy", "fewer true boxes than heatmaps",
         lambda z: localize.box_accuracy(np.stack([M, M]), [(0, 0, 2, 2)]), ValueError,
         "true_boxes", "one box per map", "2 heatmaps but 1 true_boxes"),
    Case("box-accuracy-one-map", "localize.box_accuracy", "one map without its batch axis",
         lambda z: localize.box_accuracy(M, [(0, 0, 2, 2)]), ValueError,
         "heatmaps", "a batch (N, H, W)", "shape (7, 7)", "heatmaps[None]"),
    Case("box-accuracy-min-iou", "localize.box_accuracy", "IoU criterion 50 meaning 50 %",
         lambda z: localize.box_accuracy(M[None], [(0, 0, 2, 2)], min_iou=50), ValueError,
         "min_iou", "(0, 1]", "got 50"),
    Case("box-accuracy-truth-outside", "localize.box_accuracy", "a true box off the map",
         lambda z: localize.box_accuracy(M[None], [(0, 0, 9, 9)]), ValueError,
         "true_boxes[0]", "0 <= y0 < y1 <= 7", "(0, 0, 9, 9)"),
    Case("grid-titles-count", "viz.plot_cam_grid", "fewer titles than images",
         lambda z: viz.plot_cam_grid(X, np.stack([M, M]), titles=["one"]), ValueError,
         "titles", "one per image", "2 images but 1 titles"),
    Case("overlay-alpha-text", "viz.overlay", "alpha as text",
         lambda z: viz.overlay(X[0], M, alpha="0.5"), TypeError,
         "alpha", "a number in [0, 1]", "'0.5'"),
    # --- layers -----------------------------------------------------------------------------
    Case("layer-missing", "gradcam.grad_cam", "a layer name that does not exist",
         lambda z: gradcam.grad_cam(z.model, X, layer="conv9"), ValueError,
         "layer", "in order: conv1, pool1, conv2, pool2, features", "no layer named 'conv9'",
         "Did you mean 'conv2'"),
    Case("layer-typo", "layers.cut_model", "a misspelt layer name",
         lambda z: layers.cut_model(z.model, "featurs"), ValueError,
         "layer", "in order: conv1, pool1", "no layer named 'featurs'", "Did you mean 'features'"),
    Case("layer-index", "layers.find_layer", "a layer index instead of its name",
         lambda z: layers.find_layer(z.model, 3), TypeError,
         "layer", "layer name (str)", "got int"),
    Case("layer-for-cam", "widgets.cam_explorer", "layer= with method='cam'",
         lambda z: widgets.cam_explorer(z.model, X, layer="conv1"), ValueError,
         "layer=", "the layer before global pooling", "layer='conv1'", "method='gradcam'"),
    Case("no-spatial-layer", "gradcam.grad_cam", "a dense-only model",
         lambda z: gradcam.grad_cam(z.dense_model, np.zeros((1, 8), np.float32)), ValueError,
         "model 'dense_only'", "4-D output (N, H, W, K)", "no layer", "convolutional model"),
    # --- models -----------------------------------------------------------------------------
    Case("sequential-never-called", "cam.compute_cam", "a Sequential model never built",
         lambda z: cam.compute_cam(z.unbuilt_model(), X), ValueError,
         "model 'unbuilt'", "keras.Input", "no defined input", "model(images[:1])"),
    Case("sequential-never-called-gradcam", "gradcam.grad_cam", "the same, for Grad-CAM",
         lambda z: gradcam.grad_cam(z.unbuilt_model(), X), ValueError,
         "model 'unbuilt'", "keras.Input", "no defined input"),
    Case("subclassed-model", "gradcam.grad_cam", "a subclassed model, already called",
         lambda z: gradcam.grad_cam(z.subclassed_model(), X), ValueError,
         "model 'subclassed'", "Rebuild it functionally", "subclassed model"),
    Case("softmax-before-flatten", "gradcam.grad_cam", "probabilities behind a Flatten",
         lambda z: gradcam.grad_cam(z.hidden_softmax_model(), X), ValueError,
         "layer 'scores'", "keras.layers.Softmax() as the last layer", "outputs probabilities"),
    Case("tensor-of-another-model", "gradcam.grad_cam", "a tensor of another model as layer",
         lambda z: gradcam.grad_cam(z.gap_model, X, layer=keras.Input((7, 7, 4))), ValueError,
         "the tensor", "a tensor of this model", "is not the input or output of a layer"),
    Case("model-name", "cam.compute_cam", "the model's name instead of the model",
         lambda z: cam.compute_cam("gap_cnn", X), TypeError,
         "model", "keras.Model", "got str"),
    Case("model-predictions", "gradcam.grad_cam", "the predictions instead of the model",
         lambda z: gradcam.grad_cam(z.model.predict(X, verbose=0), X), TypeError,
         "model", "keras.Model", "got ndarray"),
    Case("model-for-explorer", "widgets.cam_explorer", "a file name instead of the model",
         lambda z: widgets.cam_explorer("model.keras", X), TypeError,
         "model", "keras.Model", "got str"),
    Case("cam-without-gap", "cam.cam_head", "CAM on a Flatten -> Dense model",
         lambda z: cam.cam_head(z.flatten_model), ValueError,
         "model 'flatten_head'", "global-pooling -> Dense head", "Flatten -> Dense",
         "grad_cam(model, images)"),
    # --- features vs weights ----------------------------------------------------------------
    Case("weights-wrong-k", "cam.class_activation_maps", "kernel of another layer (K differs)",
         lambda z: cam.class_activation_maps(F, W[:32]), ValueError,
         "weights", "K = 64 channels", "K = 32"),
    Case("weights-transposed", "cam.class_activation_maps", "kernel as (C, K)",
         lambda z: cam.class_activation_maps(F, W.T), ValueError,
         "weights", "K = 64 channels", "shape (10, 64)", "weights.T"),
    Case("weights-1d", "cam.class_activation_map_loop", "one class's weight vector (K,)",
         lambda z: cam.class_activation_map_loop(F, W[:, 0], 0), ValueError,
         "weights", "(K, C)", "(64,)", "weights[:, None]"),
    Case("weights-3d", "cam.class_activation_maps", "a kernel with an extra axis",
         lambda z: cam.class_activation_maps(F, W[..., None]), ValueError,
         "weights", "(K, C) (rank 2)", "(64, 10, 1)"),
    Case("features-string", "gap.global_average_pool", "a layer name instead of its output",
         lambda z: gap.global_average_pool("features"), TypeError,
         "features", "array of numbers", "str 'features'"),
    Case("features-bool", "gap.global_average_pool", "a boolean mask",
         lambda z: gap.global_average_pool(F > 0), TypeError,
         "features", "array of numbers", "dtype bool"),
    # --- upsampling and drawing -------------------------------------------------------------
    Case("upsample-size-int", "viz.upsample", "size=28 instead of (28, 28)",
         lambda z: viz.upsample(M, 28), ValueError,
         "size", "(height, width), two positive ints", "got 28"),
    Case("upsample-size-float", "viz.upsample", "float sizes (e.g. 7 * 4.0)",
         lambda z: viz.upsample(M, (28.0, 28.0)), ValueError,
         "size", "two positive ints", "(28.0, 28.0)"),
    Case("upsample-method", "viz.upsample", "an OpenCV method name",
         lambda z: viz.upsample(M, (28, 28), method="cubic"), ValueError,
         "method", "'bilinear', 'nearest', 'bicubic'", "'cubic'"),
    Case("overlay-alpha", "viz.overlay", "alpha in percent",
         lambda z: viz.overlay(X[0], M, alpha=50), ValueError,
         "alpha", "[0, 1]", "got 50"),
    Case("overlay-cmap", "viz.overlay", "a colormap that does not exist",
         lambda z: viz.overlay(X[0], M, cmap="jett"), ValueError,
         "cmap", "matplotlib colormap", "'jett'"),
    Case("grid-count", "viz.plot_cam_grid", "3 images, 2 heatmaps",
         lambda z: viz.plot_cam_grid(X[:, :, :, 0][[0, 1, 0]], np.stack([M, M])), ValueError,
         "heatmaps", "one map per image", "3 images but 2"),
    # --- the explorer -----------------------------------------------------------------------
    Case("explorer-method", "widgets.cam_explorer", "method='grad-cam'",
         lambda z: widgets.cam_explorer(z.model, X, method="grad-cam"), ValueError,
         "method", "'cam', 'gradcam', 'gradcam++'", "'grad-cam'"),
    Case("explorer-class-names", "widgets.cam_explorer", "2 names for a 10-class model",
         lambda z: widgets.cam_explorer(z.model, X, class_names=["cat", "dog"]), ValueError,
         "class_names", "10 classes", "2 names"),
    Case("explorer-display-count", "widgets.cam_explorer", "display images of another batch",
         lambda z: widgets.cam_explorer(z.model, X, display_images=X[:1]), ValueError,
         "display_images", "one display image per model input", "1 images"),
    # --- data -------------------------------------------------------------------------------
    Case("load-mnist-offline-text", "data.load_mnist", "offline='yes'",
         lambda z: data.load_mnist(offline="yes"), TypeError,
         "offline", "None (try the download", "'yes'"),
    Case("canvas-too-small", "data.digits_on_canvas", "a canvas smaller than the digits",
         lambda z: data.digits_on_canvas(X, [1, 2], canvas_size=20), ValueError,
         "canvas_size", ">= the digit size 28", "got 20"),
    Case("canvas-labels", "data.digits_on_canvas", "labels of another batch",
         lambda z: data.digits_on_canvas(X, [1, 2, 3]), ValueError,
         "labels", "shape (2,)", "(3,)"),
]
# fmt: on

# fmt: off
CASES += [  # perturbation maps and faithfulness metrics
    Case("occlusion-patch-too-big", "perturbation.occlusion_map", "a patch larger than the image",
         lambda z: perturbation.occlusion_map(z.model, X, patch=40), ValueError,
         "patch", "at most the image's side min(H, W) = 28", "got 40"),
    Case("occlusion-stride-zero", "perturbation.occlusion_map", "stride 0",
         lambda z: perturbation.occlusion_map(z.model, X, stride=0), ValueError,
         "stride", "positive int", "got 0"),
    Case("occlusion-patch-float", "perturbation.occlusion_map", "patch=4.0, a float",
         lambda z: perturbation.occlusion_map(z.model, X, patch=4.0), TypeError,
         "patch", "positive int", "float 4.0"),
    Case("occlusion-baseline-name", "perturbation.occlusion_map", "baseline='gray'",
         lambda z: perturbation.occlusion_map(z.model, X, baseline="gray"), ValueError,
         "baseline", "a number or 'blur'", "'gray'"),
    Case("occlusion-class-range", "perturbation.occlusion_map", "class 10 of 10 classes",
         lambda z: perturbation.occlusion_map(z.model, X, class_index=10), IndexError,
         "class_index", "[0, 9]", "got 10"),
    Case("lime-no-samples", "lime_maps.lime_map", "num_samples=0",
         lambda z: lime_maps.lime_map(z.model, X, num_samples=0), ValueError,
         "num_samples", "positive int", "got 0", "1000"),
    Case("scorecam-flat-layer", "perturbation.score_cam", "a layer with no spatial map",
         lambda z: perturbation.score_cam(z.model, X, layer="gap"), ValueError,
         "layer 'gap'", "4-D output (N, H, W, K)", "no 4-D output"),
    Case("deletion-map-count", "faithfulness.deletion_curve", "3 heatmaps for 2 images",
         lambda z: faithfulness.deletion_curve(z.model, X, np.stack([M, M, M])), ValueError,
         "heatmaps", "(2, h, w)", "(3, 7, 7)"),
    Case("deletion-baseline-name", "faithfulness.deletion_curve", "baseline='black'",
         lambda z: faithfulness.deletion_curve(z.model, X, np.stack([M, M]), baseline="black"),
         ValueError, "baseline", "a number or 'blur'", "'black'"),
    Case("insertion-steps-zero", "faithfulness.insertion_curve", "steps=0",
         lambda z: faithfulness.insertion_curve(z.model, X, np.stack([M, M]), steps=0),
         ValueError, "steps", "positive int", "got 0"),
    Case("deletion-steps-float", "faithfulness.deletion_curve", "steps=25.0, a float",
         lambda z: faithfulness.deletion_curve(z.model, X, np.stack([M, M]), steps=25.0),
         TypeError, "steps", "positive int", "float 25.0"),
    Case("auc-swapped", "faithfulness.curve_auc", "the curves and the fractions swapped",
         lambda z: faithfulness.curve_auc(np.ones((2, 5)), np.linspace(0, 1, 5)), ValueError,
         "fractions", "increasing, shape (steps + 1,)", "(2, 5)"),
    Case("pointing-box-count", "localize.pointing_game", "one box for two maps",
         lambda z: localize.pointing_game(np.stack([M, M]), [(0, 0, 4, 4)]), ValueError,
         "true_boxes", "one box per map", "2 heatmaps but 1"),
    Case("randomization-method", "randomization.randomization_correlation", "a misspelled method",
         lambda z: randomization.randomization_correlation(z.model, X, "grad-cam"), ValueError,
         "method", "one of ['cam', 'gradcam'", "'grad-cam'"),
]
# fmt: on


def _course_and_tooling_cases() -> list[Case]:
    """Cases of the course's material and of the instructor tooling."""
    cases = []
    # fmt: off
    cases += [
        Case("beam-negative-length", "cantilever.Beam", "a length with the wrong sign",
             lambda z: cantilever.Beam(length=-0.3), ValueError,
             "Beam.length", "positive number (SI units)", "got -0.3"),
        Case("beam-damping-percent", "cantilever.Beam", "damping 5 meaning 5 %",
             lambda z: cantilever.Beam(damping_ratio=5), ValueError,
             "Beam.damping_ratio", "[0, 1)", "got 5"),
        Case("fault-severity", "cantilever.natural_frequencies", "severity 1.5",
             lambda z: cantilever.natural_frequencies(cantilever.Beam(), 0.5, 1.5),
             ValueError, "severity", "[0, 1)", "got 1.5"),
        Case("fault-position-metres", "cantilever.stiffness_factors", "position in mm",
             lambda z: cantilever.stiffness_factors(cantilever.Beam(), 150, 0.5),
             ValueError, "fault_position", "[0, 1]", "got 150", "Beam.length"),
        Case("dataset-zero-images", "cantilever.make_dataset", "n = 0",
             lambda z: cantilever.make_dataset(0), ValueError,
             "n", "positive int", "got 0"),
    ]
    cases += [
        Case("write-dict", "safe_io.atomic_write", "a dict instead of its JSON text",
             lambda z: safe_io.atomic_write(z.tmp / "a.json", {"a": 1}), TypeError,
             "data", "bytes or str", "got dict", "json.dumps"),
        Case("write-missing-folder", "safe_io.atomic_write", "a folder that does not exist",
             lambda z: safe_io.atomic_write(z.tmp / "nope" / "a.txt", "x"),
             FileNotFoundError, "nope/a.txt", "Create it first", "does not exist"),
        Case("write-untouched-none", "safe_io.write_protected", "no way to detect edits",
             lambda z: safe_io.write_protected(z.tmp / "b.txt", "x", untouched=None),
             TypeError, "untouched", "a function of the existing file's bytes",
             "got NoneType"),
    ]
    cases += [
        Case("solution-statement", "exercises.stub_source", "top-level code in a solution",
             lambda z: exercises.stub_source("x = 1\n"), exercises.ExerciseError,
             "a solution cell", "only imports and function definitions", "`x = 1`"),
        Case("solution-syntax", "exercises.stub_source", "a solution that does not parse",
             lambda z: exercises.stub_source("def f(:\n"), exercises.ExerciseError,
             "a solution cell", "valid Python", "invalid syntax"),
    ]
    cases += [
        Case("photo-unknown", "imagenet.load_photos", "a photo that is not shipped",
             lambda z: imagenet.load_photos(("cat",)), ValueError,
             "photo", "choose from ['astronaut'", "['cat']"),
    ]
    # fmt: on
    return cases


CASES += _course_and_tooling_cases()


@pytest.fixture(scope="module")
def z(gap_model, tmp_path_factory):
    """The models and inputs the cases use, built once."""
    keras.utils.set_random_seed(3)
    rgb = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ],
        name="rgb",
    )
    rescaling = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ],
        name="rescaling",
    )
    flatten = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ],
        name="flatten_head",
    )
    dense = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)], name="dense_only")

    def unbuilt_model():
        return keras.Sequential(
            [
                keras.layers.Conv2D(2, 3),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(3),
            ],
            name="unbuilt",
        )

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="subclassed")
            self.conv = keras.layers.Conv2D(2, 3)
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(self.pool(self.conv(x)))

    def subclassed_model():
        model = Subclassed()
        model(X)  # called once: weights, but no graph of layers
        return model

    def hidden_softmax_model():
        inp = keras.Input((28, 28, 1))
        pooled = keras.layers.GlobalAveragePooling2D(keepdims=True)(keras.layers.Conv2D(4, 3)(inp))
        scores = keras.layers.Conv2D(3, 1, activation="softmax", name="scores")(pooled)
        return keras.Model(inp, keras.layers.Flatten()(scores))

    x16 = RNG.random((2, 16, 16, 1), dtype=np.float32)
    x16.flat[:2] = 0.0, 1.0  # a [0, 1] image with both ends present
    return SimpleNamespace(
        model=gap_model,
        gap_model=gap_model,
        subclassed_model=subclassed_model,
        hidden_softmax_model=hidden_softmax_model,
        rgb_model=rgb,
        rescaling_model=rescaling,
        flatten_model=flatten,
        dense_model=dense,
        unbuilt_model=unbuilt_model,
        x16=x16,
        tmp=tmp_path_factory.mktemp("bad_inputs"),
    )


def _message(case: Case, z) -> str:
    if issubclass(case.error, Warning):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            case.call(z)
        matching = [w for w in caught if type(w.message) is case.error]
        assert matching, f"{case.id}: expected a {case.error.__name__}, got {caught!r}"
        return str(matching[0].message)
    with pytest.raises(BaseException) as info:
        case.call(z)
    assert type(info.value) is case.error, (
        f"{case.id}: expected {case.error.__name__}, got {type(info.value).__name__}: {info.value}"
    )
    return str(info.value)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_a_clear_error(case, z):
    message = _message(case, z)
    missing = [f for f in case.fragments if f not in message]
    assert not missing, f"{case.id}: message lacks {missing}:\n{message}"


def test_catalogue_is_complete_and_well_formed():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 40
    for c in CASES:
        assert c.arg and c.expected and c.got, f"{c.id}: name the argument, expected and got"
        assert "|" not in "".join((c.function, c.mistake, *c.fragments)), c.id
    functions = {c.function for c in CASES}
    for required in (
        "gap.global_average_pool",
        "gap.global_average_pool_loop",
        "gap.global_max_pool",
        "cam.class_activation_map_loop",
        "cam.class_activation_maps",
        "cam.compute_cam",
        "cam.cam_head",
        "gradcam.grad_cam",
        "gradcam.grad_cam_plus_plus",
        "layers.cut_model",
        "layers.find_layer",
        "localize.bbox_from_cam",
        "localize.iou",
        "viz.upsample",
        "viz.normalize",
        "viz.overlay",
        "widgets.cam_explorer",
        "data.load_mnist",
    ):
        assert required in functions, f"no bad-input case for {required}"


def _code(text: str) -> str:
    """``text`` as a Markdown code span (a double-backtick span if it holds a backtick)."""
    if not text:
        return ""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def doc_table(cases=None) -> str:
    """The Markdown table of the catalogue, as docs/bad_inputs.md shows it."""
    rows = [
        "| case | function | mistake | exception | argument | expected | got | hint |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in CASES if cases is None else cases:
        cells = (c.arg, c.expected, c.got, c.hint)
        code = " | ".join(_code(v) for v in cells)
        kind = c.error.__name__ + (" (warning)" if issubclass(c.error, Warning) else "")
        rows.append(f"| `{c.id}` | `{c.function}` | {c.mistake} | `{kind}` | {code} |")
    return "\n".join(rows)


def _doc_with_table(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{doc_table()}\n{END}{tail}"


def test_doc_table_matches_the_cases():
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{DOC} lost its table markers"
    for c in CASES:
        assert f"| `{c.id}` |" in text, f"{DOC} does not list case {c.id}"
    assert _doc_with_table(text) == text, (
        f"{DOC} is out of date; regenerate it: .venv/bin/python tests/test_bad_inputs.py"
    )


# --- a model ending in softmax: Grad-CAM takes gradients of the logits ----------------------


def _head(kind: str, num_classes: int):
    """Dense heads that end in a squashing function, written the usual ways."""
    if kind == "dense-softmax":
        return [keras.layers.Dense(num_classes, activation="softmax", name="out")]
    if kind == "activation-layer":
        return [keras.layers.Dense(num_classes, name="out"), keras.layers.Activation("softmax")]
    if kind == "softmax-layer":
        return [keras.layers.Dense(num_classes, name="out"), keras.layers.Softmax()]
    if kind == "sigmoid":
        return [keras.layers.Dense(1, activation="sigmoid", name="out")]
    return [keras.layers.Dense(num_classes, name="out")]  # "linear": already logits


@pytest.mark.parametrize(
    "kind", ["dense-softmax", "activation-layer", "softmax-layer", "sigmoid", "linear"]
)
def test_gradcam_takes_gradients_of_the_logits_not_the_probabilities(kind):
    """For conv -> GAP -> Dense, d logit_c / d A[i, j, k] = w[k, c] / (H W) exactly.

    Through a softmax the gradient would be scaled by p_c (1 - p_c) and mixed with
    the other classes' weights; this closed form holds only for the logits.
    """
    keras.utils.set_random_seed(5)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 2)),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv"),
            keras.layers.GlobalAveragePooling2D(),
            *_head(kind, 4),
        ]
    )
    x = np.random.default_rng(5).random((3, 12, 12, 2), dtype=np.float32)
    out = model.get_layer("out")
    kernel, bias = np.asarray(out.kernel), np.asarray(out.bias)
    if kind == "sigmoid":  # one unit counts as two classes with logits [-z, z], as in cam_head
        kernel, bias = np.concatenate([-kernel, kernel], axis=1), np.concatenate([-bias, bias])
    c = np.array([1, 0, 1]) if kind == "sigmoid" else np.array([1, 3, 0])
    acts, grads, logits, classes = gradcam.GradCAM(model, "conv").activations_and_gradients(x, c)
    np.testing.assert_array_equal(classes, c)
    expected = np.broadcast_to(kernel[:, c].T[:, None, None, :] / 144.0, grads.shape)
    np.testing.assert_allclose(grads, expected, rtol=1e-5, atol=1e-7)
    # the returned logits are the Dense layer's affine output, before any squashing
    np.testing.assert_allclose(logits, acts.mean(axis=(1, 2)) @ kernel + bias, rtol=1e-4, atol=1e-5)
    probs = model.predict(x, verbose=0)
    if kind == "sigmoid":
        np.testing.assert_allclose(probs[:, 0], tf.sigmoid(logits[:, 1]).numpy(), rtol=1e-5)
    elif kind != "linear":
        np.testing.assert_allclose(probs, tf.nn.softmax(logits).numpy(), rtol=1e-4, atol=1e-6)


if __name__ == "__main__":  # regenerate the table in docs/bad_inputs.md
    from cam_edu.exercises.safe_io import atomic_write

    atomic_write(DOC, _doc_with_table(DOC.read_text(encoding="utf-8")))
    print(f"wrote {len(CASES)} cases to {DOC}", file=sys.stderr)

"""The light core: ``import cam_edu`` loads no optional package and sets no environment
variable; CAM and Grad-CAM run with the optional packages missing; the explorer and LIME say
which extra to install. And no leaks: a model the user drops is freed, memory stays flat."""

import gc
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

OPTIONAL = (
    "ipywidgets", "anywidget", "IPython", "traitlets", "ipykernel", "jupyter_client",
    "nbformat", "nbclient", "nbconvert", "sphinx", "myst_nb", "furo",
    "sklearn", "skimage", "lime", "pandas", "mlxtend", "tqdm",
)  # fmt: skip

BLOCKER = f"""
import sys
BLOCKED = {OPTIONAL!r}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Blocker())
"""
TOY = """
import keras, numpy as np
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, name="c"),
                          keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)])
x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
"""

SCRIPT = (
    BLOCKER
    + """
import os
import tensorflow  # its own import may set variables: cam_edu's must not
"""
    + TOY
    + """
before = dict(os.environ)
import cam_edu
from cam_edu import compute_cam, grad_cam
cams, logits = compute_cam(model, x)
maps, _ = grad_cam(model, x)
assert cams.shape == maps.shape == (2, 6, 6), (cams.shape, maps.shape)
assert dict(os.environ) == before, "cam_edu changed the environment"
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(BLOCKED))
assert not loaded, loaded
for call, extra in ((lambda: cam_edu.cam_explorer(model, x), "explorer"),
                    (lambda: cam_edu.lime_map(model, x), "lime")):
    try:
        call()
    except ModuleNotFoundError as error:
        assert f'pip install "cam_edu[{extra}]"' in str(error), str(error)
    else:
        raise AssertionError(f"{extra} ran without its packages")
print("light core ok")
"""
)


def run_blocked(script: str, done: str) -> None:
    """Run ``script`` in a fresh Python without the optional packages; it prints ``done``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert done in result.stdout


def test_the_core_runs_cam_and_grad_cam_without_the_optional_packages():
    run_blocked(SCRIPT, "light core ok")


def test_the_explorer_state_is_plain_python_without_the_widget_packages():
    """The explorer's state, map sources and rendering need no widget: only its controls and
    its picture widget do (the ``explorer`` extra)."""
    script = (
        BLOCKER
        + TOY
        + """
from cam_edu.explorer.state import ExplorerState, caption, description
from cam_edu.explorer.render import ExplorerFigure, panels
state = ExplorerState(model, x, method="gradcam")
state.choose_class(3)
view = state.view()
figure = ExplorerFigure((8, 8), view.heatmap.shape, "feature cell", "Grad-CAM value")
figure.layout(740)
assert set(panels(view, state.alpha)) == {"input", "overlay", "raw", "colorbar"}
assert "Grad-CAM map of image 0 for class 3" in description(state, view), description(state, view)
assert "class" in caption(state, view)
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(BLOCKED))
assert not loaded, loaded
try:
    from cam_edu.explorer.controls import CamExplorer
except ModuleNotFoundError as error:
    assert 'pip install "cam_edu[explorer]"' in str(error), str(error)
else:
    raise AssertionError("the controls imported without ipywidgets")
print("state ok")
"""
    )
    run_blocked(script, "state ok")


def test_importing_cam_edu_sets_no_variable_and_loads_no_tensorflow():
    script = "import os, sys; b = dict(os.environ); import cam_edu; "
    script += "assert dict(os.environ) == b; assert 'tensorflow' not in sys.modules; print('ok')"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


def test_without_tensorflow_the_message_says_what_to_install():
    script = BLOCKER.replace(f"{OPTIONAL!r}", "('tensorflow',)") + (
        "import cam_edu\ntry:\n    cam_edu.grad_cam\nexcept ModuleNotFoundError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert 'pip install "cam_edu[tensorflow]"' in result.stdout, result.stderr[-2000:]
    assert '"cam_edu[cpu]"' in result.stdout


# --- no leaks ------------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def _explain_everything(model, x):
    from cam_edu import compare_methods, compute_cam, grad_cam, grad_cam_plus_plus, score_cam
    from cam_edu.localize import BoxTruth

    compute_cam(model, x)
    grad_cam(model, x)
    grad_cam_plus_plus(model, x)
    score_cam(model, x)
    truth = BoxTruth([(0, 0, 14, 14)] * len(x), (28, 28))
    compare_methods(model, x, truth, methods=["cam", "gradcam"], steps=4)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_models_that_are_dropped_are_freed_and_memory_stays_flat():
    """No model, compiled path or random copy outlives its user's reference to the model.

    The weak references and the cache count catch a leak of any size; the memory check
    catches what they cannot see (the models here are 0.5 MB: a leak of compiled graphs)."""
    from cam_edu.course.models import build_gap_cnn
    from cam_edu.engine import cached_models, engine, logits_engine
    from cam_edu.randomization import random_copy

    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    for _ in range(3):  # models that earlier tests dropped go now, not during the loop
        gc.collect()
    cached = cached_models()  # the session's own models (fixtures) stay
    alive, rss = [], []
    for i in range(8):
        model = build_gap_cnn(seed=i)
        _explain_everything(model, x)
        parts = (model, engine(model), logits_engine(model), random_copy(model))
        alive += [weakref.ref(part) for part in parts]
        assert cached_models() > cached  # the model and its random copy have compiled paths
        del model, parts
        for _ in range(3):  # the random copy is cached on the model: it becomes garbage
            gc.collect()  # only when the collection that frees the model drops its cache
        rss.append(_rss_mb())
        assert cached_models() == cached, "a dropped model's compiled paths are still cached"
    assert sum(r() is not None for r in alive) == 0, "a dropped model or its engine is alive"
    growth = rss[-1] - rss[2]  # after two warm-up rounds (TensorFlow's own caches)
    assert growth < 40, f"memory grew by {growth:.0f} MB over 6 models: {rss}"


def test_compare_methods_does_not_clone_the_model_on_every_call(gap_model, digits, monkeypatch):
    import keras

    from cam_edu import compare_methods
    from cam_edu.localize import BoxTruth

    clones = []
    real = keras.models.clone_model
    monkeypatch.setattr(
        keras.models, "clone_model", lambda *a, **k: clones.append(1) or real(*a, **k)
    )
    truth = BoxTruth([(0, 0, 14, 14)] * 4, (28, 28))
    for _ in range(3):
        compare_methods(gap_model, digits[:4], truth, methods=["gradcam"], steps=4, seed=7)
    assert len(clones) == 1, f"{len(clones)} clones for 3 calls"


def test_explaining_many_models_raises_no_retracing_warning():
    """Each model gets its own compiled paths; TensorFlow must not call that "retracing"
    (its warning counts traces per code object, so lambdas shared by all engines trip it)."""
    import logging

    from cam_edu import compute_cam, grad_cam
    from cam_edu.course.models import build_gap_cnn

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
        for i in range(7):
            model = build_gap_cnn(seed=i)
            compute_cam(model, x)
            grad_cam(model, x)
    finally:
        logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if "retracing" in r.getMessage()]

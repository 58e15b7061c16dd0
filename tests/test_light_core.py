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

SCRIPT = (
    BLOCKER
    + """
import os
import keras, numpy as np, tensorflow
before = dict(os.environ)
import cam_edu
from cam_edu import compute_cam, grad_cam
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, name="c"),
                          keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)])
x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
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


def test_the_core_runs_cam_and_grad_cam_without_the_optional_packages():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "light core ok" in result.stdout


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
    from cam_edu.course.models import build_gap_cnn

    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    alive, rss = [], []
    for i in range(8):
        model = build_gap_cnn(seed=i)
        _explain_everything(model, x)
        alive.append(weakref.ref(model))
        del model
        gc.collect()
        rss.append(_rss_mb())
    assert sum(r() is not None for r in alive) == 0, "a dropped model is still alive"
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

"""Optional parts of cam_edu and what to install for them.

The core (maps, metrics, drawing) needs Keras on TensorFlow, numpy, scipy and matplotlib.
The explorer, LIME, the course's material and the instructor tooling need more; each is an
extra of the package (``pip install "cam_edu[explorer]"``). :func:`require` imports an
optional module or says which extra brings it.

>>> require("numpy", "explorer", "the explorer").__name__
'numpy'
>>> require("no_such_module_here", "lime", "LIME maps")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ModuleNotFoundError: no_such_module_here is needed for LIME maps ... pip install "cam_edu[lime]"
"""

from __future__ import annotations

import importlib
from types import ModuleType

TENSORFLOW_HINT = (
    'pip install "cam_edu[tensorflow]" (or "cam_edu[cpu]" for the CPU-only wheel); with '
    "TensorFlow already installed, as on Colab or a GPU machine, nothing more is needed"
)


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ``ModuleNotFoundError`` naming the extra that installs it.

    Args:
        module: the module to import, e.g. ``"ipywidgets"``.
        extra: the cam_edu extra that installs it, e.g. ``"explorer"``.
        purpose: what needs it, for the message, e.g. ``"the explorer"``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != module.split(".")[0]:
            raise  # the module is there but one of its own imports is missing
        raise ModuleNotFoundError(
            f"{module} is needed for {purpose} but is not installed. Install it with: "
            f'pip install "cam_edu[{extra}]"',
            name=module,
        ) from None

"""The tiny examples in the docstrings of ``cam_edu`` run and give what they show."""

import doctest
import importlib
import pkgutil
import warnings

import pytest

import cam_edu

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(cam_edu.__path__, "cam_edu.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # examples of constant maps warn on purpose
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} has no docstring example that runs"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (above)"

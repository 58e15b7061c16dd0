"""Checks the grader judges again outside the notebook: record there, replay here.

A check in a notebook runs the student's functions *and* compares in the same kernel, so
a notebook could change the comparison (``np.allclose = lambda *a, **k: True``). The
grader therefore only trusts what the student's functions *returned*:

1. In a notebook run by the grader (environment variable :data:`ENV` set to ``1``), every
   check also displays a record of each call it made to the student's functions: the
   value returned, as plain data (arrays as float64 bytes), or what went wrong. It is an
   output of the check cell with the mime type :data:`MIME`; students never see one.
2. The grader then runs the same check again in its own process, where no student code
   ever ran, inside :func:`replaying`: there :func:`.harness.call` hands back the
   recorded results instead of calling anything, and the check computes its cases and
   references and compares them afresh. Nothing the notebook did to ``numpy``,
   ``cam_edu`` or the checks reaches that verdict; a forged record can only contain
   values, which pass only if they are the right ones.

Decoding is strict (:class:`RecordError`): records come from untrusted notebooks.

>>> outcome = Outcome("value", np.arange(3.0), False)
>>> decode_outcome(json.loads(json.dumps(encode_outcome(outcome)))).value
array([0., 1., 2.])
>>> type(decode_value(encode_value(object()))).__name__
'object'
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import json
import os
import re
from typing import NamedTuple

import numpy as np

MIME = "application/vnd.cam-edu.check-record+json"
ENV = "CAM_EDU_RECORD_CHECKS"
MAX_ITEMS = 64  # items of a returned tuple or list, kept one by one
MAX_VALUES = 20_000_000  # numbers in one recorded array (160 MB as float64)
MAX_DEPTH = 4


class RecordError(ValueError):
    """A record that is not what a check writes: the grader trusts none of it."""


class Outcome(NamedTuple):
    """What one call of a student's function gave.

    ``kind`` is ``"value"`` (``value`` returned; ``detail``: whether an input array was
    changed in place), ``"raised"`` (``value`` the exception's type name, ``detail`` its
    message), ``"failed"`` (the check's own verdict on the returned object, ``detail``),
    ``"not_written"`` or ``"not_callable"`` (``value`` the type name of what was passed).
    """

    kind: str
    value: object = None
    detail: object = None


KINDS = ("value", "raised", "failed", "not_written", "not_callable")


class Opaque:
    """Stands for a returned object that cannot be recorded (a model, a dict, ...); its
    class is named after the original's, so that messages name the type."""


def _opaque(name: str) -> Opaque:
    name = re.sub(r"\W", "_", str(name))[:60] or "object"
    return type(name if name[0].isalpha() else "_" + name, (Opaque,), {})()


# --------------------------------------------------------------------------- encoding


def encode_value(value, depth: int = 0) -> dict:
    """``value`` as JSON-ready plain data (see :func:`decode_value`)."""
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        try:
            value = value.numpy()
        except Exception:
            return {"opaque": type(value).__name__}
    if value is None:
        return {"none": True}
    if isinstance(value, str):
        return {"str": value[:10_000]}
    if isinstance(value, bool | int | float) and not isinstance(value, np.generic):
        return {"number": _bytes(np.float64(value)), "type": type(value).__name__}
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind in "biuf" and array.size <= MAX_VALUES:
            return {"array": _bytes(array.astype(np.float64)), "shape": list(array.shape)}
        return {"opaque": f"ndarray_of_{array.dtype.name}"}
    if isinstance(value, tuple | list) and depth < MAX_DEPTH and len(value) <= MAX_ITEMS:
        items = [encode_value(v, depth + 1) for v in value]
        return {"seq": items, "type": "tuple" if isinstance(value, tuple) else "list"}
    if isinstance(value, tuple | list):
        try:
            return encode_value(np.asarray(value, dtype=np.float64), depth)
        except (TypeError, ValueError):
            pass
    return {"opaque": type(value).__name__}


def _bytes(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode("ascii")


def decode_value(data, depth: int = 0):
    """The value :func:`encode_value` recorded; raises :class:`RecordError` if malformed."""
    if not isinstance(data, dict) or len(data) > 2:
        raise RecordError("a recorded value is not an object of one kind")
    if "none" in data:
        return None
    if "str" in data:
        return _typed(data["str"], str)
    if "number" in data:
        kinds = {"bool": bool, "int": int, "float": float}
        kind = kinds.get(data.get("type"))
        number = float(_floats(data["number"], []))
        if kind is None:
            raise RecordError("a recorded number of unknown type")
        return kind(number) if np.isfinite(number) or kind is float else float(number)
    if "array" in data:
        return _floats(data["array"], data.get("shape"))
    if "seq" in data and depth < MAX_DEPTH:
        items = _typed(data["seq"], list)
        if len(items) > MAX_ITEMS or data.get("type") not in ("tuple", "list"):
            raise RecordError("a recorded sequence is too long or of unknown type")
        decoded = [decode_value(item, depth + 1) for item in items]
        return tuple(decoded) if data["type"] == "tuple" else decoded
    if "opaque" in data:
        return _opaque(_typed(data["opaque"], str))
    raise RecordError("a recorded value of unknown kind")


def _typed(value, kind):
    if not isinstance(value, kind):
        raise RecordError(f"expected {kind.__name__} in a record, found {type(value).__name__}")
    return value


def _floats(text, shape) -> np.ndarray:
    shape = _typed(shape, list)
    if len(shape) > 8 or not all(isinstance(n, int) and 0 <= n <= MAX_VALUES for n in shape):
        raise RecordError("a recorded array has an impossible shape")
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_VALUES or len(_typed(text, str)) > 4 * (8 * size + 2) // 3 + 4:
        raise RecordError("a recorded array is larger than its shape")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise RecordError("a recorded array is not base64") from None
    if len(raw) != 8 * size:
        raise RecordError("a recorded array does not match its shape")
    return np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(shape)


def encode_outcome(outcome: Outcome) -> dict:
    if outcome.kind == "value":
        return {"kind": "value", "value": encode_value(outcome.value), "mutated": outcome.detail}
    return {"kind": outcome.kind, "value": outcome.value, "detail": outcome.detail}


def decode_outcome(data) -> Outcome:
    """The :class:`Outcome` of a recorded call; raises :class:`RecordError` if malformed."""
    kind = _typed(data, dict).get("kind")
    if kind not in KINDS:
        raise RecordError("a recorded call of unknown kind")
    if kind == "value":
        return Outcome("value", decode_value(data.get("value")), data.get("mutated") is True)
    value, detail = data.get("value"), data.get("detail")
    texts = [t for t in (value, detail) if t is not None]
    if not all(isinstance(t, str) for t in texts):
        raise RecordError("a recorded failure is not text")
    return Outcome(kind, None if value is None else value[:100], detail and detail[:300])


# --------------------------------------------------------------------------- the two sides


class Recorder:
    """Kernel side: the calls one check made, displayed as one output when it ends."""

    def __init__(self, title: str):
        self.title, self.calls = title, []

    def add(self, label: str, case: str, outcome: Outcome) -> None:
        self.calls.append({"label": label, "case": case, "outcome": encode_outcome(outcome)})

    def emit(self) -> None:
        try:
            from IPython.display import display
        except ImportError:  # not in IPython: nobody to hand the record to
            return
        display({MIME: {"title": self.title, "calls": self.calls}}, raw=True)


class Replay:
    """Grader side: the records of one check cell, handed out as the check asks for them."""

    def __init__(self, records: list):
        self.records = [_typed(r, dict) for r in _typed(records, list)]
        self.calls: list | None = None

    def start(self, title: str) -> None:
        """Take the next record of the check ``title``; ``calls`` is ``None`` if there is none."""
        for i, rec in enumerate(self.records):
            if rec.get("title") == title:
                self.calls = list(_typed(self.records.pop(i).get("calls"), list))
                return
        self.calls = None

    def outcome(self, label: str, case: str) -> Outcome | None:
        """The recorded outcome of the first unused call ``(label, case)``, or ``None``."""
        for i, call in enumerate(self.calls or []):
            if _typed(call, dict).get("label") == label and call.get("case") == case:
                return decode_outcome(self.calls.pop(i).get("outcome"))
        return None


class Replayed:
    """Grader side: stands for a student's function that a check cell names. It is never
    called (its results are recorded); ``source`` is its definition in the notebook, for
    checks that read the code (no loops), or ``None``."""

    def __init__(self, name: str, source: str | None = None):
        self.__name__, self.source = name, source

    def __call__(self, *args, **kwargs):
        raise RecordError(f"{self.__name__} is replayed from its records, never called")


_state: contextvars.ContextVar = contextvars.ContextVar("cam_edu_check_record", default=None)


def recording() -> bool:
    """Whether this process records its checks (the grader set :data:`ENV`)."""
    return os.environ.get(ENV) == "1"


def current():
    """The :class:`Recorder` or :class:`Replay` of the check running now, or ``None``."""
    return _state.get()


@contextlib.contextmanager
def active(state):
    token = _state.set(state)
    try:
        yield state
    finally:
        _state.reset(token)


def replaying(records: list):
    """Run checks on ``records`` (the :data:`MIME` outputs of one check cell, in order)."""
    return active(Replay(records))


def records_of(outputs) -> list:
    """The check records among a cell's outputs, in order (they are plain JSON)."""
    found = []
    for output in outputs:
        data = output.get("data", {}) if isinstance(output, dict) else {}
        if isinstance(data, dict) and MIME in data:
            record = data[MIME]
            found.append(json.loads(record) if isinstance(record, str) else record)
    return found

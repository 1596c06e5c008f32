"""The grader's side of stand-ins: the reference solution answers for a graded name.

A call may carry ``"stand_ins": ["logistic"]`` (see student.call_spec): while it runs, the
student's ``logistic`` is replaced by a stand-in that asks the grader, so that ``gradient``,
which calls it, is judged on its own code. The stand-in's request is
``{"event": "stand_in", "name", "args", "kwargs", "self"}``, where ``self`` is None for a
function and, for a method, the object's state: ``{"class": name, "attributes": {...}}``
holding its numbers and arrays, nested objects as states of their own
(autograder/sandbox/inside/calls.py, object_state). ``reference_answer`` computes the answer here, in the
grader's process, with ``reference/<assignment>.py``; only numbers and arrays go back.
"""
import importlib
import types

import numpy as np

from autograder.sandbox import wire


def reference_answer(assignment, request):
    """``{"ok": value}``: what the reference of the assignment returns for the stand-in
    ``request``; ``{"raised": type name, "message": ...}`` if it raises (the student's code
    passed it something it cannot compute with)."""
    module = importlib.import_module(f"reference.{assignment}")
    try:
        function = reference_callable(module, request["name"], request.get("self"))
        with np.errstate(all="ignore"):  # the same answer whatever the caller's settings
            value = function(*request["args"], **request["kwargs"])
    except Exception as err:
        return {"raised": type(err).__name__, "message": str(err)[:500]}
    return {"ok": value}


def reference_callable(module, name, state):
    """The reference's function ``name``, or for "Class.method" that method of an instance of
    the reference class rebuilt from the object's ``state``."""
    class_name, _, method = name.rpartition(".")
    if not class_name:
        return public(module, name)
    cls = reference_class(module, class_name)
    if cls is None or not isinstance(state, dict):
        raise TypeError(f"no {class_name} object to call {method} on")
    return getattr(rebuild(module, state, cls), method)


def public(module, name):
    value = vars(module).get(name) if not name.startswith("_") else None
    if value is None:
        raise AttributeError(f"the reference has no {name}")
    return value


def reference_class(module, name):
    """The class ``name`` that the reference module defines, or None."""
    cls = vars(module).get(name) if not name.startswith("_") else None
    return cls if isinstance(cls, type) and cls.__module__ == module.__name__ else None


def rebuild(module, state, cls=None):
    """An object with the attributes of ``state``, made without running ``__init__``: an
    instance of ``cls``, else of the reference class of the state's name (a plain namespace
    when the reference has none); nested states become nested objects."""
    if not (isinstance(state, dict) and isinstance(state.get("class"), str)
            and isinstance(state.get("attributes"), dict)):
        raise TypeError("malformed object state")
    cls = cls or reference_class(module, state["class"])
    obj = object.__new__(cls) if cls is not None else types.SimpleNamespace()
    vars(obj).update({name: rebuild(module, value) if isinstance(value, dict) else value
                      for name, value in state["attributes"].items()})
    return obj


def reply_frame(answer, max_bytes):
    """The frame that carries ``answer`` back to the student's code: a ``raised`` instead when
    it cannot cross the boundary or is larger than ``max_bytes``."""
    try:
        frame = wire.pack(answer)
    except Exception as err:
        return wire.pack({"raised": "TypeError", "message": f"its answer is not numbers ({err})"})
    if len(frame) - wire.HEADER_BYTES > max_bytes:
        return wire.pack({"raised": "MemoryError",
                          "message": f"its answer is larger than the {max_bytes / 2**20:.0f} MiB limit"})
    return frame


def kernel_asker(stand_in, max_bytes):
    """``ask(request frame) -> reply`` for stand-ins in a live kernel (autograder.integrations.in_kernel),
    answered by ``stand_in(request) -> answer`` (e.g. ``reference_answer`` of an assignment):
    the same request and reply frames as through the sandbox, without a process between."""
    def ask(request):
        answer = stand_in(wire.unpack(request[wire.HEADER_BYTES:]))
        return wire.unpack(reply_frame(answer, max_bytes)[wire.HEADER_BYTES:])
    return ask

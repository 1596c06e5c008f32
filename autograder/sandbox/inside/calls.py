"""The calls of one batch, run in the submission's process: a graded name looked up in the
notebook's namespace, called with the grader's arguments, its result (or its exception, as data)
made into a wire-safe answer.

A call may carry stand-ins (``"stand_ins": ["logistic"]``): for that call, those graded names
are rebound to functions that ask the grader, which answers with the course's reference
solution (see ``stand_ins_installed``), so a caller is judged on its own code, never on the
bugs of the graded functions it calls.

One of the three programs inside the sandbox: warm_server.py forks a submission.py per
submission, which runs its batches of calls with this module.
"""
import contextlib
import os
import sys
import traceback
import types

if __package__:  # imported by the grader (autograder.integrations.in_kernel runs calls the same way)
    from autograder.sandbox import wire
else:  # a script in the sandbox, beside its copies of wire.py; -P leaves that folder off the path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire  # noqa: E402


def error_summary(err):
    """Exception type, message, the line in the student's cell where it was raised, and the
    innermost function of the student's it was raised in (``function``: "logistic",
    "LinearUpdate.backward"; "" at a cell's top level). A stand-in that could not answer
    adds its graded name (``stand_in``)."""
    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.startswith("<cell"):
            where = f"{frame.filename[1:-1]}, line {frame.lineno}: {(frame.line or '').strip()}"
            break
    function, tb = "", err.__traceback__
    while tb is not None:  # outermost first: the last frame of a cell is the innermost
        code = tb.tb_frame.f_code
        if code.co_filename.startswith("<cell"):
            function = "" if code.co_name == "<module>" else code.co_qualname
        tb = tb.tb_next
    summary = {"raised": type(err).__name__, "message": str(err)[:500], "where": where, "function": function}
    if isinstance(err, StandInFailed):
        summary["stand_in"] = err.name
    return summary


def build_object(namespace, spec):
    """An instance of spec["class"] built with spec["init"], then spec["set"] attributes."""
    obj = namespace[spec["class"]](*spec.get("init", []))
    for path, value in spec.get("set", {}).items():
        *parents, attr = path.split(".")
        holder = obj
        for name in parents:
            holder = getattr(holder, name)
        setattr(holder, attr, value)
    return obj


def attribute(obj, path):
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


def resolve(namespace, call):
    """The callable a call names: a function, or a method of a freshly built object."""
    target = call["target"]
    if "." not in target:
        return namespace[target]
    class_name, method = target.split(".", 1)
    obj = build_object(namespace, {"class": class_name, "init": call.get("init", []), "set": call.get("set", {})})
    return getattr(obj, method)


def numpy_errors(settings):
    """np.errstate(**settings), e.g. overflow as an error; a no-op context when None."""
    import contextlib

    return wire.np.errstate(**settings) if settings else contextlib.nullcontext()


class StandInFailed(Exception):
    """Raised in the student's code by a stand-in whose reference could not compute an answer
    for what it was given (wrong shapes, say): the caller failed, not the graded name."""

    def __init__(self, name, reason):
        super().__init__(f"the course's version of `{name}`, which this code calls, could not compute "
                         f"its answer for the arguments given ({reason})")
        self.name = name


def is_number(value):
    """A value the stand-ins send as an object's state: a number, or an array of numbers."""
    if isinstance(value, (bool, int, float, wire.np.integer, wire.np.floating, wire.np.bool_)):
        return True
    return isinstance(value, wire.np.ndarray) and value.dtype.kind in wire.NUMBER_KINDS


def object_state(obj, module, seen=()):
    """{"class": name, "attributes": {...}}: the numbers and arrays among ``obj``'s attributes,
    and, as states of their own, the objects of the notebook's classes (``module`` is the
    notebook's ``__name__``) it holds. Anything else is left out."""
    seen = (*seen, id(obj))
    attributes = {}
    try:
        items = list(vars(obj).items())
    except Exception:  # no __dict__ (or a strange one)
        items = []
    for name, value in items:
        if is_number(value):
            attributes[str(name)] = value
        elif (type(value).__module__ == module and not isinstance(value, (type, types.ModuleType))
              and hasattr(value, "__dict__")
              and id(value) not in seen and len(seen) < 16):
            attributes[str(name)] = object_state(value, module, seen)
    return {"class": type(obj).__name__, "attributes": attributes}


def stand_in_answer(name, ask, args, kwargs, state):
    """What the stand-in of ``name`` returns: the reference's answer for these arguments (and
    the object's ``state``), obtained by ``ask``; StandInFailed if there is none."""
    try:
        request = wire.pack({"event": "stand_in", "name": name, "args": list(args), "kwargs": dict(kwargs),
                             "self": state})
    except Exception as err:  # an object or a string array: not numbers
        raise StandInFailed(name, str(err)) from None
    reply = ask(request)
    if isinstance(reply, dict) and "ok" in reply:
        return reply["ok"]
    if isinstance(reply, dict) and "raised" in reply:
        raise StandInFailed(name, f"{reply['raised']}: {reply.get('message', '')}")
    raise StandInFailed(name, "its answer was malformed")


def function_stand_in(name, ask):
    def stand_in(*args, **kwargs):
        return stand_in_answer(name, ask, args, kwargs, None)
    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def method_stand_in(name, ask, module):
    def stand_in(self, *args, **kwargs):
        return stand_in_answer(name, ask, args, kwargs, object_state(self, module))
    stand_in.__name__, stand_in.__qualname__ = name.split(".", 1)[1], name
    return stand_in


_ABSENT = object()


@contextlib.contextmanager
def stand_ins_installed(namespace, names, ask):
    """For the duration of the block, rebind each graded name of ``names`` in ``namespace`` to a
    stand-in whose answers come from ``ask(request frame) -> reply``: a function ``f`` becomes
    ``namespace["f"]``; a method ``Class.method`` is set on the namespace's class (so objects
    made during the call use it too), unless there is no such class. Everything is restored
    exactly afterwards, even if the block raises."""
    undo = []
    try:
        for name in names:
            if "." not in name:
                undo.append((namespace, name, namespace.get(name, _ABSENT)))
                namespace[name] = function_stand_in(name, ask)
                continue
            class_name, method = name.split(".", 1)
            cls = namespace.get(class_name)
            if not isinstance(cls, type):
                continue  # no such class: the call fails the usual way
            old = cls.__dict__.get(method, _ABSENT)
            try:
                type.__setattr__(cls, method, method_stand_in(name, ask, namespace.get("__name__")))
            except (TypeError, AttributeError):
                continue  # a built-in type: not the student's class
            undo.append((cls, method, old))
        yield
    finally:
        for holder, key, old in reversed(undo):
            if isinstance(holder, dict):
                if old is _ABSENT:
                    holder.pop(key, None)
                else:
                    holder[key] = old
            elif old is _ABSENT:
                with contextlib.suppress(AttributeError):
                    type.__delattr__(holder, key)
            else:
                type.__setattr__(holder, key, old)


def run_call(namespace, call, ask=None):
    """Result of one call as a wire-safe dict; exceptions become data.

    The call's stand-ins (``call["stand_ins"]``) are in place while it runs; they get their
    answers from ``ask(request) -> reply`` (see submission.ask_the_grader)."""
    if call.get("stand_ins"):
        with stand_ins_installed(namespace, call["stand_ins"], ask):
            return call_once(namespace, call)
    return call_once(namespace, call)


def call_once(namespace, call):
    """``run_call`` without stand-ins."""
    args, kwargs = list(call.get("args", [])), call.get("kwargs", {})
    try:
        function = resolve(namespace, call)
        for index, spec in call.get("arg_objects", {}).items():  # objects passed as arguments
            args[int(index)] = build_object(namespace, spec)
    except KeyError as err:
        return {"missing": str(err).strip("'")}
    except BaseException as err:
        return {"setup_failed": True, **error_summary(err)}
    try:
        with numpy_errors(call.get("numpy_errors")):
            value = function(*args, **kwargs)
    except BaseException as err:
        return error_summary(err)
    answer = {"ok": value}
    if call.get("return_args"):
        built = call.get("arg_objects", {})  # objects built in here stay here: only the data comes back
        answer["args_after"] = [None if str(i) in built else a for i, a in enumerate(args)]
    try:  # read back attributes of argument objects, e.g. a trained network's weights
        answer["attributes"] = {index: {path: attribute(args[int(index)], path) for path in paths}
                                for index, paths in call.get("return_attributes", {}).items()}
    except BaseException as err:
        return {"setup_failed": True, **error_summary(err)}
    try:  # only numbers cross the boundary: reject objects here, with a clear message
        wire.pack(answer)
    except Exception as err:
        return {"unsendable": f"{type(value).__name__}: {err}"}
    return answer

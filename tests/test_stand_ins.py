"""A bug costs once: an item that calls other graded items is judged with correct versions of them.

A call's ``stand_ins`` rebind those graded names, in the batch's fork only, to functions whose
answers the grader computes with the reference solution (autograder/checks/stand_ins.py). Real
sandboxes, real forks, as in test_sandbox.py.
"""
import builtins
import functools
import inspect
import json
import linecache
import subprocess
import sys
import time

import numpy as np
import pytest

import reference.digits_mlp as mlp
import reference.logistic_regression as ref
from autograder.sandbox import wire
from autograder.sandbox.inside import calls as student_calls
from autograder.checks.client import InProcessClient
from autograder.sandbox.session import Limits, Session, SandboxFailure
from autograder.checks.stand_ins import reference_answer
from autograder.checks.client import Client, call_spec
from autograder.sandbox.sandbox import scrubbed_environment
from conftest import ROOT

LR = functools.partial(reference_answer, "logistic_regression")
MLP = functools.partial(reference_answer, "digits_mlp")

GRADIENT = """
import numpy as np
def gradient(w, x, t):
    y = logistic(x @ w.T)
    return (y - t).T @ x / x.shape[0]
"""
LOGISTICS = {  # a correct gradient written on top of a logistic that is...
    "a stub": "def logistic(z):\n    raise NotImplementedError\n",
    "crashing": "def logistic(z):\n    return 1 / 0\n",
    "ending its process": "import os\ndef logistic(z):\n    os._exit(3)\n",
    "returning None": "def logistic(z):\n    return None\n",
    "deleted": "def logistic(z):\n    return 1 / (1 + np.exp(-z))\n",  # and a later cell deletes it
    "oversized": "def logistic(z):\n    return np.zeros((10**8, 1))\n",
    "wrong": "def logistic(z):\n    return np.zeros_like(z)\n",
}


def data(seed=0, n=7):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(1, 2)), rng.normal(size=(n, 2)), (rng.random((n, 1)) > 0.5).astype(float)


def gradient_call(stand_ins=("logistic",), seed=0):
    return call_spec("gradient", data(seed), stand_ins=stand_ins)


@functools.cache
def reference_gradients(seeds=(0, 1, 2, 3)):
    """The reference's gradients, computed in a sandbox: its BLAS may round a matrix product
    differently from the grader's (this machine sets OPENBLAS_CORETYPE, the sandbox's
    environment does not), and the student's gradient does its products there."""
    with Session([inspect.getsource(ref)]) as sandbox:
        answers = sandbox.call_batch([call_spec("gradient", data(seed)) for seed in seeds])
    assert all(np.allclose(a["ok"], ref.gradient(*data(s)), rtol=1e-12, atol=0) for a, s in zip(answers, seeds))
    return {seed: answer["ok"] for seed, answer in zip(seeds, answers)}


def cells(kind):
    return [LOGISTICS[kind], GRADIENT] + (["del logistic\n"] if kind == "deleted" else [])


def answers_of(sandbox, calls, **kwargs):
    try:
        return sandbox.call_batch(calls, **kwargs)
    except SandboxFailure as failure:
        return failure


@pytest.mark.parametrize("kind", list(LOGISTICS))
def test_a_correct_gradient_is_judged_correct_whatever_the_logistic_it_calls(kind):
    expected = [reference_gradients()[seed] for seed in (0, 1)]
    with Session(cells(kind)) as sandbox:
        alone = answers_of(sandbox, [gradient_call(())])
        if isinstance(alone, list):  # without stand-ins it fails as before
            assert "ok" not in alone[0] or not np.array_equal(alone[0]["ok"], expected[0]), alone
        stood_in = sandbox.call_batch([gradient_call(seed=0), gradient_call(seed=1)], stand_in=LR)
    for answer, value in zip(stood_in, expected):
        assert np.array_equal(answer["ok"], value) and answer["ok"].shape == (1, 2), answer


def test_without_stand_ins_each_broken_logistic_fails_the_way_it_always_did():
    seen = {}
    for kind in LOGISTICS:
        with Session(cells(kind)) as sandbox:
            result = answers_of(sandbox, [gradient_call(())])
        seen[kind] = result.kind if isinstance(result, SandboxFailure) else result[0].get("raised", "ok")
    assert seen == {"a stub": "NotImplementedError", "crashing": "ZeroDivisionError", "ending its process": "crashed",
                    "returning None": "TypeError", "deleted": "NameError", "oversized": "ValueError", "wrong": "ok"}


LAYERS = """
import numpy as np

class LinearUpdate:
    def __init__(self, n_in, n_out):
        self.W = np.zeros((n_in, n_out))
        self.b = np.zeros((n_out, 1))
        self.name = "linear"  # not numbers: left out of the state the stand-in sends
        self.history = [1.0, 2.0]

    def backward(self, A, gY):
        raise NotImplementedError

class LogisticUpdate:
    def backward(self, Y, grad_out):
        return grad_out * 0.0  # wrong

class Layer:
    def __init__(self, n_in, n_out):
        self.linear = LinearUpdate(n_in, n_out)
        self.logistic = LogisticUpdate()
        self.rng = np.random.default_rng(0)
        self.linear.layer = self  # a cycle

    def backward(self, A, Y, grad_out):
        gZ = self.logistic.backward(Y, grad_out)
        return self.linear.backward(A, gZ)

class Net:
    def __init__(self, n_in, n_out):
        self.hidden = Layer(n_in, n_out)

    def first_layer_gradients(self, X, Y, g):
        return self.hidden.backward(X, Y, g)
"""


def layer_data(seed=0, n_in=4, n_out=3, n=5):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n_in, n_out)), rng.normal(size=(n_out, 1)), rng.normal(size=(n_in, n)),
            rng.random((n_out, n)), rng.normal(size=(n_out, n)))


def reference_layer_backward(seed=0):
    W, b, A, Y, g = layer_data(seed)
    layer = mlp.Layer(*W.shape)
    layer.linear.W, layer.linear.b = W, b
    return layer.backward(A, Y, g)


def layer_call(stand_ins, seed=0, target="Layer.backward", prefix="linear."):
    W, b, A, Y, g = layer_data(seed)
    return call_spec(target, (A, Y, g), init=W.shape, attributes={f"{prefix}W": W, f"{prefix}b": b},
                     stand_ins=stand_ins)


def assert_same_arrays(answer, expected):
    assert "ok" in answer, answer
    assert len(answer["ok"]) == len(expected)
    assert all(np.array_equal(a, e) for a, e in zip(answer["ok"], expected)), answer


def test_methods_get_stand_ins_set_on_their_class_with_the_objects_state_sent_nested_objects_too():
    expected = reference_layer_backward()
    with Session([LAYERS]) as sandbox:
        both = ["LinearUpdate.backward", "LogisticUpdate.backward"]
        alone, linear_only, stood_in, whole_layer, no_class = sandbox.call_batch([
            layer_call(()), layer_call(["LinearUpdate.backward"]), layer_call(both),
            layer_call(["Layer.backward"], target="Net.first_layer_gradients", prefix="hidden.linear."),
            layer_call(["Missing.backward", *both])], stand_in=MLP)
    assert alone["raised"] == "NotImplementedError"
    assert "ok" in linear_only and not np.array_equal(linear_only["ok"][0], expected[0])  # its logistic is wrong
    assert_same_arrays(stood_in, expected)
    assert_same_arrays(whole_layer, expected)  # a Layer's state: its LinearUpdate's W and b, nested
    assert_same_arrays(no_class, expected)  # a class the notebook lacks gets no stand-in: the rest do


def test_the_state_a_method_stand_in_sends_is_numbers_and_nested_objects_tagged_with_their_class():
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(LAYERS, "<cell 0>", "exec"), namespace)
    layer = namespace["Layer"](2, 1)
    layer.count, layer.flag, layer.scale = 3, True, np.float64(0.5)
    state = student_calls.object_state(layer, "__main__")
    # left out: a string, a list, a random generator and the LinearUpdate's link back to its Layer
    assert wire.pack(state) == wire.pack({"class": "Layer", "attributes": {
        "linear": {"class": "LinearUpdate", "attributes": {"W": layer.linear.W, "b": layer.linear.b}},
        "logistic": {"class": "LogisticUpdate", "attributes": {}}, "count": 3, "flag": True, "scale": 0.5}})


def test_stand_ins_exist_only_for_their_call_inside_its_fork():
    expected = reference_gradients()[0]
    with Session(cells("a stub")) as sandbox:
        first, after = sandbox.call_batch([gradient_call(), gradient_call(())], stand_in=LR)
        later, = sandbox.call_batch([gradient_call(())])
        assert sandbox.call_batch([call_spec("logistic", (np.zeros(2),))])[0]["raised"] == "NotImplementedError"
    assert np.array_equal(first["ok"], expected)
    assert after["raised"] == later["raised"] == "NotImplementedError"  # the student's own, in the same fork too


def test_a_stand_in_that_cannot_answer_fails_its_caller_and_says_which_stand_in():
    def refuses(request):
        return {"raised": "ValueError", "message": "shapes (3,) and (4,) do not match"}

    caller = "def caller(A, gY):\n    return LinearUpdate(4, 3).backward(A, gY)\n"
    objects = "def objects():\n    return logistic(object())\n"
    with Session(cells("a stub") + [objects]) as sandbox:
        refused, = sandbox.call_batch([gradient_call()], stand_in=refuses)
        not_numbers, = sandbox.call_batch([{"target": "objects", "stand_ins": ["logistic"]}], stand_in=LR)
    with Session([LAYERS, caller]) as sandbox:
        impossible, = sandbox.call_batch([call_spec("caller", (np.ones((5, 2)), np.ones((7, 2))),
                                                    stand_ins=["LinearUpdate.backward"])], stand_in=MLP)
    for answer in (refused, impossible, not_numbers):
        assert answer["raised"] == "StandInFailed" and "ok" not in answer, answer
    assert refused["stand_in"] == "logistic" and refused["function"] == "gradient"
    assert refused["message"].startswith("the course's version of `logistic`, which this code calls, could not")
    assert "shapes (3,) and (4,) do not match" in refused["message"]
    assert impossible["stand_in"] == "LinearUpdate.backward" and impossible["function"] == "caller"
    assert "ValueError" in impossible["message"]  # the reference's error: shapes that do not match
    assert not_numbers["stand_in"] == "logistic" and "not a number" in not_numbers["message"]  # never sent


FORGER = """
import sys
def forge(name):
    runner = sys.modules["submission"]  # the sandbox's submission program: its pipes are the fork's own
    runner.wire.write_all(runner.STAND_IN_REQUESTS, runner.wire.pack(
        {"event": "stand_in", "name": name, "args": [], "kwargs": {}, "self": None}))
    return runner.wire.read_frame(runner.REQUESTS)
def fine():
    return 1.0
"""


def test_a_request_for_a_name_the_call_does_not_stand_in_ends_the_batch_as_a_protocol_failure():
    asked = []

    def responder(request):
        asked.append(request["name"])
        return {"ok": 0.0}

    with Session([FORGER]) as sandbox:
        allowed, = sandbox.call_batch([{"target": "forge", "args": ["logistic"], "stand_ins": ["logistic"]}],
                                      stand_in=responder)
        with pytest.raises(SandboxFailure) as failure:
            sandbox.call_batch([{"target": "fine", "stand_ins": ["logistic"]},
                                {"target": "forge", "args": ["gradient"], "stand_ins": ["logistic"]}],
                               stand_in=responder)
        assert failure.value.kind == "protocol" and [a["ok"] for a in failure.value.answered] == [1.0]
        assert sandbox.call_batch([{"target": "fine"}])[0]["ok"] == 1.0  # a fresh process
    assert allowed["ok"] == {"ok": 0.0} and asked == ["logistic"]


def test_a_stand_in_counts_within_its_calls_time_limit_and_the_next_batch_starts_clean():
    def slow(request):
        time.sleep(1.5)
        return LR(request)

    with Session(cells("a stub"), Limits(call_seconds=1.0)) as sandbox:
        with pytest.raises(SandboxFailure) as failure:
            sandbox.call_batch([gradient_call()], stand_in=slow)
        assert failure.value.kind == "timeout"
        assert np.array_equal(sandbox.call_batch([gradient_call()], stand_in=LR)[0]["ok"], reference_gradients()[0])


def test_large_requests_and_answers_cross_whole_in_order():
    """A request is relayed after every answer before it: here a request read before the
    previous answer would be checked against that call, which has no stand-ins."""
    big = np.random.default_rng(0).normal(size=(200_000, 1))  # 1.6 MB each way: far above a pipe's buffer
    code = LOGISTICS["a stub"] + "def echo(z):\n    return z\ndef both(z):\n    return logistic(z), logistic(-z), z\n"
    plain, stood_in = {"target": "echo", "args": [big]}, {"target": "both", "args": [big], "stand_ins": ["logistic"]}
    with Session([code]) as sandbox:
        for _ in range(3):
            answers = sandbox.call_batch([plain, stood_in, plain, stood_in, {**stood_in, "stand_ins": []}],
                                         stand_in=LR)
            assert answers[4]["raised"] == "NotImplementedError"
            for answer in answers[0:4:2]:
                assert np.array_equal(answer["ok"], big)
            for answer in answers[1:4:2]:
                assert np.array_equal(answer["ok"][0], ref.logistic(big))
                assert np.array_equal(answer["ok"][1], ref.logistic(-big)) and np.array_equal(answer["ok"][2], big)


def test_calls_with_stand_ins_need_a_responder():
    with Session(cells("a stub")) as sandbox:
        with pytest.raises(ValueError):
            sandbox.call_batch([gradient_call()])


def test_the_student_answers_stand_ins_with_its_assignments_reference_and_keys_them_apart():
    with Session(cells("a stub")) as sandbox:
        student = Client(sandbox, assignment="logistic_regression")
        assert np.array_equal(student.batch([gradient_call()])[0]["ok"], reference_gradients()[0])
        assert student.batch([gradient_call(())])[0]["raised"] == "NotImplementedError"
        student.prefetch([gradient_call(seed=2), gradient_call(seed=3)])
        assert [np.array_equal(a, reference_gradients()[s]) for a, s in
                zip(student.values("gradient", [gradient_call(seed=2), gradient_call(seed=3)]), (2, 3))] == [True] * 2
    assert "stand_ins" not in call_spec("gradient", data(0)) and call_spec("f", stand_ins=["g"])["stand_ins"] == ["g"]


def kernel_namespace(sources):
    """A live namespace that ran ``sources`` as the sandbox names its cells (so errors say the same)."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for index, source in enumerate(sources):
        name = f"<cell {index}>"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        exec(compile(source, name, "exec"), namespace)
    return namespace


KERNEL_SOURCES = [LAYERS, LOGISTICS["a stub"], GRADIENT,
                  "def caller(A, gY):\n    return LinearUpdate(4, 3).backward(A, gY)\n",
                  "def kind(z):\n    return type(logistic(z)).__name__\n"]


def float32_responder(request):
    """Answers with a NumPy scalar: it reaches the student's code as the wire makes it (a 0-d array)."""
    return {"ok": np.float32(0.5)} if request["args"][0] == 1 else {"ok": object()}


def kernel_calls():
    return {"logistic_regression": [gradient_call(), gradient_call(seed=1), gradient_call(()),
                                    {**gradient_call(), "args": [np.ones((1, 3)), *data(0)[1:]]}],
            "digits_mlp": [layer_call(["LinearUpdate.backward", "LogisticUpdate.backward"]),
                           layer_call(["Layer.backward"], target="Net.first_layer_gradients", prefix="hidden.linear."),
                           call_spec("caller", (np.ones((5, 2)), np.ones((7, 2))), stand_ins=["LinearUpdate.backward"])],
            float32_responder: [call_spec("kind", (1,), stand_ins=["logistic"]),
                                call_spec("kind", (2,), stand_ins=["logistic"])]}


def responder(assignment):
    return assignment if callable(assignment) else functools.partial(reference_answer, assignment)


def label(assignment):
    return assignment if isinstance(assignment, str) else assignment.__name__


def kernel_main():
    """In a process of its own, as a kernel: each assignment's answers (wire bytes, hex) from
    InProcessClient, and whether the namespace and its classes were restored exactly."""
    namespace = kernel_namespace(KERNEL_SOURCES)
    before = dict(namespace)
    classes = {name: dict(vars(namespace[name])) for name in ("LinearUpdate", "LogisticUpdate", "Layer")}
    found = {label(assignment): wire.pack(InProcessClient(namespace, stand_in=responder(assignment)).batch(specs)).hex()
             for assignment, specs in kernel_calls().items()}
    found["restored"] = (namespace.keys() == before.keys() and all(namespace[k] is v for k, v in before.items())
                         and {name: dict(vars(namespace[name])) for name in classes} == classes)
    print("KERNEL" + json.dumps(found))


def test_in_the_kernel_stand_ins_give_the_sandboxs_answers_byte_for_byte_and_the_namespace_is_restored(tmp_path):
    # The kernel runs with the sandbox's environment, so that NumPy's BLAS rounds as the sandbox's does.
    env = {**scrubbed_environment(str(tmp_path), str(tmp_path)), "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    done = subprocess.run([sys.executable, "-c", "import test_stand_ins\ntest_stand_ins.kernel_main()"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("KERNEL")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    in_kernel = json.loads(lines[-1][len("KERNEL"):])
    assert in_kernel.pop("restored") is True
    with Session(KERNEL_SOURCES) as sandbox:
        for assignment, specs in kernel_calls().items():
            in_sandbox = sandbox.call_batch(specs, stand_in=responder(assignment))
            assert any("ok" in a for a in in_sandbox) and any("raised" in a for a in in_sandbox)
            assert in_kernel[label(assignment)] == wire.pack(in_sandbox).hex(), (assignment, in_sandbox)
    assert in_sandbox[0]["ok"] == "ndarray" and in_sandbox[1]["stand_in"] == "logistic"


def test_stand_ins_are_put_back_exactly_even_when_the_call_raises():
    namespace = kernel_namespace([LAYERS])
    before, layer_vars = dict(namespace), dict(vars(namespace["Layer"]))
    with pytest.raises(RuntimeError):
        with student_calls.stand_ins_installed(namespace, ["logistic", "Layer.backward", "Layer.forward"], LR):
            assert namespace["logistic"].__name__ == "logistic" and "forward" in vars(namespace["Layer"])
            raise RuntimeError
    assert namespace == before and "logistic" not in namespace
    assert dict(vars(namespace["Layer"])) == layer_vars and "forward" not in vars(namespace["Layer"])


def test_an_error_names_the_innermost_function_of_the_students_it_was_raised_in():
    code = LAYERS + LOGISTICS["crashing"] + GRADIENT + "def top():\n    return Layer(2, 1).backward(1, 2, 3)\n"
    with Session([code, "1 / 0\n"]) as sandbox:
        crash, stub, top = sandbox.call_batch([gradient_call(()), layer_call(()),
                                               {"target": "top"}])
        cell_error, = sandbox.startup["cell_errors"]
    assert (crash["raised"], crash["function"]) == ("ZeroDivisionError", "logistic")
    assert crash["where"].startswith("cell 0, line ") and crash["where"].endswith(": return 1 / 0")  # as before
    assert (stub["raised"], stub["function"]) == ("NotImplementedError", "LinearUpdate.backward")
    assert top["function"] == "LinearUpdate.backward"
    assert cell_error["function"] == "" and cell_error["raised"] == "ZeroDivisionError"

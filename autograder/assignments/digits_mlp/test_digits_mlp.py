"""Hidden checks of digits_mlp: the backward methods, the network's L2 term and gradients,
momentum_update and train.

Data is column-major (an activation is (n_features, N)); every test input has all its
dimensions distinct (never square, never N = 1), so that a transposed or broadcast result
shows in its shape.

A bug costs once: Layer.backward, Network.gradients and train build on the other graded
methods (USES). Their calls run with stand-ins for those methods (the reference answers), so
a component that is missing, broken or wrong never costs them. A composite is also accepted
when it equals what the student's own components give when composed correctly (computed
here, in the grader, from separate calls), when those components say something about their
inputs (prop.informative).

train receives a Network object, which cannot cross the sandbox boundary: its checks use the
call-spec fields ``arg_objects`` (build an object in the sandbox for an argument position)
and ``return_attributes`` (read the object's arrays back after the call); see train_spec.
"""
import functools

import numpy as np

from autograder.checks.expect import (CheckFailed, NotImplementedYet, describe, expect_array, expect_close,
                               expect_finite, expect_shape, scale_mistakes)
from autograder.checks.suite import check
from autograder.scores.scoring import GATE, ROBUSTNESS, VALUE
from autograder.checks import properties as prop
from autograder.checks.properties import Call
from autograder.checks.numeric_gradient import numeric_gradient
from autograder.checks.client import call_spec
from reference import digits_mlp as ref
from reference.logistic_regression import logistic

# The graded names each item calls: its calls get stand-ins for them (a bug costs once).
BACKWARD = ("LinearUpdate.backward", "LogisticUpdate.backward", "SoftmaxClassifier.backward")
USES = {"Layer.backward": BACKWARD[:2],
        "Network.gradients": (*BACKWARD, "Layer.backward"),
        "train": (*BACKWARD, "SoftmaxClassifier.cross_entropy", "Layer.backward", "Network.l2_penalty",
                  "Network.gradients", "momentum_update")}

SEEDS = (31, 32, 33)
PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")
ORDER = ("W3", "b3", "W2", "b2", "W1", "b1")  # output side first: where a mistake starts
ATTRIBUTE_OF = {"W1": "hidden1.linear.W", "b1": "hidden1.linear.b", "W2": "hidden2.linear.W",
                "b2": "hidden2.linear.b", "W3": "output.W", "b3": "output.b"}


# --- the "bug costs once" machinery -----------------------------------------------------------

class NoOwn(Exception):
    """The student's own components are not implemented yet: nothing to compare with."""


class Broken(Exception):
    """The student's own components cannot be composed (a wrong shape, or one raises)."""


def own_batch(student, specs, target):
    """Values of component calls, for composing the student's own result.

    A component that raises, is missing or returns non-numbers is Broken; a failure of the
    student process as a whole (crash, timeout) excuses nothing: NoOwn.
    """
    try:
        answers = student.answers(specs)
    except CheckFailed:
        raise NoOwn from None
    values = []
    for answer in answers:
        try:
            values.append(student.value(target, answer))
        except NotImplementedYet:
            raise NoOwn from None
        except CheckFailed:
            raise Broken from None
    if not prop.informative(values):  # zeros or a constant say nothing: no composition to be right on top of
        raise NoOwn
    return values


def own_run(student, call):
    """The value of one component call (see own_batch)."""
    return own_batch(student, [call.spec()], call.target)[0]


def own(thunk):
    """("ok", value), ("none", None) or ("broken", None) for a composition ``thunk``."""
    try:
        return "ok", thunk()
    except NoOwn:
        return "none", None
    except (Broken, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return "broken", None


def same(got, want, rtol=1e-6, atol=1e-8):
    """``got`` and ``want`` (arrays, tuples or dicts of arrays) agree in structure, shape and value."""
    if isinstance(want, dict):
        return isinstance(got, dict) and set(got) == set(want) and all(same(got[k], want[k], rtol, atol) for k in want)
    if isinstance(want, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(want) and \
            all(same(g, w, rtol, atol) for g, w in zip(got, want))
    try:
        g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    except (TypeError, ValueError):
        return False
    return g.shape == w.shape and bool(np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True))


def charged_elsewhere(student, call, own_thunk):
    """True when ``call``'s failure is owed to a component: the student's composite equals the
    composition of their own components (which must say something about their inputs). The
    composite's calls have stand-ins for the components, so a component that is missing,
    broken or wrong costs nothing here; nothing else excuses the composite."""
    status, value = own(own_thunk)
    if status != "ok":
        return False
    try:
        got = call.run(student)
    except CheckFailed:
        return False
    return same(got, value)


def composite_check(student, call, own_thunk, body):
    """Run ``body``; a failure that ``charged_elsewhere`` explains is not charged here."""
    try:
        body()
    except NotImplementedYet:
        raise
    except CheckFailed:
        if charged_elsewhere(student, call, own_thunk):
            return
        raise


# --- shapes and their hints --------------------------------------------------------------------

def shape_hint(got, want, n, name):
    """A hint for an array ``name`` of shape ``got`` instead of ``want`` (N = n)."""
    got, want = tuple(got), tuple(want)
    if got == (n, n):
        return (f"An ({n}, {n}) array, N × N, comes from an accidental broadcast: a ({n},) array combined "
                f"with a ({n}, 1) one. Keep every array 2-D, e.g. sum(axis=1, keepdims=True).")
    if len(want) == 2 and got == want[::-1]:
        return f"It looks transposed: {name} has the shape of the thing it is the gradient of, {want}."
    if len(want) == 2 and want[1] == 1 and got == (want[0],):
        return f"Keep {name} 2-D, a column ({want[0]}, 1): use keepdims=True when you sum."
    if len(want) == 2 and want[1] == 1 and got in ((1, n), (n,)):
        return (f"The bias gradient was summed over the wrong axis: sum over the N = {n} examples, the "
                "columns (axis=1, keepdims=True), to get one number per unit.")
    return f"A gradient has the shape of the thing it is the gradient of: {name} is {want}."


def accepts_integer_arrays(student, call, int_args, float_args):
    """``call`` with ``int_args`` gives what it gives with ``float_args`` (the same values)."""
    got, want = student.answers([call.spec(int_args), call.spec(float_args)])
    got, want = student.value(call.target, got), student.value(call.target, want)
    if not same(got, want, 1e-9, 1e-12):
        raise CheckFailed(f"{call.target} gives a different result for integer arrays ({describe(got)}) than for "
                          f"the same values as floats ({describe(want)}). Convert with np.asarray(x, dtype=float), "
                          "and avoid integer division or in-place operations on the inputs.")
    return got


def expect_parts(value, names, shapes, n, what):
    """A tuple/list of len(names) arrays with the given shapes (N = n), as float arrays."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        raise CheckFailed(f"{what} should return a tuple of {len(names)} arrays ({', '.join(names)}), "
                          f"but it returned {describe(value) if not isinstance(value, (tuple, list)) else f'{len(value)} values'}.")
    parts = []
    for part, name, shape in zip(value, names, shapes):
        array = expect_array(part, f"{name} from {what}")
        if array.shape != tuple(shape):
            expect_shape(array, shape, f"{name} from {what}", shape_hint(array.shape, shape, n, name))
        parts.append(np.asarray(array, dtype=float))
    return parts


# --- LinearUpdate.backward ----------------------------------------------------------------------

LINEAR_DIMS = ((5, 3, 7), (4, 6, 9), (7, 2, 5))  # (n_in, n_out, N): all distinct


def linear_data(seed, n_in=5, n_out=3, n=7):
    r = np.random.default_rng(seed)
    return r.normal(size=(n_in, n_out)), r.normal(size=(n_out, 1)), r.normal(size=(n_in, n)), r.normal(size=(n_out, n))


def linear_call(W, b, A, gY):
    return Call("LinearUpdate.backward", (A, gY), init=W.shape, attributes={"W": W, "b": b})


def ref_linear_backward(W, b, A, gY):
    return ref.LinearUpdate(*np.shape(W), W=np.asarray(W, float), b=np.asarray(b, float)).backward(
        np.asarray(A, float), np.asarray(gY, float))


LINEAR = linear_call(*linear_data(1))
LINEAR_NAMES = ("gA", "gW", "gb")


def linear_mistakes(W, b, A, gY):
    n = A.shape[1]
    gA, gW, gb = ref_linear_backward(W, b, A, gY)
    ones = np.ones_like(gY)
    ignored = ref_linear_backward(W, b, A, ones)
    common = lambda want: {  # noqa: E731
        f"your result is {n} times too small: it is a sum over the N = {n} examples, not a mean "
        "(the 1/N is already inside gY)": want / n,
        f"your result is {n} times too large: do not multiply by N": want * n,
        "your result has the wrong sign (negated)": -want}
    return {
        "gA": {**common(gA), "the upstream gradient gY is ignored: gA = W @ gY": ignored[0]},
        "gW": {**common(gW), "the upstream gradient gY is ignored: gW = A @ gY.T": ignored[1]},
        "gb": {**common(gb), "the upstream gradient gY is ignored: gb sums gY over the examples": ignored[2]},
    }


def expect_linear(value, W, b, A, gY, what, inputs=""):
    n_in, n_out = W.shape
    n = A.shape[1]
    parts = expect_parts(value, LINEAR_NAMES, ((n_in, n), (n_in, n_out), (n_out, 1)), n, what)
    mistakes = linear_mistakes(W, b, A, gY)
    for name, got, want in zip(LINEAR_NAMES, parts, ref_linear_backward(W, b, A, gY)):
        expect_close(got, want, f"{name} from {what}", mistakes[name], inputs=inputs)


@check("LinearUpdate.backward", "runs", GATE)
def test_linear_runs(student):
    prop.runs(student, LINEAR)


@check("LinearUpdate.backward", "is implemented", GATE)
def test_linear_is_implemented(student):
    prop.is_implemented(student, LINEAR)


@check("LinearUpdate.backward", "returns a tuple (gA, gW, gb) of three arrays", GATE)
def test_linear_type(student):
    value = LINEAR.run(student)
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise CheckFailed(f"{LINEAR.shown()} should return a tuple of three arrays (gA, gW, gb), but it returned "
                          f"{describe(value) if not isinstance(value, (tuple, list)) else f'{len(value)} values'}.")
    for name, part in zip(LINEAR_NAMES, value):
        expect_array(part, f"{name} from {LINEAR.shown()}")


@check("LinearUpdate.backward", "has shapes (n_in, N), (n_in, n_out), (n_out, 1)", GATE)
def test_linear_shape(student):
    W, b, A, gY = linear_data(1)
    expect_parts(LINEAR.run(student), LINEAR_NAMES, ((5, 7), (5, 3), (3, 1)), 7,
                 "LinearUpdate.backward(A (5, 7), gY (3, 7)) with W (5, 3)")


@check("LinearUpdate.backward", "is finite", GATE)
def test_linear_finite(student):
    prop.is_finite(student, LINEAR)


@check("LinearUpdate.backward", "matches W @ gY, A @ gY.T and gY summed over the examples", VALUE, 3)
def test_linear_value(student):
    for seed, (n_in, n_out, n) in zip(SEEDS, LINEAR_DIMS):
        W, b, A, gY = linear_data(seed, n_in, n_out, n)
        expect_linear(linear_call(W, b, A, gY).run(student), W, b, A, gY, "LinearUpdate.backward(A, gY)",
                      inputs=f"for n_in = {n_in}, n_out = {n_out}, N = {n}")


@check("LinearUpdate.backward", "matches a numeric gradient of sum(G * forward(A)) for a random G", VALUE, 2)
def test_linear_numeric(student):
    W, b, A, G = linear_data(41, 6, 4, 5)
    f = lambda a, w, c: float(np.sum(G * (w.T @ a + c)))  # noqa: E731
    numeric = (numeric_gradient(lambda a: f(a, W, b), A), numeric_gradient(lambda w: f(A, w, b), W),
               numeric_gradient(lambda c: f(A, W, c), b))
    parts = expect_parts(linear_call(W, b, A, G).run(student), LINEAR_NAMES, ((6, 5), (6, 4), (4, 1)), 5,
                         "LinearUpdate.backward(A, G)")
    mistakes = linear_mistakes(W, b, A, G)
    for name, got, want in zip(LINEAR_NAMES, parts, numeric):
        expect_close(got, want, f"{name} from LinearUpdate.backward(A, G)", mistakes[name], rtol=1e-5, atol=1e-7,
                     inputs="compared with central differences of sum(G * (W.T @ A + b))")


@check("LinearUpdate.backward", "gives zero gradients for a zero upstream gradient", ROBUSTNESS)
def test_linear_zero_upstream(student):
    W, b, A, gY = linear_data(42)
    parts = expect_parts(linear_call(W, b, A, np.zeros_like(gY)).run(student), LINEAR_NAMES,
                         ((5, 7), (5, 3), (3, 1)), 7, "LinearUpdate.backward(A, gY = 0)")
    for name, got in zip(LINEAR_NAMES, parts):
        expect_close(got, np.zeros_like(got), f"{name} from LinearUpdate.backward(A, gY = 0)",
                     {"the upstream gradient gY is ignored: every gradient is a product with gY": got})


@check("LinearUpdate.backward", "stays finite and exact when the pre-activations are ±1000", ROBUSTNESS)
def test_linear_saturation(student):
    W, b, A, gY = linear_data(43)
    A = 1000.0 * np.sign(A)
    W = np.sign(W) / 5.0
    b = np.full((3, 1), 1000.0)
    got = linear_call(W, b, A, gY).run(student)
    for part in (got if isinstance(got, (tuple, list)) else [got]):
        expect_finite(part, "LinearUpdate.backward(A, gY) with inputs of ±1000")
    expect_linear(got, W, b, A, gY, "LinearUpdate.backward(A, gY)", inputs="with inputs of ±1000")


@check("LinearUpdate.backward", "accepts integer arrays", ROBUSTNESS)
def test_linear_integers(student):
    r = np.random.default_rng(44)
    W, b = r.integers(-3, 4, size=(5, 3)), r.integers(-2, 3, size=(3, 1))
    call = linear_call(W, b, r.integers(-3, 4, size=(5, 7)), r.integers(-2, 3, size=(3, 7)))
    prop.accepts_integers(student, call, call.args)
    expect_linear(call.run(student), W, b, *call.args, "LinearUpdate.backward(A, gY)", inputs="for integer arrays")


@check("LinearUpdate.backward", "leaves its inputs unchanged", ROBUSTNESS)
def test_linear_inputs(student):
    prop.leaves_inputs_unchanged(student, LINEAR)


@check("LinearUpdate.backward", "gives the same output twice", ROBUSTNESS)
def test_linear_deterministic(student):
    prop.is_deterministic(student, LINEAR)


# --- LogisticUpdate.backward --------------------------------------------------------------------

def logistic_data(seed, shape=(4, 6)):
    r = np.random.default_rng(seed)
    Z = r.normal(0.0, 2.0, size=shape)
    return Z, logistic(Z), r.normal(size=shape)


def logistic_call(Y, G):
    return Call("LogisticUpdate.backward", (Y, G))


_, _Y, _G = logistic_data(2)
LOGISTIC = logistic_call(_Y, _G)


def logistic_mistakes(Y, G):
    want = G * Y * (1.0 - Y)
    sY = logistic(Y)
    return {"σ′ is missing: dL/dZ = grad_out * Y * (1 - Y)": G,
            "σ′ is taken of the wrong variable: backward receives Y = σ(Z), so σ′(Z) = Y (1 - Y), "
            "not σ(Y)(1 - σ(Y))": G * sY * (1.0 - sY),
            "the upstream gradient grad_out is ignored: multiply it by Y (1 - Y)": Y * (1.0 - Y),
            "your result has the wrong sign (negated)": -want}


def expect_logistic(got, Y, G, what, inputs="", rtol=1e-6, atol=1e-8):
    got = expect_shape(got, Y.shape, what, shape_hint(np.shape(got), Y.shape, -1, "the result"))
    expect_close(got, G * Y * (1.0 - Y), what, logistic_mistakes(Y, G), rtol=rtol, atol=atol, inputs=inputs)


@check("LogisticUpdate.backward", "runs", GATE)
def test_logistic_runs(student):
    prop.runs(student, LOGISTIC)


@check("LogisticUpdate.backward", "is implemented", GATE)
def test_logistic_is_implemented(student):
    prop.is_implemented(student, LOGISTIC)


@check("LogisticUpdate.backward", "returns an array", GATE)
def test_logistic_type(student):
    prop.returns_array(student, LOGISTIC)


@check("LogisticUpdate.backward", "keeps the shape of Y, (4, 6)", GATE)
def test_logistic_shape(student):
    got = prop.returns_array(student, LOGISTIC)
    expect_shape(got, (4, 6), f"The result of {LOGISTIC.shown()}", shape_hint(got.shape, (4, 6), -1, "dL/dZ"))


@check("LogisticUpdate.backward", "is finite", GATE)
def test_logistic_finite(student):
    prop.is_finite(student, LOGISTIC)


@check("LogisticUpdate.backward", "matches grad_out * Y * (1 - Y)", VALUE, 3)
def test_logistic_value(student):
    for seed, shape in zip(SEEDS, ((4, 6), (3, 8), (7, 2))):
        _, Y, G = logistic_data(seed, shape)
        expect_logistic(logistic_call(Y, G).run(student), Y, G, "LogisticUpdate.backward(Y, grad_out)",
                        inputs=f"for Y of shape {shape}")


@check("LogisticUpdate.backward", "matches a numeric gradient of sum(G * σ(Z)) for a random G", VALUE, 2)
def test_logistic_numeric(student):
    Z, Y, G = logistic_data(45, (5, 3))
    numeric = numeric_gradient(lambda z: float(np.sum(G * logistic(z))), Z)
    got = expect_shape(logistic_call(Y, G).run(student), Y.shape, "LogisticUpdate.backward(σ(Z), G)")
    expect_close(got, numeric, "LogisticUpdate.backward(σ(Z), G)", logistic_mistakes(Y, G), rtol=1e-5, atol=1e-7,
                 inputs="compared with central differences of sum(G * σ(Z))")


@check("LogisticUpdate.backward", "gives zero for a zero upstream gradient", ROBUSTNESS)
def test_logistic_zero_upstream(student):
    _, Y, G = logistic_data(46)
    got = expect_shape(logistic_call(Y, np.zeros_like(G)).run(student), Y.shape, "LogisticUpdate.backward(Y, 0)")
    expect_close(got, np.zeros_like(Y), "LogisticUpdate.backward(Y, grad_out = 0)",
                 {"the upstream gradient grad_out is ignored: multiply it by Y (1 - Y)": Y * (1.0 - Y)})


@check("LogisticUpdate.backward", "stays finite and exact at saturation (Z = ±1000)", ROBUSTNESS)
def test_logistic_saturation(student):
    Z = np.array([[-1000.0, -50.0, 0.0], [50.0, 1000.0, 3.0]])
    Y, G = logistic(Z), np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]])
    got = logistic_call(Y, G).run(student)
    expect_finite(got, "LogisticUpdate.backward(Y, grad_out) for Z = ±1000", "(σ′ = Y (1 - Y) is 0 there)")
    expect_logistic(got, Y, G, "LogisticUpdate.backward(Y, grad_out)", inputs="for Z = ±1000")


@check("LogisticUpdate.backward", "accepts integer arrays", ROBUSTNESS)
def test_logistic_integers(student):
    r = np.random.default_rng(47)
    Y, G = r.integers(0, 2, size=(3, 5)), r.integers(-3, 4, size=(3, 5))
    prop.accepts_integers(student, logistic_call(Y, G), (Y, G))


@check("LogisticUpdate.backward", "leaves its inputs unchanged", ROBUSTNESS)
def test_logistic_inputs(student):
    prop.leaves_inputs_unchanged(student, LOGISTIC)


@check("LogisticUpdate.backward", "gives the same output twice", ROBUSTNESS)
def test_logistic_deterministic(student):
    prop.is_deterministic(student, LOGISTIC)


# --- SoftmaxClassifier.backward and cross_entropy -------------------------------------------------

def softmax_data(seed, k=4, n=7):
    r = np.random.default_rng(seed)
    S = r.normal(0.0, 2.0, size=(k, n))
    return S, ref.softmax(S), r.permutation(np.arange(n) % k)


def softmax_call(P, T, method="backward"):
    return Call(f"SoftmaxClassifier.{method}", (P, T))


_, _P, _T = softmax_data(3)
SOFTMAX = softmax_call(_P, _T)


def softmax_mistakes(P, T):
    k, n = P.shape
    want = ref.SoftmaxClassifier().backward(P, T)
    return {f"the /N is missing: the loss is a mean over the N = {n} examples, so its gradient is "
            "(P - one_hot(T)) / N": want * n,
            **scale_mistakes(want, n),
            "the targets are ignored: subtract one_hot(T, K)": P / n,
            "only the one-hot part is there: the gradient is (P - one_hot(T, K)) / N": -ref.one_hot(T, k) / n}


def expect_softmax_backward(got, P, T, what, inputs="", rtol=1e-6, atol=1e-8):
    n = P.shape[1]
    got = expect_shape(got, P.shape, what, shape_hint(np.shape(got), P.shape, n, "the result"))
    expect_close(got, ref.SoftmaxClassifier().backward(P, T), what, softmax_mistakes(P, T), rtol, atol, inputs)


@check("SoftmaxClassifier.backward", "runs", GATE)
def test_softmax_runs(student):
    prop.runs(student, SOFTMAX)


@check("SoftmaxClassifier.backward", "is implemented", GATE)
def test_softmax_is_implemented(student):
    prop.is_implemented(student, SOFTMAX)


@check("SoftmaxClassifier.backward", "returns an array", GATE)
def test_softmax_type(student):
    prop.returns_array(student, SOFTMAX)


@check("SoftmaxClassifier.backward", "has the shape of P, (K, N) = (4, 7)", GATE)
def test_softmax_shape(student):
    got = prop.returns_array(student, SOFTMAX)
    expect_shape(got, (4, 7), f"The result of {SOFTMAX.shown()}", shape_hint(got.shape, (4, 7), 7, "the result"))


@check("SoftmaxClassifier.backward", "is finite", GATE)
def test_softmax_finite(student):
    prop.is_finite(student, SOFTMAX)


@check("SoftmaxClassifier.backward", "matches (P - one_hot(T)) / N", VALUE, 3)
def test_softmax_value(student):
    for seed, (k, n) in zip(SEEDS, ((4, 7), (3, 8), (10, 6))):
        _, P, T = softmax_data(seed, k, n)
        expect_softmax_backward(softmax_call(P, T).run(student), P, T, "SoftmaxClassifier.backward(P, T)",
                                inputs=f"for K = {k}, N = {n}")


@check("SoftmaxClassifier.backward", "matches a numeric gradient of the mean cross-entropy", VALUE, 2)
def test_softmax_numeric(student):
    S, P, T = softmax_data(48, 3, 5)
    numeric = numeric_gradient(lambda s: ref.SoftmaxClassifier().cross_entropy(ref.softmax(s), T), S)
    got = expect_shape(softmax_call(P, T).run(student), P.shape, "SoftmaxClassifier.backward(P, T)")
    expect_close(got, numeric, "SoftmaxClassifier.backward(softmax(S), T)", softmax_mistakes(P, T),
                 rtol=1e-5, atol=1e-7, inputs="compared with central differences of the mean cross-entropy in S")


@check("SoftmaxClassifier.backward", "is zero when P is exactly one_hot(T)", ROBUSTNESS)
def test_softmax_zero(student):
    T = np.array([2, 0, 1, 3, 1, 0, 2])
    P = ref.one_hot(T, 4)
    got = expect_shape(softmax_call(P, T).run(student), P.shape, "SoftmaxClassifier.backward(one_hot(T), T)")
    expect_close(got, np.zeros_like(P), "SoftmaxClassifier.backward(P, T) with P = one_hot(T, K)",
                 {"the targets are ignored: subtract one_hot(T, K)": P / 7})


@check("SoftmaxClassifier.backward", "stays finite and exact for softmax inputs of ±1000", ROBUSTNESS)
def test_softmax_saturation(student):
    S = np.array([[1000.0, -1000.0, 0.0, 5.0, 1000.0], [-1000.0, 1000.0, 0.0, 1.0, 0.0],
                  [0.0, 0.0, 1000.0, -1.0, -1000.0]])
    P, T = ref.softmax(S), np.array([1, 1, 0, 2, 0])
    got = softmax_call(P, T).run(student)
    expect_finite(got, "SoftmaxClassifier.backward(P, T) for scores of ±1000")
    expect_softmax_backward(got, P, T, "SoftmaxClassifier.backward(P, T)", inputs="for scores of ±1000")


@check("SoftmaxClassifier.backward", "accepts integer arrays", ROBUSTNESS)
def test_softmax_integers(student):
    T = np.array([0, 1, 2, 1, 0])
    P = ref.one_hot(np.array([0, 2, 2, 1, 1]), 3).astype(int)
    accepts_integer_arrays(student, softmax_call(P, T), (P, T), (P.astype(float), T))


@check("SoftmaxClassifier.backward", "leaves its inputs unchanged", ROBUSTNESS)
def test_softmax_inputs(student):
    prop.leaves_inputs_unchanged(student, SOFTMAX)


@check("SoftmaxClassifier.backward", "gives the same output twice", ROBUSTNESS)
def test_softmax_deterministic(student):
    prop.is_deterministic(student, SOFTMAX)


CE = softmax_call(_P, _T, "cross_entropy")


def ce_mistakes(P, T):
    k, n = P.shape
    want = ref.SoftmaxClassifier().cross_entropy(P, T)
    return {**scale_mistakes(want, n),
            f"this is a mean over all K·N entries: average over the N = {n} examples (columns) only": want / k,
            "the log is missing: the loss is -mean(log P[T_i, i])": -float(np.mean(P[T, np.arange(n)]))}


@check("SoftmaxClassifier.cross_entropy", "runs", GATE)
def test_ce_runs(student):
    prop.runs(student, CE)


@check("SoftmaxClassifier.cross_entropy", "is implemented", GATE)
def test_ce_is_implemented(student):
    prop.is_implemented(student, CE)


@check("SoftmaxClassifier.cross_entropy", "returns one number", GATE)
def test_ce_type(student):
    prop.returns_number(student, CE)


@check("SoftmaxClassifier.cross_entropy", "is finite", GATE)
def test_ce_finite(student):
    prop.is_finite(student, CE)


@check("SoftmaxClassifier.cross_entropy", "matches the mean of -log P[T_i, i]", VALUE, 3)
def test_ce_value(student):
    for seed, (k, n) in zip(SEEDS, ((4, 7), (3, 8), (10, 6))):
        _, P, T = softmax_data(seed, k, n)
        got = prop.returns_number(student, softmax_call(P, T, "cross_entropy"))
        expect_close(got, ref.SoftmaxClassifier().cross_entropy(P, T), "cross_entropy(P, T)", ce_mistakes(P, T),
                     inputs=f"for K = {k}, N = {n}")


@check("SoftmaxClassifier.cross_entropy", "stays finite and right when the right class has probability 0 or 1",
       ROBUSTNESS)
def test_ce_saturation(student):
    T = np.array([1, 0, 2])
    certain = ref.one_hot(T, 3)  # (3, 3): the right class has probability 1
    wrong = np.roll(certain, 1, axis=0)  # the right class has probability 0
    prop.saturated_loss(student, softmax_call(wrong, T, "cross_entropy"), softmax_call(certain, T, "cross_entropy"),
                        "cross_entropy(P, T)", "P", "log(0) is -inf: clip P[T_i, i] into [ε, 1] first (any small ε, "
                        "e.g. 1e-12 or np.finfo(float).eps).")


@check("SoftmaxClassifier.cross_entropy", "accepts integer arrays", ROBUSTNESS)
def test_ce_integers(student):
    P = ref.one_hot(np.array([0, 2, 1, 1]), 3).astype(int)
    T = np.array([0, 2, 1, 0])
    accepts_integer_arrays(student, softmax_call(P, T, "cross_entropy"), (P, T), (P.astype(float), T))


@check("SoftmaxClassifier.cross_entropy", "leaves its inputs unchanged", ROBUSTNESS)
def test_ce_inputs(student):
    prop.leaves_inputs_unchanged(student, CE)


@check("SoftmaxClassifier.cross_entropy", "gives the same output twice", ROBUSTNESS)
def test_ce_deterministic(student):
    prop.is_deterministic(student, CE)


# --- Layer.backward -------------------------------------------------------------------------------

def layer_data(seed, n_in=5, n_out=3, n=7):
    r = np.random.default_rng(seed)
    W, b = r.normal(size=(n_in, n_out)), r.normal(size=(n_out, 1))
    A = r.normal(size=(n_in, n))
    return W, b, A, logistic(W.T @ A + b), r.normal(size=(n_out, n))


def layer_call(W, b, A, Y, G):
    return Call("Layer.backward", (A, Y, G), init=W.shape, attributes={"linear.W": W, "linear.b": b})


def ref_layer_backward(W, b, A, Y, G):
    return ref_linear_backward(W, b, A, G * Y * (1.0 - Y))


def own_layer(student, W, b, A, Y, G):
    """Layer.backward composed from the student's own LogisticUpdate and LinearUpdate backward."""
    gZ = np.asarray(own_run(student, logistic_call(Y, G)), dtype=float)
    return tuple(own_run(student, linear_call(W, b, A, gZ)))


def own_layer_candidates(student, W, b, A, Y, G):
    """The student's own composition, and the mixes with one reference component."""
    candidates = []
    gZ_own = None
    try:
        gZ_own = np.asarray(own_run(student, logistic_call(Y, G)), dtype=float)
        candidates.append(ref_linear_backward(W, b, A, gZ_own))
        candidates.append(tuple(own_run(student, linear_call(W, b, A, gZ_own))))
    except (NoOwn, Broken, ValueError, TypeError):
        pass
    try:
        candidates.append(tuple(own_run(student, linear_call(W, b, A, G * Y * (1.0 - Y)))))
    except (NoOwn, Broken, ValueError, TypeError):  # nothing to compose: no candidate
        pass
    return candidates


LAYER_INPUT = layer_data(4)
LAYER = layer_call(*LAYER_INPUT)


def layer_mistakes(W, b, A, Y, G):
    n = A.shape[1]
    want = ref_layer_backward(W, b, A, Y, G)
    sY = logistic(Y)
    variants = {"σ′ is missing: go through the logistic first, grad_out * Y * (1 - Y), then the linear update":
                    ref_linear_backward(W, b, A, G),
                "σ′ is taken of the wrong variable: σ′(Z) = Y (1 - Y) from the output Y, not σ(Y)(1 - σ(Y))":
                    ref_linear_backward(W, b, A, G * sY * (1.0 - sY)),
                "the upstream gradient grad_out is ignored": ref_linear_backward(W, b, A, Y * (1.0 - Y))}
    result = []
    for i in range(3):
        m = {name: v[i] for name, v in variants.items()}
        m.update(scale_mistakes(want[i], n))
        result.append(m)
    return result


def expect_layer(student, call, W, b, A, Y, G, what, inputs="", numeric=None):
    """The student's Layer.backward on these inputs: the reference (or ``numeric``), or their own composition."""
    n_in, n_out = W.shape
    n = A.shape[1]
    value = call.run(student)
    for candidate in own_layer_candidates(student, W, b, A, Y, G):
        if same(value, candidate):
            return  # right composition of the student's own components: a bug there costs there
    parts = expect_parts(value, LINEAR_NAMES, ((n_in, n), (n_in, n_out), (n_out, 1)), n, what)
    want = numeric if numeric is not None else ref_layer_backward(W, b, A, Y, G)
    tol = (1e-5, 1e-7) if numeric is not None else (1e-6, 1e-8)
    for name, got, w, mistakes in zip(LINEAR_NAMES, parts, want, layer_mistakes(W, b, A, Y, G)):
        expect_close(got, w, f"{name} from {what}", mistakes, *tol, inputs=inputs)


def layer_composite(student, call, inputs, body):
    composite_check(student, call, lambda: own_layer(student, *inputs), body)


@check("Layer.backward", "runs", GATE)
def test_layer_runs(student):
    layer_composite(student, LAYER, LAYER_INPUT, lambda: prop.runs(student, LAYER))


@check("Layer.backward", "is implemented", GATE)
def test_layer_is_implemented(student):
    layer_composite(student, LAYER, LAYER_INPUT, lambda: prop.is_implemented(student, LAYER))


@check("Layer.backward", "returns a tuple (gA, gW, gb) of three arrays", GATE)
def test_layer_type(student):
    def body():
        value = LAYER.run(student)
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            raise CheckFailed(f"{LAYER.shown()} should return a tuple of three arrays (gA, gW, gb).")
        for name, part in zip(LINEAR_NAMES, value):
            expect_array(part, f"{name} from {LAYER.shown()}")
    layer_composite(student, LAYER, LAYER_INPUT, body)


@check("Layer.backward", "has shapes (n_in, N), (n_in, n_out), (n_out, 1)", GATE)
def test_layer_shape(student):
    layer_composite(student, LAYER, LAYER_INPUT, lambda: expect_parts(
        LAYER.run(student), LINEAR_NAMES, ((5, 7), (5, 3), (3, 1)), 7,
        "Layer.backward(A (5, 7), Y (3, 7), grad_out (3, 7)) with linear.W (5, 3)"))


@check("Layer.backward", "is finite", GATE)
def test_layer_finite(student):
    layer_composite(student, LAYER, LAYER_INPUT, lambda: prop.is_finite(student, LAYER))


@check("Layer.backward", "matches the logistic backward followed by the linear backward", VALUE, 3)
def test_layer_value(student):
    for seed, dims in zip(SEEDS, LINEAR_DIMS):
        inputs = layer_data(seed, *dims)
        call = layer_call(*inputs)
        layer_composite(student, call, inputs, lambda: expect_layer(
            student, call, *inputs, "Layer.backward(A, Y, grad_out)",
            inputs=f"for n_in = {dims[0]}, n_out = {dims[1]}, N = {dims[2]}"))


@check("Layer.backward", "matches a numeric gradient of sum(G * forward(A)) for a random G", VALUE, 2)
def test_layer_numeric(student):
    W, b, A, Y, G = inputs = layer_data(49, 6, 4, 5)
    f = lambda a, w, c: float(np.sum(G * logistic(w.T @ a + c)))  # noqa: E731
    numeric = (numeric_gradient(lambda a: f(a, W, b), A), numeric_gradient(lambda w: f(A, w, b), W),
               numeric_gradient(lambda c: f(A, W, c), b))
    call = layer_call(*inputs)
    layer_composite(student, call, inputs, lambda: expect_layer(
        student, call, *inputs, "Layer.backward(A, Y, G)", numeric=numeric,
        inputs="compared with central differences of sum(G * σ(W.T @ A + b))"))


@check("Layer.backward", "gives zero gradients for a zero upstream gradient", ROBUSTNESS)
def test_layer_zero_upstream(student):
    W, b, A, Y, G = layer_data(50)
    inputs = (W, b, A, Y, np.zeros_like(G))
    call = layer_call(*inputs)
    layer_composite(student, call, inputs, lambda: expect_layer(student, call, *inputs,
                                                                "Layer.backward(A, Y, grad_out = 0)"))


@check("Layer.backward", "stays finite and exact when the pre-activations are ±1000", ROBUSTNESS)
def test_layer_saturation(student):
    r = np.random.default_rng(51)
    W, A = r.normal(size=(5, 3)), r.normal(size=(5, 7))
    b = np.array([[1000.0], [-1000.0], [0.0]])
    Y, G = logistic(W.T @ A + b), r.normal(size=(3, 7))
    inputs = (W, b, A, Y, G)
    call = layer_call(*inputs)

    def body():
        value = call.run(student)
        for part in (value if isinstance(value, (tuple, list)) else [value]):
            expect_finite(part, "Layer.backward(A, Y, grad_out) with pre-activations of ±1000")
        expect_layer(student, call, *inputs, "Layer.backward(A, Y, grad_out)", inputs="with pre-activations of ±1000")
    layer_composite(student, call, inputs, body)


@check("Layer.backward", "accepts integer arrays", ROBUSTNESS)
def test_layer_integers(student):
    r = np.random.default_rng(52)
    W, b = r.integers(-2, 3, size=(5, 3)), r.integers(-1, 2, size=(3, 1))
    A, Y, G = r.integers(-2, 3, size=(5, 7)), r.integers(0, 2, size=(3, 7)), r.integers(-3, 4, size=(3, 7))
    call = layer_call(W, b, A, Y, G)
    layer_composite(student, call, (W, b, A, Y, G), lambda: prop.accepts_integers(student, call, (A, Y, G)))


@check("Layer.backward", "leaves its inputs unchanged", ROBUSTNESS)
def test_layer_inputs(student):
    layer_composite(student, LAYER, LAYER_INPUT, lambda: prop.leaves_inputs_unchanged(student, LAYER))


@check("Layer.backward", "gives the same output twice", ROBUSTNESS)
def test_layer_deterministic(student):
    layer_composite(student, LAYER, LAYER_INPUT, lambda: prop.is_deterministic(student, LAYER))


# --- the Network: l2_penalty and gradients -------------------------------------------------------

NET_DIMS = (6, 5, 4, 3)  # n_in, n_hidden1, n_hidden2, K: all distinct


def net_params(seed, dims=NET_DIMS, scale=1.0):
    r = np.random.default_rng(seed)
    n_in, h1, h2, k = dims
    shapes = {"W1": (n_in, h1), "b1": (h1, 1), "W2": (h1, h2), "b2": (h2, 1), "W3": (h2, k), "b3": (k, 1)}
    return {key: r.normal(0.0, scale, size=shape) for key, shape in shapes.items()}


def net_attributes(params):
    return {ATTRIBUTE_OF[k]: params[k] for k in PARAM_KEYS}


def net_call(method, args, params, dims=NET_DIMS):
    return Call(f"Network.{method}", args, init=dims, attributes=net_attributes(params))


def ref_net(params, dims=NET_DIMS):
    net = ref.Network(*dims)
    net.set_parameters({k: np.array(v, dtype=float) for k, v in params.items()})
    return net


def param_shapes(dims):
    n_in, h1, h2, k = dims
    return {"W1": (n_in, h1), "b1": (h1, 1), "W2": (h1, h2), "b2": (h2, 1), "W3": (h2, k), "b3": (k, 1)}


# l2_penalty

L2_PARAMS = net_params(5)
L2 = net_call("l2_penalty", (0.3,), L2_PARAMS)


def l2_mistakes(params, lam):
    weights = sum(float(np.sum(np.asarray(params[k], float) ** 2)) for k in ("W1", "W2", "W3"))
    biases = sum(float(np.sum(np.asarray(params[k], float) ** 2)) for k in ("b1", "b2", "b3"))
    norms = sum(float(np.linalg.norm(np.asarray(params[k], float))) for k in ("W1", "W2", "W3"))
    return {"the biases are penalised too: the L2 term is on the weights W1, W2, W3 only":
                0.5 * lam * (weights + biases),
            "this is lam * Σ||W||², twice too large: the L2 term is (lam / 2) Σ||W||² (factor 2)": lam * weights,
            "this is (lam / 4) Σ||W||², twice too small: the L2 term is (lam / 2) Σ||W||²": 0.25 * lam * weights,
            "the norms are not squared: the L2 term is (lam / 2) Σ ||W||², a sum of squares": 0.5 * lam * norms,
            "lam is missing: the L2 term is (lam / 2) Σ||W||²": 0.5 * weights}


def expect_l2(student, params, lam, dims=NET_DIMS, inputs=""):
    got = prop.returns_number(student, net_call("l2_penalty", (lam,), params, dims))
    expect_close(got, ref_net(params, dims).l2_penalty(lam), f"l2_penalty({lam})", l2_mistakes(params, lam),
                 inputs=inputs)


@check("Network.l2_penalty", "runs", GATE)
def test_l2_runs(student):
    prop.runs(student, L2)


@check("Network.l2_penalty", "is implemented", GATE)
def test_l2_is_implemented(student):
    prop.is_implemented(student, L2)


@check("Network.l2_penalty", "returns one number", GATE)
def test_l2_type(student):
    prop.returns_number(student, L2)


@check("Network.l2_penalty", "is finite", GATE)
def test_l2_finite(student):
    prop.is_finite(student, L2)


@check("Network.l2_penalty", "matches (lam / 2) Σ ||W||² on the weights only", VALUE, 3)
def test_l2_value(student):
    for seed, lam, dims in zip(SEEDS, (0.3, 1.7, 0.01), (NET_DIMS, (7, 4, 3, 5), (3, 6, 2, 4))):
        expect_l2(student, net_params(seed, dims), lam, dims, inputs=f"for lam = {lam}, sizes {dims}")


@check("Network.l2_penalty", "is 0 for lam = 0 and proportional to lam", VALUE)
def test_l2_linear_in_lam(student):
    expect_l2(student, L2_PARAMS, 0.0, inputs="for lam = 0")
    expect_l2(student, L2_PARAMS, 2.5, inputs="for lam = 2.5")


@check("Network.l2_penalty", "stays finite and exact for weights of ±1000", ROBUSTNESS)
def test_l2_saturation(student):
    params = {k: 1000.0 * np.sign(v) for k, v in net_params(53).items()}
    got = prop.returns_number(student, net_call("l2_penalty", (0.1,), params))
    expect_finite(got, "l2_penalty(0.1) with weights of ±1000")
    expect_l2(student, params, 0.1, inputs="with weights of ±1000")


@check("Network.l2_penalty", "accepts integer weights and lam", ROBUSTNESS)
def test_l2_integers(student):
    r = np.random.default_rng(54)
    params = {k: r.integers(-3, 4, size=np.shape(v)) for k, v in net_params(54).items()}
    floats = {k: v.astype(float) for k, v in params.items()}
    got, want = student.answers([net_call("l2_penalty", (2,), params).spec(),
                                 net_call("l2_penalty", (2.0,), floats).spec()])
    got, want = student.value("Network.l2_penalty", got), student.value("Network.l2_penalty", want)
    if not same(got, want, 1e-9, 1e-12):
        raise CheckFailed(f"l2_penalty gives {describe(got)} for integer weights and lam = 2, but {describe(want)} "
                          "for the same values as floats. Avoid integer division and in-place operations.")
    expect_l2(student, params, 2, inputs="for integer weights and lam = 2")


@check("Network.l2_penalty", "gives the same output twice", ROBUSTNESS)
def test_l2_deterministic(student):
    prop.is_deterministic(student, L2)


# gradients

def grad_data(seed, dims=NET_DIMS, n=9, lam=0.1):
    r = np.random.default_rng(seed)
    params = net_params(seed, dims)
    X = r.normal(size=(dims[0], n))
    T = r.permutation(np.arange(n) % dims[3])
    return params, X, T, lam


def grad_call(params, X, T, lam, dims=NET_DIMS):
    return net_call("gradients", (X, T, lam), params, dims)


def ref_gradients(params, X, T, lam, dims=NET_DIMS):
    return ref_net(params, dims).gradients(np.asarray(X, dtype=float), T, lam)


def own_gradients_candidates(student, params, X, T, lam, dims=NET_DIMS):
    """Network.gradients composed in the grader from the student's own backward methods.

    Each candidate is a thunk (see ``own``): softmax backward (the student's or the reference),
    then the output LinearUpdate and the two hidden layers (via the student's Layer.backward, or
    via their LogisticUpdate and LinearUpdate backward), plus lam * W on the weights.
    """
    n_in, h1, h2, k = dims
    p = {key: np.asarray(v, dtype=float) for key, v in params.items()}
    _, A1, A2, P = ref_net(params, dims).forward(np.asarray(X, dtype=float))
    X = np.asarray(X, dtype=float)

    def softmax_own():
        return np.asarray(own_run(student, softmax_call(P, T)), dtype=float)

    def softmax_ref():
        return ref.SoftmaxClassifier().backward(P, T)

    def layer_via_layer(W, b, A, Y, G):
        return tuple(own_run(student, layer_call(W, b, A, Y, G)))

    def layer_via_parts(W, b, A, Y, G):
        return own_layer(student, W, b, A, Y, G)

    def chain(scores, layer):
        def thunk():
            gS = scores()
            gA2, gW3, gb3 = own_run(student, linear_call(p["W3"], p["b3"], A2, gS))
            gA1, gW2, gb2 = layer(p["W2"], p["b2"], A1, A2, np.asarray(gA2, dtype=float))
            _, gW1, gb1 = layer(p["W1"], p["b1"], X, A1, np.asarray(gA1, dtype=float))
            return {"W1": gW1 + lam * p["W1"], "b1": gb1, "W2": gW2 + lam * p["W2"], "b2": gb2,
                    "W3": gW3 + lam * p["W3"], "b3": gb3}
        return thunk

    return [chain(softmax_own, layer_via_layer), chain(softmax_own, layer_via_parts),
            chain(softmax_ref, layer_via_layer), chain(softmax_ref, layer_via_parts)]


def matches_own_gradients(student, value, params, X, T, lam, dims=NET_DIMS):
    """"ok" if ``value`` equals a composition of the student's own components, else None."""
    for thunk in own_gradients_candidates(student, params, X, T, lam, dims):
        status, candidate = own(thunk)
        if status == "ok" and same(value, candidate):
            return "ok"
    return None


def gradient_mistakes(params, X, T, lam, dims=NET_DIMS):
    n = np.shape(X)[1]
    want = ref_gradients(params, X, T, lam, dims)
    plain = ref_gradients(params, X, T, 0.0, dims)
    p = {key: np.asarray(v, dtype=float) for key, v in params.items()}
    mistakes = {}
    for key in PARAM_KEYS:
        m = {}
        if key.startswith("W") and lam:
            m["the L2 term is missing: add lam * W to each weight gradient"] = plain[key]
            m["the L2 gradient is twice too large (factor 2): the term is (lam / 2)||W||², whose gradient is "
              "lam * W"] = plain[key] + 2 * lam * p[key]
            m["the L2 gradient is twice too small (factor 2): the gradient of (lam / 2)||W||² is lam * W"] = \
                plain[key] + 0.5 * lam * p[key]
        if key.startswith("b") and lam:
            m["the L2 term is on the biases too: only the weights are penalised"] = want[key] + lam * p[key]
        m[f"the softmax gradient is missing its /N: (P - one_hot(T)) / N, with N = {n}"] = \
            n * plain[key] + (lam * p[key] if key.startswith("W") else 0.0)
        m.update(scale_mistakes(want[key], n))
        mistakes[key] = m
    return mistakes


def expect_gradient_dict(value, params, dims, what):
    if not isinstance(value, dict):
        raise CheckFailed(f"{what} should return a dict with the keys {', '.join(PARAM_KEYS)}, "
                          f"but it returned {describe(value)}.")
    missing = [k for k in PARAM_KEYS if k not in value]
    if missing:
        raise CheckFailed(f"The dict from {what} lacks the key(s) {', '.join(missing)}; "
                          f"it should have exactly {', '.join(PARAM_KEYS)}.")
    return {k: expect_array(value[k], f"gradients(...)['{k}']") for k in PARAM_KEYS}


def expect_gradients(student, call, params, X, T, lam, dims=NET_DIMS, inputs="", numeric=None):
    value = call.run(student)
    if matches_own_gradients(student, value, params, X, T, lam, dims) == "ok":
        return
    grads = expect_gradient_dict(value, params, dims, "Network.gradients(X, T, lam)")
    shapes, n = param_shapes(dims), np.shape(X)[1]
    want = numeric if numeric is not None else ref_gradients(params, X, T, lam, dims)
    mistakes = gradient_mistakes(params, X, T, lam, dims)
    tol = (1e-5, 1e-7) if numeric is not None else (1e-6, 1e-8)
    for key in ORDER:
        got = expect_shape(grads[key], shapes[key], f"gradients(...)['{key}']",
                           shape_hint(np.shape(grads[key]), shapes[key], n, key))
        expect_close(got, want[key], f"gradients(X, T, lam)['{key}']", mistakes[key], *tol, inputs=inputs)


def gradients_composite(student, call, params, X, T, lam, body, dims=NET_DIMS):
    try:
        body()
    except NotImplementedYet:
        raise
    except CheckFailed:
        try:
            value = call.run(student)
        except NotImplementedYet:
            raise
        except CheckFailed:
            value = None
        if matches_own_gradients(student, value, params, X, T, lam, dims) == "ok":
            return
        raise


GRAD_INPUT = grad_data(6)
GRADIENTS = grad_call(*GRAD_INPUT)


def gradients_gate(student, body):
    gradients_composite(student, GRADIENTS, *GRAD_INPUT, body)


@check("Network.gradients", "runs", GATE)
def test_gradients_runs(student):
    gradients_gate(student, lambda: prop.runs(student, GRADIENTS))


@check("Network.gradients", "is implemented", GATE)
def test_gradients_is_implemented(student):
    gradients_gate(student, lambda: prop.is_implemented(student, GRADIENTS))


@check("Network.gradients", "returns a dict with the keys W1, b1, W2, b2, W3, b3", GATE)
def test_gradients_type(student):
    gradients_gate(student, lambda: expect_gradient_dict(GRADIENTS.run(student), GRAD_INPUT[0], NET_DIMS,
                                                         GRADIENTS.shown()))


@check("Network.gradients", "gives each gradient the shape of its parameter", GATE)
def test_gradients_shape(student):
    def body():
        grads = expect_gradient_dict(GRADIENTS.run(student), GRAD_INPUT[0], NET_DIMS, GRADIENTS.shown())
        for key, shape in param_shapes(NET_DIMS).items():
            expect_shape(grads[key], shape, f"gradients(X (6, 9), T (9,), lam)['{key}']",
                         shape_hint(np.shape(grads[key]), shape, 9, key))
    gradients_gate(student, body)


@check("Network.gradients", "is finite", GATE)
def test_gradients_finite(student):
    def body():
        grads = expect_gradient_dict(GRADIENTS.run(student), GRAD_INPUT[0], NET_DIMS, GRADIENTS.shown())
        for key in PARAM_KEYS:
            expect_finite(grads[key], f"gradients(...)['{key}']")
    gradients_gate(student, body)


@check("Network.gradients", "matches the reference (backprop plus lam * W on the weights)", VALUE, 3)
def test_gradients_value(student):
    for seed, lam, dims, n in zip(SEEDS, (0.0, 0.1, 0.37), (NET_DIMS, (4, 7, 5, 3), (5, 3, 6, 4)), (9, 8, 7)):
        params, X, T, _ = grad_data(seed, dims, n)
        call = grad_call(params, X, T, lam, dims)
        gradients_composite(student, call, params, X, T, lam, lambda: expect_gradients(
            student, call, params, X, T, lam, dims, inputs=f"for lam = {lam}, sizes {dims}, N = {n}"), dims)


@check("Network.gradients", "matches a numeric gradient of the loss with the L2 term", VALUE, 2)
def test_gradients_numeric(student):
    params, X, T, lam = grad_data(55, lam=0.2)
    numeric = {}
    for key in PARAM_KEYS:
        def loss(value, key=key):
            trial = dict(params)
            trial[key] = value
            return ref_net(trial).loss(X, T, lam)
        numeric[key] = numeric_gradient(loss, params[key])
    call = grad_call(params, X, T, lam)
    gradients_composite(student, call, params, X, T, lam, lambda: expect_gradients(
        student, call, params, X, T, lam, numeric=numeric,
        inputs="compared with central differences of loss(X, T, lam = 0.2)"))


@check("Network.gradients", "penalises the weights only: gradients(lam) - gradients(0) = lam * W", VALUE)
def test_gradients_l2_term(student):
    params, X, T, _ = grad_data(56)
    lam = 0.5
    call0, call1 = grad_call(params, X, T, 0.0), grad_call(params, X, T, lam)

    def body():
        g0 = expect_gradient_dict(call0.run(student), params, NET_DIMS, call0.shown())
        g1 = expect_gradient_dict(call1.run(student), params, NET_DIMS, call1.shown())
        for key in ORDER:
            diff = np.asarray(g1[key], dtype=float) - np.asarray(g0[key], dtype=float)
            p = np.asarray(params[key], dtype=float)
            want = lam * p if key.startswith("W") else np.zeros_like(p)
            mistakes = {"the L2 term is missing: add lam * W to each weight gradient": np.zeros_like(p),
                        "the L2 term is on the biases too: only the weights are penalised": lam * p,
                        "the L2 gradient is twice too large (factor 2): the gradient of (lam / 2)||W||² is lam * W":
                            2 * lam * p,
                        "the L2 gradient is twice too small (factor 2): the gradient of (lam / 2)||W||² is lam * W":
                            0.5 * lam * p}
            expect_close(diff, want, f"gradients(X, T, {lam})['{key}'] - gradients(X, T, 0)['{key}']", mistakes)
    gradients_composite(student, call1, params, X, T, lam, body)


@check("Network.gradients", "stays finite and exact when pre-activations and softmax inputs are ±1000", ROBUSTNESS)
def test_gradients_saturation(student):
    params, X, T, lam = grad_data(57)
    params["b1"] = np.array([[1000.0], [-1000.0], [0.0], [1000.0], [-1000.0]])
    params["b3"] = np.array([[1000.0], [-1000.0], [0.0]])
    call = grad_call(params, X, T, lam)

    def body():
        grads = expect_gradient_dict(call.run(student), params, NET_DIMS, call.shown())
        for key in PARAM_KEYS:
            expect_finite(grads[key], f"gradients(...)['{key}'] with pre-activations and scores of ±1000")
        expect_gradients(student, call, params, X, T, lam, inputs="with pre-activations and scores of ±1000")
    gradients_composite(student, call, params, X, T, lam, body)


@check("Network.gradients", "accepts integer inputs", ROBUSTNESS)
def test_gradients_integers(student):
    params, X, T, _ = grad_data(58)
    Xi = np.random.default_rng(58).integers(-2, 3, size=X.shape)
    call = grad_call(params, Xi, T, 1)

    def body():
        got, want = student.answers([call.spec(), grad_call(params, Xi.astype(float), T, 1.0).spec()])
        got, want = student.value(call.target, got), student.value(call.target, want)
        got = expect_gradient_dict(got, params, NET_DIMS, call.shown())
        want = expect_gradient_dict(want, params, NET_DIMS, call.shown())
        for key in PARAM_KEYS:
            if not same(got[key], want[key], 1e-9, 1e-12):
                raise CheckFailed(f"Network.gradients gives a different ['{key}'] for integer X and lam "
                                  f"({describe(np.asarray(got[key]))}) than for the same values as floats "
                                  f"({describe(np.asarray(want[key]))}). Avoid integer division and in-place "
                                  "operations on the inputs.")
    gradients_composite(student, call, params, Xi, T, 1, body)


@check("Network.gradients", "leaves its inputs unchanged", ROBUSTNESS)
def test_gradients_inputs(student):
    gradients_gate(student, lambda: prop.leaves_inputs_unchanged(student, GRADIENTS))


@check("Network.gradients", "gives the same output twice", ROBUSTNESS)
def test_gradients_deterministic(student):
    def body():
        first, second = student.batch([GRADIENTS.spec(), GRADIENTS.spec()])
        first, second = student.value(GRADIENTS.target, first), student.value(GRADIENTS.target, second)
        if not same(first, second, 0.0, 0.0):
            raise CheckFailed(f"Calling {GRADIENTS.shown()} twice with the same inputs gave different results. "
                              "Do not keep state between calls or use randomness.")
    gradients_gate(student, body)


# --- momentum_update -------------------------------------------------------------------------------

def momentum_data(seed, dims=NET_DIMS):
    r = np.random.default_rng(seed)
    shapes = param_shapes(dims)
    return tuple({k: r.normal(size=s) for k, s in shapes.items()} for _ in range(3))


def momentum_call(params, grads, velocities, rate, mu):
    return Call("momentum_update", (params, grads, velocities, rate, mu))


def ref_momentum(params, grads, velocities, rate, mu):
    f = lambda d: {k: np.asarray(v, dtype=float) for k, v in d.items()}  # noqa: E731
    return ref.momentum_update(f(params), f(grads), f(velocities), rate, mu)


def momentum_mistakes(params, grads, velocities, rate, mu):
    p, g, v = ({k: np.asarray(x[k], dtype=float) for k in x} for x in (params, grads, velocities))
    want_p, want_v = ref_momentum(params, grads, velocities, rate, mu)
    plus_v = {k: mu * v[k] + rate * g[k] for k in p}
    swap_v = {k: rate * v[k] - mu * g[k] for k in p}
    return {
        "the gradient is added: v <- momentum * v - learning_rate * g, with a minus":
            ({k: p[k] + plus_v[k] for k in p}, plus_v),
        "momentum and learning_rate are swapped: v <- momentum * v - learning_rate * g":
            ({k: p[k] + swap_v[k] for k in p}, swap_v),
        "the parameters move by the old velocity: update v first, then p <- p + (the new v)":
            ({k: p[k] + v[k] for k in p}, want_v),
        "the velocity is subtracted: p <- p + v (v already holds the minus sign)":
            ({k: p[k] - want_v[k] for k in p}, want_v),
        "the two dicts are returned in the wrong order: return (new_params, new_velocities)": (want_v, want_p),
        "this is plain gradient descent: keep momentum * v in the new velocity":
            ({k: p[k] - rate * g[k] for k in p}, {k: -rate * g[k] for k in p}),
    }


def expect_momentum_pair(value, shapes, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(isinstance(d, dict) for d in value):
        raise CheckFailed(f"{what} should return a tuple of two dicts (new_params, new_velocities), but it returned "
                          f"{describe(value)}.")
    for name, d in zip(("new_params", "new_velocities"), value):
        if set(d) != set(shapes):
            raise CheckFailed(f"{name} from {what} has the keys {sorted(d)}; expected those of params, "
                              f"{sorted(shapes)}.")
        for k, shape in shapes.items():
            expect_shape(d[k], shape, f"{name}['{k}'] from {what}", f"It should have the shape of params['{k}'].")
    return value


def expect_momentum(value, params, grads, velocities, rate, mu, what, inputs=""):
    shapes = {k: np.shape(v) for k, v in params.items()}
    new_p, new_v = expect_momentum_pair(value, shapes, what)
    want = ref_momentum(params, grads, velocities, rate, mu)
    if same((new_p, new_v), want, 1e-9, 1e-12):
        return
    mistakes = momentum_mistakes(params, grads, velocities, rate, mu)
    mistake = next((name for name, wrong in mistakes.items() if same((new_p, new_v), wrong, 1e-9, 1e-12)), None)
    for name, got_d, want_d in (("new_velocities", new_v, want[1]), ("new_params", new_p, want[0])):
        for k in params:
            if not same(got_d[k], want_d[k], 1e-9, 1e-12):
                got = np.asarray(got_d[k], dtype=float)
                raise CheckFailed(f"{name}['{k}'] from {what}{' ' + inputs if inputs else ''} is {describe(got)}; "
                                  f"expected {describe(want_d[k])}."
                                  + (f" Likely mistake: {mistake}." if mistake else ""))


MOMENTUM_INPUT = (*momentum_data(7), 0.3, 0.7)
MOMENTUM = momentum_call(*MOMENTUM_INPUT)
SHAPES = param_shapes(NET_DIMS)


@check("momentum_update", "runs", GATE)
def test_momentum_runs(student):
    prop.runs(student, MOMENTUM)


@check("momentum_update", "is implemented", GATE)
def test_momentum_is_implemented(student):
    prop.is_implemented(student, MOMENTUM)


@check("momentum_update", "returns a tuple of two dicts (new_params, new_velocities)", GATE)
def test_momentum_type(student):
    value = MOMENTUM.run(student)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(isinstance(d, dict) for d in value):
        raise CheckFailed(f"momentum_update should return a tuple of two dicts (new_params, new_velocities), "
                          f"but it returned {describe(value)}.")


@check("momentum_update", "keeps the keys and the shapes of params", GATE)
def test_momentum_shape(student):
    expect_momentum_pair(MOMENTUM.run(student), SHAPES, "momentum_update(params, grads, velocities, 0.3, 0.7)")


@check("momentum_update", "is finite", GATE)
def test_momentum_finite(student):
    for name, d in zip(("new_params", "new_velocities"), MOMENTUM.run(student)):
        for k, v in d.items():
            expect_finite(v, f"{name}['{k}'] from momentum_update")


@check("momentum_update", "matches v <- momentum * v - learning_rate * g, p <- p + v", VALUE, 3)
def test_momentum_value(student):
    for seed, rate, mu in zip(SEEDS, (0.3, 0.05, 1.5), (0.7, 0.95, 0.0)):
        args = (*momentum_data(seed), rate, mu)
        expect_momentum(momentum_call(*args).run(student), *args, "momentum_update(params, grads, velocities, "
                        "learning_rate, momentum)", inputs=f"for learning_rate = {rate}, momentum = {mu}")


@check("momentum_update", "from zero velocity with momentum 0 is a plain gradient step", VALUE)
def test_momentum_plain_step(student):
    params, grads, _ = momentum_data(59)
    zeros = {k: np.zeros_like(v) for k, v in params.items()}
    args = (params, grads, zeros, 0.5, 0.0)
    expect_momentum(momentum_call(*args).run(student), *args, "momentum_update(params, grads, zeros, 0.5, 0.0)")


@check("momentum_update", "stays finite and exact for gradients of ±1000", ROBUSTNESS)
def test_momentum_saturation(student):
    params, grads, velocities = momentum_data(60)
    grads = {k: 1000.0 * np.sign(v) for k, v in grads.items()}
    args = (params, grads, velocities, 0.5, 0.9)
    value = momentum_call(*args).run(student)
    expect_momentum(value, *args, "momentum_update(params, grads, velocities, 0.5, 0.9)",
                    inputs="for gradients of ±1000")


@check("momentum_update", "accepts integer arrays", ROBUSTNESS)
def test_momentum_integers(student):
    r = np.random.default_rng(61)
    ints = tuple({k: r.integers(-3, 4, size=s) for k, s in SHAPES.items()} for _ in range(3))
    floats = tuple({k: v.astype(float) for k, v in d.items()} for d in ints)
    got, want = student.answers([momentum_call(*ints, 0.5, 0.9).spec(), momentum_call(*floats, 0.5, 0.9).spec()])
    got, want = student.value("momentum_update", got), student.value("momentum_update", want)
    if not same(got, want, 1e-9, 1e-12):
        raise CheckFailed("momentum_update gives a different result for integer arrays than for the same values as "
                          "floats. Build new float arrays (momentum * v - learning_rate * g); do not update the "
                          "integer arrays in place.")
    expect_momentum(got, *ints, 0.5, 0.9, "momentum_update(params, grads, velocities, 0.5, 0.9)",
                    inputs="for integer arrays")


@check("momentum_update", "leaves its dicts unchanged", ROBUSTNESS)
def test_momentum_inputs(student):
    answer = student.batch([MOMENTUM.spec(return_args=True)])[0]
    student.value("momentum_update", answer)
    after = answer.get("args_after", [])
    for index, (name, before) in enumerate(zip(("params", "grads", "velocities"), MOMENTUM_INPUT[:3])):
        now = after[index] if index < len(after) else None
        if not isinstance(now, dict) or set(now) != set(before) or \
                not all(np.array_equal(np.asarray(now[k]), before[k]) for k in before):
            raise CheckFailed(f"momentum_update modified its argument {name} in place. Build new dicts of new "
                              "arrays (v_new = momentum * v - learning_rate * g), not v[k] -= ... or p[k] += ...")


@check("momentum_update", "gives the same output twice", ROBUSTNESS)
def test_momentum_deterministic(student):
    first, second = student.batch([MOMENTUM.spec(), MOMENTUM.spec()])
    first, second = student.value("momentum_update", first), student.value("momentum_update", second)
    if not same(first, second, 0.0, 0.0):
        raise CheckFailed("Calling momentum_update twice with the same inputs gave different results.")


# --- train --------------------------------------------------------------------------------------
#
# Engine support these checks rely on (autograder/sandbox/inside/calls.py, run_call):
#   spec["arg_objects"] = {"<i>": {"class": NAME, "init": [...], "set": {dotted.path: value}}}
#       before the call, for each entry: obj = namespace[NAME](*init), each "set" path assigned
#       as in ``resolve``, and args[int(i)] = obj (the grader sends None at that position).
#       NAME undefined -> {"missing": NAME}; an exception while building -> {"setup_failed": True, ...}.
#   spec["return_attributes"] = {"<i>": [dotted.path, ...]}
#       after a successful call, answer["attributes"] = {"<i>": {path: value}} read with
#       getattr along the path from args[int(i)] (a path that cannot be read makes the answer
#       {"setup_failed": True, ...}); a value that cannot cross the boundary makes it {"unsendable": ...}.

TRAIN_DIMS = (64, 7, 5, 10)
TRAIN_KEYS = ("train_loss", "val_loss", "val_accuracy")
TRAIN_SETTINGS = dict(epochs=5, learning_rate=0.3, momentum=0.8, lam=1e-3)


@functools.lru_cache(maxsize=1)
def digits():
    return ref.load_digits_split(seed=0)


def small_digits():
    X_train, T_train, X_val, T_val, _, _ = digits()
    return X_train[:, :60], T_train[:60], X_val[:, :40], T_val[:40]


def train_params(seed=0, dims=TRAIN_DIMS):
    return ref.Network(*dims, seed=seed).parameters()


def train_spec(params, data, settings=None, dims=TRAIN_DIMS, return_args=False):
    """A call of train(network, *data, *settings) on a Network built in the sandbox."""
    values = tuple(settings[k] for k in ("epochs", "learning_rate", "momentum", "lam")) if settings else ()
    spec = call_spec("train", (None, *data, *values), return_args=return_args)
    spec["arg_objects"] = {"0": {"class": "Network", "init": list(dims), "set": net_attributes(params)}}
    spec["return_attributes"] = {"0": [ATTRIBUTE_OF[k] for k in PARAM_KEYS]}
    return spec


def run_train(student, params, data, settings=None, dims=TRAIN_DIMS, return_args=False, timeout=None,
              own_components=False):
    """(history, trained parameters or None, the answer) of the student's train: calling the
    reference's versions of the graded names it uses (stand-ins), or with ``own_components``
    the student's own."""
    spec = train_spec(params, data, settings, dims, return_args)
    if own_components:
        spec["stand_ins"] = []  # none: the student's whole pipeline
    answer = student.batch([spec], timeout)[0]
    history = student.value("train", answer)
    after = (answer.get("attributes") or {}).get("0")
    trained = {k: after.get(ATTRIBUTE_OF[k]) for k in PARAM_KEYS} if isinstance(after, dict) else None
    return history, trained, answer


def ref_train(params, data, settings, dims=TRAIN_DIMS, variant=None):
    """History and parameters of the reference train (or of a wrong ``variant`` of it)."""
    net = ref_net(params, dims)
    X, T, Xv, Tv = data
    epochs, rate, mu, lam = (settings[k] for k in ("epochs", "learning_rate", "momentum", "lam"))
    p = net.parameters()
    v = {k: np.zeros_like(a) for k, a in p.items()}
    history = {k: [] for k in TRAIN_KEYS}
    for _ in range(epochs):
        if variant == "before":
            history["train_loss"].append(net.loss(X, T, lam))
            history["val_loss"].append(net.loss(Xv, Tv, lam))
            history["val_accuracy"].append(ref.accuracy(net, Xv, Tv))
        g = net.gradients(X, T, 0.0 if variant == "no-lam" else lam)
        if variant == "no-momentum":
            v = {k: np.zeros_like(a) for k, a in p.items()}
        p, v = ref.momentum_update(p, g, v, rate, mu)
        net.set_parameters(p)
        if variant != "before":
            history["train_loss"].append(net.loss(X, T, 0.0 if variant == "loss-no-lam" else lam))
            history["val_loss"].append(net.loss(Xv, Tv, 0.0 if variant == "loss-no-lam" else lam))
            history["val_accuracy"].append(ref.accuracy(net, Xv, Tv))
    return history, net.parameters()


TRAIN_MISTAKES = {
    "before": "the history is recorded before each step: record the losses and accuracy after the update",
    "no-momentum": "the velocities restart at zero every epoch: create them once, before the loop, and carry "
                   "them from one momentum_update to the next",
    "no-lam": "lam is not passed to network.gradients: the gradients must include the L2 term",
    "loss-no-lam": "the recorded losses leave out the L2 term: use network.loss(X, T, lam)",
}


def own_train(student, params, data, settings, dims=TRAIN_DIMS):
    """train composed in the grader from the student's own Network.gradients, momentum_update,
    Network.loss and Network.predict, one epoch at a time."""
    X, T, Xv, Tv = data
    epochs, rate, mu, lam = (settings[k] for k in ("epochs", "learning_rate", "momentum", "lam"))
    p = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    v = {k: np.zeros_like(a) for k, a in p.items()}
    history = {k: [] for k in TRAIN_KEYS}
    grads = own_run(student, net_call("gradients", (X, T, lam), p, dims))
    for epoch in range(epochs):
        p, v = own_run(student, momentum_call(p, grads, v, rate, mu))
        specs = [net_call("loss", (X, T, lam), p, dims).spec(), net_call("loss", (Xv, Tv, lam), p, dims).spec(),
                 net_call("predict", (Xv,), p, dims).spec()]
        if epoch + 1 < epochs:
            specs.append(net_call("gradients", (X, T, lam), p, dims).spec())
        answers = own_batch(student, specs, "Network")
        history["train_loss"].append(float(np.asarray(answers[0]).ravel()[0]))
        history["val_loss"].append(float(np.asarray(answers[1]).ravel()[0]))
        history["val_accuracy"].append(float(np.mean(np.asarray(answers[2]) == Tv)))
        if epoch + 1 < epochs:
            grads = answers[3]
    return history, p


def expect_history(history, epochs, what):
    if not isinstance(history, dict) or set(history) != set(TRAIN_KEYS):
        raise CheckFailed(f"{what} should return a dict with the keys {', '.join(TRAIN_KEYS)}, but it returned "
                          f"{describe(history) if not isinstance(history, dict) else 'a dict with the keys ' + ', '.join(map(str, history))}.")
    for key in TRAIN_KEYS:
        values = history[key]
        if not isinstance(values, (list, tuple, np.ndarray)) or len(values) != epochs:
            length = len(values) if isinstance(values, (list, tuple, np.ndarray)) else "no"
            raise CheckFailed(f"history['{key}'] from {what} holds {length} values; it should hold one per epoch, "
                              f"{epochs}.")
    return {k: np.asarray(history[k], dtype=float) for k in TRAIN_KEYS}


def train_matches(history, trained, want):
    want_history, want_params = want
    if not same({k: np.asarray(history.get(k, []), dtype=float) if isinstance(history, dict) else None
                 for k in TRAIN_KEYS}, {k: np.asarray(v) for k, v in want_history.items()}, 1e-6, 1e-9):
        return False
    return trained is None or same(trained, want_params, 1e-6, 1e-9)


def train_composite(student, params, data, settings, body, dims=TRAIN_DIMS):
    """``body``, unless the student's train is right on top of their own Network.gradients and
    momentum_update (a broken one is stood in for: it excuses nothing here)."""
    try:
        body()
    except NotImplementedYet:
        raise
    except CheckFailed:
        status, want = own(lambda: own_train(student, params, data, settings, dims))
        if status == "ok":
            history, trained, _ = run_train(student, params, data, settings, dims)
            if train_matches(history, trained, want):
                return
        raise


TRAIN_PARAMS = train_params(seed=3)


def train_gate(student, body):
    train_composite(student, TRAIN_PARAMS, small_digits(), TRAIN_SETTINGS, body)


def train_once(student):
    return run_train(student, TRAIN_PARAMS, small_digits(), TRAIN_SETTINGS)


@check("train", "runs", GATE)
def test_train_runs(student):
    def body():
        try:
            train_once(student)
        except NotImplementedYet:
            pass
    train_gate(student, body)


@check("train", "is implemented", GATE)
def test_train_is_implemented(student):
    train_gate(student, lambda: train_once(student))


@check("train", "returns a dict with one value per epoch for train_loss, val_loss, val_accuracy", GATE)
def test_train_type(student):
    train_gate(student, lambda: expect_history(train_once(student)[0], 5, "train(network, ..., epochs=5)"))


@check("train", "is finite, with accuracies in [0, 1]", GATE)
def test_train_finite(student):
    def body():
        history = expect_history(train_once(student)[0], 5, "train(network, ..., epochs=5)")
        for key in TRAIN_KEYS:
            expect_finite(history[key], f"history['{key}']")
        if np.any(history["val_accuracy"] < 0) or np.any(history["val_accuracy"] > 1):
            raise CheckFailed(f"history['val_accuracy'] is {describe(history['val_accuracy'])}: accuracies are "
                              "fractions in [0, 1].")
    train_gate(student, body)


@check("train", "matches momentum steps on the full batch, and trains the network in place", VALUE, 3)
def test_train_value(student):
    data = small_digits()
    for seed, settings in ((3, TRAIN_SETTINGS), (4, dict(epochs=4, learning_rate=0.5, momentum=0.9, lam=0.0))):
        params = train_params(seed)

        def body(params=params, settings=settings):
            history, trained, _ = run_train(student, params, data, settings)
            got = expect_history(history, settings["epochs"], "train(network, ...)")
            want_history, want_params = ref_train(params, data, settings)
            inputs = (f"for epochs = {settings['epochs']}, learning_rate = {settings['learning_rate']}, "
                      f"momentum = {settings['momentum']}, lam = {settings['lam']}")
            mistake = None
            for variant, name in TRAIN_MISTAKES.items():
                if train_matches(history, trained, ref_train(params, data, settings, variant=variant)):
                    mistake = name
                    break
            for key in TRAIN_KEYS:
                expect_close(got[key], want_history[key], f"history['{key}']",
                             {mistake: got[key]} if mistake else None, 1e-6, 1e-9, inputs)
            if trained is None or any(t is None for t in trained.values()):
                raise CheckFailed("After train(network, ...) the network's parameters could not be read back: "
                                  "keep them in network.hidden1.linear, network.hidden2.linear and network.output.")
            for key in PARAM_KEYS:
                if np.array_equal(np.asarray(trained[key], dtype=float), params[key]):
                    raise CheckFailed(f"After train(network, ...) the network's {key} is unchanged: train the "
                                      "network in place, with network.set_parameters(params) after each step.")
                expect_close(trained[key], want_params[key], f"the trained network's {key}",
                             {mistake: trained[key]} if mistake else None, 1e-6, 1e-9, inputs)
        train_composite(student, params, data, settings, body)


END_TO_END_EPOCHS = 300  # the notebook's own setting
PROMISED_TEST_ACCURACY = 0.95  # what the notebook promises
END_TO_END_SECONDS = 90.0  # a correct solution with Python loops must not run out of time


@check("train", "trains the digits network to 95 % test accuracy in 300 epochs with its default settings", VALUE, 2)
def test_train_end_to_end(student):
    X_train, T_train, X_val, T_val, X_test, T_test = digits()
    params = train_params(seed=0, dims=(64, 30, 20, 10))
    what = (f"train(network, X_train, T_train, X_val, T_val, {END_TO_END_EPOCHS}) with its default learning_rate, "
            "momentum and lam")

    def body(own_components):
        history, trained, _ = run_train(student, params, (X_train, T_train, X_val, T_val, END_TO_END_EPOCHS),
                                        dims=(64, 30, 20, 10), timeout=END_TO_END_SECONDS,
                                        own_components=own_components)
        got = expect_history(history, END_TO_END_EPOCHS, what)
        if not got["train_loss"][-1] < got["train_loss"][0]:
            raise CheckFailed(f"The training loss of {what} did not go down "
                              f"({got['train_loss'][0]:.4g} -> {got['train_loss'][-1]:.4g}): check the sign of the "
                              "update and the defaults learning_rate = 0.5, momentum = 0.9, lam = 0.")
        if trained is None or any(v is None for v in trained.values()):
            raise CheckFailed(f"After {what} the network's weights could not be read back: train the network "
                              "in place (network.set_parameters) and keep its attributes.")
        test_accuracy = ref.accuracy(ref_net({k: np.asarray(v, dtype=float) for k, v in trained.items()},
                                             (64, 30, 20, 10)), X_test, T_test)
        if not test_accuracy >= PROMISED_TEST_ACCURACY:
            raise CheckFailed(f"After {what} the network classifies {test_accuracy:.3f} of the test digits; a correct "
                              f"train reaches at least {PROMISED_TEST_ACCURACY} (about 0.97).")
    # 300 epochs through stand-ins cost seconds of round trips: the student's whole pipeline
    # first, and only when it fails, train with the reference's components (a bug costs once).
    try:
        body(own_components=True)
    except CheckFailed:
        body(own_components=False)


@check("train", "leaves its data unchanged", ROBUSTNESS)
def test_train_inputs(student):
    data = small_digits()

    def body():
        _, _, answer = run_train(student, TRAIN_PARAMS, data, TRAIN_SETTINGS, return_args=True)
        after = answer.get("args_after") or []
        for index, (name, before) in enumerate(zip(("X_train", "T_train", "X_val", "T_val"), data), start=1):
            now = after[index] if index < len(after) else None
            if now is None or not np.array_equal(np.asarray(now), before):
                raise CheckFailed(f"train modified its argument {name} in place. Leave the data alone.")
    train_gate(student, body)

"""Hidden checks of hidden_layer: xor_network_weights and backprop."""
import numpy as np

from autograder.checks.expect import CheckFailed, describe, expect_close, expect_finite, expect_shape, scale_mistakes
from autograder.checks.suite import check
from autograder.scores.scoring import GATE, ROBUSTNESS, VALUE
from autograder.checks import properties as prop
from autograder.checks.properties import Call
from autograder.checks.numeric_gradient import numeric_gradient
from reference import hidden_layer as ref
from reference.logistic_regression import logistic

KEYS = ("W1", "b1", "W2", "b2")
# The output layer first: a mistake in δ2 = (y - t)/N reaches all four gradients, so it is
# named where it starts; a mistake in the hidden layer leaves W2 and b2 right.
ORDER = ("W2", "b2", "W1", "b1")


def network(seed, n, d, h):
    """X (n, d), t (n, 1) of 0/1 and params W1 (d, h), b1 (h,), W2 (h, 1), b2 (1,)."""
    r = np.random.default_rng(seed)
    X = r.normal(size=(n, d))
    t = r.permutation(np.arange(n) % 2).reshape(n, 1).astype(float)  # both classes
    params = {"W1": r.normal(size=(d, h)), "b1": r.normal(size=h),
              "W2": r.normal(0.0, 2.0, size=(h, 1)), "b2": r.normal(size=1)}
    return X, t, params


def sizes(X, params):
    n, d = np.shape(X)
    return n, d, np.shape(params["b1"])[0]


def shown(X, t, params):
    """'backprop(X (7, 3), t (7, 1), params with W1 (3, 4), b1 (4,), W2 (4, 1), b2 (1,))'."""
    inside = ", ".join(f"{k} {np.shape(params[k])}" for k in KEYS)
    return f"backprop(X {np.shape(X)}, t {np.shape(t)}, params with {inside})"


def dims(X, params):
    n, d, h = sizes(X, params)
    return f"for N = {n}, D = {d}, H = {h}"


# --- closed-form answers: the right one and the common wrong ones ----------------------------

def pieces(X, t, params):
    """S (N, H), Z = σ(S), δ2 = (y - t)/N (N, 1), the upstream δ2 W2ᵀ (N, H), y (N, 1), N."""
    X, t = np.asarray(X, dtype=float), np.asarray(t, dtype=float)
    p = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    S = X @ p["W1"] + p["b1"]
    Z = logistic(S)
    y = logistic(Z @ p["W2"] + p["b2"])
    n = X.shape[0]
    d2 = (y - t) / n
    return S, Z, y, d2, d2 @ p["W2"].T, n


def from_deltas(X, Z, d2, d1):
    """The four gradients built from δ2 (N, 1) and δ1 (N, H) as the notebook derives them."""
    return {"W1": np.asarray(X, dtype=float).T @ d1, "b1": d1.sum(axis=0), "W2": Z.T @ d2, "b2": d2.sum(axis=0)}


def wrong_gradients(X, t, params):
    """name of a common mistake -> the four gradients it gives, in the order they are tried."""
    S, Z, y, d2, up, n = pieces(X, t, params)
    W2 = np.asarray(params["W2"], dtype=float)
    slope = Z * (1.0 - Z)
    right = from_deltas(X, Z, d2, up * slope)
    d2_slope = d2 * y * (1.0 - y)
    d2_no_t = y / n
    return {
        "σ′ = y(1 − y) is kept at the output: with the cross-entropy it cancels, so δ2 = (y − t)/N":
            from_deltas(X, Z, d2_slope, (d2_slope @ W2.T) * slope),
        "the targets are ignored: δ2 = (y − t)/N is prediction minus target":
            from_deltas(X, Z, d2_no_t, (d2_no_t @ W2.T) * slope),
        "the bias gradients miss the 1/N: sum δ over the examples, with δ2 = (y − t)/N already carrying the 1/N":
            {**right, "b1": right["b1"] * n, "b2": right["b2"] * n},
        "the bias gradients are means, not sums: δ already carries the 1/N, so use δ.sum(axis=0), "
        "not δ.mean(axis=0)":
            {**right, "b1": right["b1"] / n, "b2": right["b2"] / n},
        "σ′ is missing in the hidden layer: going back through σ multiplies by Z ⊙ (1 − Z), "
        "δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z)":
            from_deltas(X, Z, d2, up),
        "σ′ is applied to the wrong variable: the slope is Z ⊙ (1 − Z) with Z = σ(S) the hidden activation, "
        "not S ⊙ (1 − S) with the pre-activation S":
            from_deltas(X, Z, d2, up * S * (1.0 - S)),
        "σ is applied twice: Z is already σ(S), so the slope is Z ⊙ (1 − Z), not σ(Z) ⊙ (1 − σ(Z))":
            from_deltas(X, Z, d2, up * logistic(Z) * (1.0 - logistic(Z))),
        "W2 is left out when going back to the hidden layer: δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z)":
            from_deltas(X, Z, d2, d2 * slope),
        "the upstream gradient is ignored: δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z), not Z ⊙ (1 − Z) alone":
            from_deltas(X, Z, d2, slope),
        "the upstream gradient is ignored: δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z), not Z ⊙ (1 − Z) / N":
            from_deltas(X, Z, d2, slope / n),
        f"the hidden layer misses the 1/N (your result is {n} times too large): build δ1 from δ2 = (y − t)/N, "
        "which already carries it":
            from_deltas(X, Z, d2, up * slope * n),
        f"the 1/N is applied twice in the hidden layer (your result is {n} times too small): δ2 = (y − t)/N "
        "already carries it, so δ1 needs no second division":
            from_deltas(X, Z, d2, up * slope / n),
    }


def mistakes_for(key, X, t, params):
    """Wrong answers for the gradient of ``key``: the named mistakes, then ×N, ÷N and the sign."""
    want = ref.backprop(X, t, params)[key]
    named = {name: grads[key] for name, grads in wrong_gradients(X, t, params).items()}
    return {**named, **scale_mistakes(want, X.shape[0])}


def shape_hint(key, got, n, d, h):
    """What a wrong shape of the gradient of ``key`` most likely means."""
    hints = {
        "W1": {(h, d): "It looks transposed: dL/dW1 = Xᵀ δ1 is (D, H), like W1.",
               (n, h): "This is the shape of δ1 itself: dL/dW1 = Xᵀ δ1 sums over the examples.",
               (n, d): "This is the shape of X: dL/dW1 = Xᵀ δ1."},
        "b1": {(n, h): "The bias gradient is kept per example: sum δ1 over the examples, δ1.sum(axis=0).",
               (n,): "It is summed over the wrong axis: sum δ1 over the examples (axis=0), not over the hidden units.",
               (): "It is summed over both axes: sum δ1 over the examples only, δ1.sum(axis=0).",
               (1, h): "Sum without keepdims (or reshape): b1 has shape (H,).",
               (h, 1): "Sum over axis 0 without keepdims (or reshape): b1 has shape (H,)."},
        "W2": {(1, h): "It looks transposed: dL/dW2 = Zᵀ δ2 is (H, 1), like W2.",
               (h,): "Keep it a column: dL/dW2 = Zᵀ δ2 has shape (H, 1), like W2.",
               (n, h): "This is the shape of Z: dL/dW2 = Zᵀ δ2 sums over the examples."},
        "b2": {(n, 1): "The bias gradient is kept per example: sum δ2 over the examples, δ2.sum(axis=0).",
               (n,): "The bias gradient is kept per example: sum δ2 over the examples, δ2.sum(axis=0).",
               (1, n): "The bias gradient is kept per example: sum δ2 over the examples, δ2.sum(axis=0).",
               (): "It is a single number, but b2 has shape (1,): use δ2.sum(axis=0), not δ2.sum().",
               (1, 1): "Sum without keepdims (or reshape): b2 has shape (1,)."},
    }
    return hints[key].get(tuple(np.shape(got)),
                          f"A gradient has the shape of the parameter it belongs to: {key} is {want_shape(key, d, h)}.")


def want_shape(key, d, h):
    return {"W1": (d, h), "b1": (h,), "W2": (h, 1), "b2": (1,)}[key]


# --- calling backprop ---------------------------------------------------------------------------

def expect_gradient_dict(value, call_text):
    """``value`` must be a dict with exactly the keys W1, b1, W2, b2."""
    if not isinstance(value, dict):
        count = f" of {len(value)} items" if isinstance(value, (tuple, list)) else ""
        raise CheckFailed(f"{call_text} should return a dict of the four gradients, "
                          f"{{'W1': ..., 'b1': ..., 'W2': ..., 'b2': ...}}, but it returned {describe(value)}{count}.")
    if set(value) != set(KEYS):
        missing = [k for k in KEYS if k not in value]
        extra = [k for k in value if k not in KEYS]
        detail = "; ".join(part for part in (f"missing {', '.join(map(repr, missing))}" if missing else "",
                                              f"unexpected {', '.join(map(repr, extra))}" if extra else "") if part)
        raise CheckFailed(f"The dict returned by {call_text} has the keys {', '.join(map(repr, value))}; "
                          f"expected exactly 'W1', 'b1', 'W2', 'b2' ({detail}). Keys are case-sensitive.")
    return value


def expect_gradients(value, X, t, params):
    """The returned dict, checked for its keys and the shape of each gradient."""
    call_text = shown(X, t, params)
    grads = expect_gradient_dict(value, call_text)
    n, d, h = sizes(X, params)
    for key in KEYS:
        expect_shape(grads[key], want_shape(key, d, h), f"The gradient for {key} from {call_text}",
                     shape_hint(key, grads[key], n, d, h))
    return {key: np.asarray(grads[key], dtype=float) for key in KEYS}


def backprop_values(student, cases):
    """The checked gradient dicts backprop returns for each (X, t, params), each as if called alone."""
    answers = student.values("backprop", [Call("backprop", case).spec() for case in cases])
    return [expect_gradients(answer, *case) for answer, case in zip(answers, cases)]


# --- xor_network_weights -------------------------------------------------------------------------

XOR_NETWORK = Call("xor_network_weights")
CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def xor_parts(value):
    """The returned (W1, b1, W2, b2) as float arrays; a tuple or list of 4 numbers/arrays."""
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        count = f" of {len(value)} items" if isinstance(value, (tuple, list)) else ""
        raise CheckFailed("xor_network_weights() should return a tuple of 4, (W1, b1, W2, b2), "
                          f"but it returned {describe(value)}{count}.")
    parts = {}
    for index, (name, part) in enumerate(zip(KEYS, value)):
        array = None
        if isinstance(part, (np.ndarray, int, float, list, tuple)) and not isinstance(part, bool):
            try:
                array = np.asarray(part, dtype=float)
            except (TypeError, ValueError):
                pass
        if array is None:
            raise CheckFailed(f"{name} (item {index + 1} of the returned tuple) should be a NumPy array "
                              f"or a number, but it is {describe(part)}.")
        parts[name] = array
    return parts


XOR_SHAPES = {"W1": ((2, 3),), "b1": ((3,),), "W2": ((3,), (3, 1)), "b2": ((), (1,))}
XOR_HINTS = {"W1": {(3, 2): "It looks transposed: column j of W1 holds the two input weights of hidden unit j."},
             "b1": {(1, 3): "One bias per hidden unit, as a flat vector of shape (3,).",
                    (3, 1): "One bias per hidden unit, as a flat vector of shape (3,)."},
             "W2": {(1, 3): "One weight per hidden unit, as a flat vector of shape (3,)."}}


def xor_arrays(student):
    parts = xor_parts(XOR_NETWORK.run(student))
    for name, array in parts.items():
        if array.shape not in XOR_SHAPES[name]:
            allowed = " or ".join(str(s) for s in XOR_SHAPES[name])
            hint = XOR_HINTS.get(name, {}).get(array.shape, "")
            if name == "b2":
                allowed, hint = "() (a single number)", "The output unit has one bias: return a float."
            raise CheckFailed(f"{name} from xor_network_weights() has shape {array.shape}; expected {allowed}."
                              f"{' ' + hint if hint else ''}")
    return parts


@check("xor_network_weights", "runs", GATE)
def test_xor_network_runs(student):
    prop.runs(student, XOR_NETWORK)


@check("xor_network_weights", "is implemented", GATE)
def test_xor_network_is_implemented(student):
    prop.is_implemented(student, XOR_NETWORK)


@check("xor_network_weights", "returns a tuple of 4: (W1, b1, W2, b2)", GATE)
def test_xor_network_type(student):
    xor_parts(XOR_NETWORK.run(student))


@check("xor_network_weights", "returns W1 (2, 3), b1 (3,), W2 (3,) and a scalar b2", GATE)
def test_xor_network_shape(student):
    xor_arrays(student)


@check("xor_network_weights", "is finite", GATE)
def test_xor_network_finite(student):
    for name, array in xor_arrays(student).items():
        expect_finite(array, f"{name} from xor_network_weights()")


@check("xor_network_weights", "computes XOR: output > 0.9 on (0, 1) and (1, 0), < 0.1 on (0, 0) and (1, 1)", VALUE, 1.5)
def test_xor_network_behaviour(student):
    parts = xor_arrays(student)
    params = {"W1": parts["W1"], "b1": parts["b1"], "W2": parts["W2"].reshape(3, 1), "b2": parts["b2"].reshape(1)}
    hidden, y = ref.forward(CORNERS, params)
    wrong = []
    for (a, b), z, out in zip(CORNERS.astype(int), hidden, y[:, 0]):
        xor = bool(a ^ b)
        if (xor and not out > 0.9) or (not xor and not out < 0.1):
            units = ", ".join(f"{v:.3f}" for v in z)
            wrong.append(f"at ({a}, {b}) it is {out:.4f}, should be {'> 0.9' if xor else '< 0.1'} "
                         f"(hidden units give [{units}])")
    if wrong:
        near = any((out > 0.5) == bool(a ^ b) for (a, b), out in zip(CORNERS.astype(int), y[:, 0])
                   if not (out > 0.9 if a ^ b else out < 0.1))
        raise CheckFailed("With your weights the output y = σ(σ(X W1 + b1) W2 + b2) should be above 0.9 where "
                          f"x1 XOR x2 and below 0.1 elsewhere, but {'; '.join(wrong)}. Tabulate the hidden "
                          "outputs and the output pre-activation at each point."
                          + (" Where the output is on the right side of 0.5 but not past the margin, scale the "
                             "weights and biases up together: the units become sharper switches." if near else ""))


@check("xor_network_weights", "gives the same output twice", ROBUSTNESS, 0.25)
def test_xor_network_deterministic(student):
    prop.is_deterministic(student, XOR_NETWORK)


# --- backprop ------------------------------------------------------------------------------------

BACKPROP_ARGS = network(1, 7, 3, 4)  # N = 7, D = 3, H = 4: every transpose shows in a shape
BACKPROP = Call("backprop", BACKPROP_ARGS)
VALUE_CASES = ((11, 7, 3, 4), (12, 9, 5, 2), (13, 6, 2, 5))  # (seed, N, D, H), never square
NUMERIC_CASE = (21, 8, 4, 3)


def value_check(student, key):
    cases = [network(*case) for case in VALUE_CASES]
    for (X, t, params), got in zip(cases, backprop_values(student, cases)):
        want = ref.backprop(X, t, params)[key]
        expect_close(got[key], want, f"The gradient for {key}", mistakes_for(key, X, t, params),
                     inputs=dims(X, params))


def saturated_network():
    """Weights so large that hidden and output pre-activations reach |z| = 1000, with half the
    outputs saturated on the wrong side (y = 0 where t = 1, y = 1 where t = 0)."""
    r = np.random.default_rng(39)
    X = r.normal(size=(6, 3))
    W1 = r.normal(size=(3, 4))
    W1 *= 1000.0 / np.abs(X @ W1).max()  # hidden pre-activations from 15 to 1000 in size
    params = {"W1": W1, "b1": np.zeros(4), "W2": np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]]),
              "b2": np.zeros(1)}  # output pre-activations -1000, 0 and 1000
    y = ref.forward(X, params)[1]
    t = (y > 0.5).astype(float)
    t[::2] = 1.0 - t[::2]
    return X, t, params


@check("backprop", "runs", GATE)
def test_backprop_runs(student):
    prop.runs(student, BACKPROP)


@check("backprop", "is implemented", GATE)
def test_backprop_is_implemented(student):
    prop.is_implemented(student, BACKPROP)


@check("backprop", "returns a dict of the four gradients", GATE)
def test_backprop_type(student):
    expect_gradient_dict(BACKPROP.run(student), shown(*BACKPROP_ARGS))


@check("backprop", "gives each gradient the shape of its parameter", GATE)
def test_backprop_shape(student):
    expect_gradients(BACKPROP.run(student), *BACKPROP_ARGS)


@check("backprop", "is finite", GATE)
def test_backprop_finite(student):
    grads = expect_gradients(BACKPROP.run(student), *BACKPROP_ARGS)
    for key in ORDER:
        expect_finite(grads[key], f"The gradient for {key} from {shown(*BACKPROP_ARGS)}")


@check("backprop", "dL/dW2 matches the reference", VALUE)
def test_backprop_value_W2(student):
    value_check(student, "W2")


@check("backprop", "dL/db2 matches the reference", VALUE, 0.5)
def test_backprop_value_b2(student):
    value_check(student, "b2")


@check("backprop", "dL/dW1 matches the reference", VALUE)
def test_backprop_value_W1(student):
    value_check(student, "W1")


@check("backprop", "dL/db1 matches the reference", VALUE, 0.5)
def test_backprop_value_b1(student):
    value_check(student, "b1")


@check("backprop", "matches a numeric gradient for every parameter", VALUE)
def test_backprop_numeric(student):
    X, t, params = network(*NUMERIC_CASE)
    got = backprop_values(student, [(X, t, params)])[0]
    for key in ORDER:
        numeric = numeric_gradient(lambda value, key=key: ref.network_loss(X, t, {**params, key: value}), params[key])
        expect_close(got[key], numeric, f"The gradient for {key}", mistakes_for(key, X, t, params),
                     rtol=1e-5, atol=1e-7,
                     inputs=f"{dims(X, params)}, compared with central differences of the mean cross-entropy,")


@check("backprop", "stays finite when the units saturate (|z| = 1000)", ROBUSTNESS, 0.5)
def test_backprop_saturation(student):
    X, t, params = saturated_network()
    got = backprop_values(student, [(X, t, params)])[0]
    want = ref.backprop(X, t, params)
    for key in ORDER:
        expect_finite(got[key], f"The gradient for {key} with weights so large that |z| reaches 1000",
                      "(exp of a large number overflows: use the given logistic, take σ′ as Z ⊙ (1 − Z) from "
                      "the activations, and use δ2 = (y − t)/N rather than dividing by y(1 − y))")
    for key in ORDER:
        expect_close(got[key], want[key], f"The gradient for {key} with weights so large that |z| reaches 1000")


@check("backprop", "accepts integer arrays", ROBUSTNESS, 0.25)
def test_backprop_integers(student):
    r = np.random.default_rng(41)
    X, t = r.integers(-3, 4, size=(7, 3)), r.integers(0, 2, size=(7, 1))
    params = {"W1": r.integers(-2, 3, size=(3, 4)), "b1": r.integers(-2, 3, size=4),
              "W2": r.integers(-2, 3, size=(4, 1)), "b2": r.integers(-2, 3, size=1)}
    as_float = {k: v.astype(float) for k, v in params.items()}
    cases = {"integer X and t": (X, t, as_float),
             "integer arrays in params": (X.astype(float), t.astype(float), params)}
    answers = backprop_values(student, [(X.astype(float), t.astype(float), as_float), *cases.values()])
    want = answers[0]
    for what, got in zip(cases, answers[1:]):
        for key in ORDER:
            if not np.allclose(got[key], want[key], rtol=1e-9, atol=1e-12):
                raise CheckFailed(f"backprop gives a different gradient for {key} with {what} ({describe(got[key])}) "
                                  f"than for the same values as floats ({describe(want[key])}). Convert with "
                                  "np.asarray(a, dtype=float), and avoid integer division, in-place operations on "
                                  "the inputs, and np.zeros_like of an integer array.")


@check("backprop", "leaves X, t and params unchanged", ROBUSTNESS, 0.5)
def test_backprop_inputs(student):
    prop.leaves_inputs_unchanged(student, BACKPROP)
    params = BACKPROP_ARGS[2]
    answer = student.batch([BACKPROP.spec(return_args=True)])[0]
    student.value("backprop", answer)
    after = answer.get("args_after", [None] * 3)[2]
    if not isinstance(after, dict) or set(after) != set(params):
        keys = ", ".join(map(repr, after)) if isinstance(after, dict) else describe(after)
        raise CheckFailed(f"backprop changed the params dict it was given: its keys were 'W1', 'b1', 'W2', 'b2', "
                          f"afterwards they are {keys}. Build a new dict for the gradients; leave params alone.")
    for key in KEYS:
        if not np.array_equal(np.asarray(after[key]), params[key]):
            raise CheckFailed(f"backprop modified params[{key!r}] (it was {describe(params[key])}, it became "
                              f"{describe(np.asarray(after[key]))}). Work on a copy, or use operations that return "
                              "new arrays (a = a - b, not a -= b).")


@check("backprop", "gives the same output twice", ROBUSTNESS, 0.25)
def test_backprop_deterministic(student):
    answers = student.batch([BACKPROP.spec(), BACKPROP.spec()])  # both in one fork: state would show
    first, second = (expect_gradients(student.value("backprop", a), *BACKPROP_ARGS) for a in answers)
    for key in ORDER:
        if not np.array_equal(first[key], second[key]):
            gap = float(np.max(np.abs(first[key] - second[key])))
            raise CheckFailed(f"Calling {shown(*BACKPROP_ARGS)} twice with the same inputs gave different gradients "
                              f"for {key} ({describe(first[key])} then {describe(second[key])}, differing by up to "
                              f"{gap:.3g}). Do not keep state between calls or use randomness.")

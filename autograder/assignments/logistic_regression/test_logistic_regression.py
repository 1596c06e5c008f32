"""Hidden checks of logistic_regression: logistic, loss, gradient, delta_w, xor_feature_weights."""
import numpy as np

from autograder.checks.expect import CheckFailed, expect_close, expect_shape, scale_mistakes
from autograder.checks.suite import check
from autograder.scores.scoring import GATE, ROBUSTNESS, VALUE
from autograder.checks import properties as prop
from autograder.checks.properties import Call
from autograder.checks.numeric_gradient import numeric_gradient
from reference import logistic_regression as ref

# The graded names each item calls: its calls get stand-ins for them (a bug costs once).
USES = {"gradient": ("logistic",), "delta_w": ("gradient", "logistic")}

SEEDS = (11, 12, 13)


def data(seed, n=7):
    """x (n, 2), t (n, 1) of 0/1, w (1, 2): never square, never N = 1."""
    r = np.random.default_rng(seed)
    return r.normal(size=(1, 2)), r.normal(size=(n, 2)), r.integers(0, 2, size=(n, 1)).astype(float)


# --- logistic ------------------------------------------------------------------------------

Z = np.random.default_rng(1).normal(0, 3, size=(3, 4))
LOGISTIC = Call("logistic", (Z,))


@check("logistic", "runs", GATE)
def test_logistic_runs(student):
    prop.runs(student, LOGISTIC)


@check("logistic", "is implemented", GATE)
def test_logistic_is_implemented(student):
    prop.is_implemented(student, LOGISTIC)


@check("logistic", "returns an array", GATE)
def test_logistic_type(student):
    prop.returns_array(student, LOGISTIC)


@check("logistic", "keeps the shape of z", GATE)
def test_logistic_shape(student):
    prop.has_shape(student, LOGISTIC, Z.shape, "σ works elementwise: return one value per entry of z.")


@check("logistic", "is finite", GATE)
def test_logistic_finite(student):
    prop.is_finite(student, LOGISTIC)


@check("logistic", "matches σ(z) = 1 / (1 + exp(-z))", VALUE, 3)
def test_logistic_value(student):
    for seed in SEEDS:
        z = np.random.default_rng(seed).normal(0, 4, size=(2, 5))
        want = ref.logistic(z)
        expect_close(Call("logistic", (z,)).run(student), want, "logistic(z)", inputs=f"for z of shape {z.shape}",
                     mistakes={"the sign of z is flipped: σ(z) = 1 / (1 + exp(-z)), with a minus": ref.logistic(-z),
                               "this is exp(z), not σ(z)": np.exp(z)})


@check("logistic", "stays finite and exact at |z| = 1000", ROBUSTNESS)
def test_logistic_saturation(student):
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    logistic_at_saturation(student, z)


OVERFLOW_HINT = ("σ must not overflow for |z| as large as 1000: exp(1000) overflows, so for negative z "
                 "use exp(z) / (1 + exp(z)), or scipy.special.expit.")


def logistic_at_saturation(student, z):
    """logistic(z) for very large |z|, run with numpy overflow as an error."""
    try:
        got = Call("logistic", (z,), overflow_is_error=True).run(student)
    except CheckFailed as err:
        raise CheckFailed(f"{err} {OVERFLOW_HINT}") from None
    prop.expect_finite(got, f"logistic(z) for z = {z.ravel().tolist()}", OVERFLOW_HINT)
    expect_close(got, ref.logistic(z), f"logistic(z) for z = {z.ravel().tolist()}")


@check("logistic", "accepts integer arrays", ROBUSTNESS)
def test_logistic_integers(student):
    prop.accepts_integers(student, LOGISTIC, (np.arange(-6, 6).reshape(3, 4),))


@check("logistic", "leaves its input unchanged", ROBUSTNESS)
def test_logistic_inputs(student):
    prop.leaves_inputs_unchanged(student, LOGISTIC)


@check("logistic", "gives the same output twice", ROBUSTNESS)
def test_logistic_deterministic(student):
    prop.is_deterministic(student, LOGISTIC)


# --- loss ------------------------------------------------------------------------------------

def loss_data(seed, n=9):
    r = np.random.default_rng(seed)
    return r.uniform(0.05, 0.95, size=(n, 1)), r.integers(0, 2, size=(n, 1)).astype(float)


LOSS = Call("loss", loss_data(2))


def loss_mistakes(y, t):
    n = y.shape[0]
    want = ref.loss(y, t)
    only_positive = float(-np.mean(t * np.log(y)))
    return {**scale_mistakes(want, n),
            "the arguments are swapped: the signature is loss(y, t), predictions first": ref.loss(t, y),
            "the (1 - t) log(1 - y) term for the negative class is missing": only_positive}


@check("loss", "runs", GATE)
def test_loss_runs(student):
    prop.runs(student, LOSS)


@check("loss", "is implemented", GATE)
def test_loss_is_implemented(student):
    prop.is_implemented(student, LOSS)


@check("loss", "returns one number", GATE)
def test_loss_type(student):
    prop.returns_number(student, LOSS)


@check("loss", "is finite", GATE)
def test_loss_finite(student):
    prop.is_finite(student, LOSS)


@check("loss", "matches the mean binary cross-entropy", VALUE, 3)
def test_loss_value(student):
    for seed in SEEDS:
        y, t = loss_data(seed, n=5 + seed % 4)
        got = prop.returns_number(student, Call("loss", (y, t)))
        expect_close(got, ref.loss(y, t), "loss(y, t)", loss_mistakes(y, t), inputs=f"for N = {y.shape[0]}")


@check("loss", "stays finite and right when predictions are exactly 0 or 1", ROBUSTNESS)
def test_loss_saturation(student):
    one_and_zero = np.array([[1.0], [0.0]])
    prop.saturated_loss(student, Call("loss", (1.0 - one_and_zero, one_and_zero)),
                        Call("loss", (one_and_zero, one_and_zero)), "loss(y, t)", "y", LOSS_CLIP_HINT)


LOSS_CLIP_HINT = ("log(0) is -inf: clip y into [ε, 1 - ε] before taking logs (any small ε, e.g. 1e-12 or "
                  "np.finfo(float).eps), or compute the loss from z with np.logaddexp.")


@check("loss", "accepts integer arrays", ROBUSTNESS)
def test_loss_integers(student):
    y, t = LOSS.args
    prop.accepts_integers(student, LOSS, (y, t.astype(int)))


@check("loss", "leaves its inputs unchanged", ROBUSTNESS)
def test_loss_inputs(student):
    prop.leaves_inputs_unchanged(student, LOSS)


@check("loss", "gives the same output twice", ROBUSTNESS)
def test_loss_deterministic(student):
    prop.is_deterministic(student, LOSS)


# --- gradient ---------------------------------------------------------------------------------

GRADIENT = Call("gradient", data(3))


def gradient_mistakes(w, x, t):
    n = x.shape[0]
    want = ref.gradient(w, x, t)
    y = ref.nn(x, w)
    return {**scale_mistakes(want, n),
            "σ′(z) should not be there: with cross-entropy the σ′ = y(1 - y) factor cancels":
                ((y - t) * y * (1 - y)).T @ x / n,
            "the targets are ignored: the error is y - t": y.T @ x / n}




def own_logistic_gradient(student, w, x, t):
    """The gradient written in terms of the student's own logistic, when that logistic says
    something about its input (see prop.informative): a bug there costs once."""
    try:
        y = np.asarray(Call("logistic", (x @ w.T,)).run(student), dtype=float)
    except CheckFailed:
        return None
    return (y - t).T @ x / x.shape[0] if y.shape == t.shape and prop.informative([y]) else None


@check("gradient", "runs", GATE)
def test_gradient_runs(student):
    prop.runs(student, GRADIENT)


@check("gradient", "is implemented", GATE)
def test_gradient_is_implemented(student):
    prop.is_implemented(student, GRADIENT)


@check("gradient", "returns an array", GATE)
def test_gradient_type(student):
    prop.returns_array(student, GRADIENT)


@check("gradient", "has the shape of w, (1, 2)", GATE)
def test_gradient_shape(student):
    got = prop.returns_array(student, GRADIENT)
    hint = "It looks transposed: a gradient has the shape of w." if got.shape == (2, 1) else \
        "A gradient has the shape of the thing it is the gradient of: w is (1, 2)."
    expect_shape(got, (1, 2), f"The result of {GRADIENT.shown()}", hint)


@check("gradient", "is finite", GATE)
def test_gradient_finite(student):
    prop.is_finite(student, GRADIENT)


@check("gradient", "matches the reference", VALUE, 3)
def test_gradient_value(student):
    for seed in SEEDS:
        w, x, t = data(seed, n=6 + seed % 5)
        got = np.asarray(prop.returns_array(student, Call("gradient", (w, x, t))), dtype=float)
        own = own_logistic_gradient(student, w, x, t)
        if own is not None and got.shape == own.shape and np.allclose(got, own, rtol=1e-6, atol=1e-8):
            continue  # right formula on top of the student's own logistic: that bug costs there
        expect_close(got, ref.gradient(w, x, t), "gradient(w, x, t)", gradient_mistakes(w, x, t),
                     inputs=f"for N = {x.shape[0]}")


@check("gradient", "matches a numeric gradient", VALUE, 2)
def test_gradient_numeric(student):
    w, x, t = data(21, n=8)
    numeric = numeric_gradient(lambda w_: ref.loss(ref.nn(x, w_), t), w)
    got = prop.returns_array(student, Call("gradient", (w, x, t)))
    own = own_logistic_gradient(student, w, x, t)
    if own is not None and np.shape(got) == own.shape and np.allclose(got, own, rtol=1e-6, atol=1e-8):
        return
    own_loss = own_loss_numeric_gradient(student, w, x, t)
    note = (" It does match the numeric gradient of your own loss, so your loss has the same mistake."
            if own_loss is not None and np.allclose(got, own_loss, rtol=1e-5, atol=1e-7) else "")
    expect_close(got, numeric, "gradient(w, x, t)", gradient_mistakes(w, x, t), rtol=1e-5, atol=1e-7,
                 inputs="compared with central differences of the mean cross-entropy," + note)


def own_loss_numeric_gradient(student, w, x, t, eps=1e-6):
    """Central differences of the student's own loss at w, in one batch of calls."""
    specs = []
    for i in np.ndindex(w.shape):
        for sign in (1, -1):
            shifted = w.copy()
            shifted[i] += sign * eps
            specs.append(Call("loss", (ref.nn(x, shifted), t)).spec())
    try:
        values = [float(np.asarray(v).ravel()[0]) for v in student.values("loss", specs)]
    except (CheckFailed, IndexError, TypeError, ValueError):
        return None
    return np.array([(values[2 * k] - values[2 * k + 1]) / (2 * eps) for k in range(w.size)]).reshape(w.shape)


@check("gradient", "stays finite when σ saturates (|z| = 1000)", ROBUSTNESS)
def test_gradient_saturation(student):
    w, x, t = np.array([[500.0, -500.0]]), np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([[0.0], [1.0], [1.0]])
    got = Call("gradient", (w, x, t), overflow_is_error=True).run(student)
    prop.expect_finite(got, "gradient(w, x, t) with w x = ±1000", "(use a logistic that does not overflow)")
    expect_close(got, ref.gradient(w, x, t), "gradient(w, x, t) with w x = ±1000")


@check("gradient", "accepts integer arrays", ROBUSTNESS)
def test_gradient_integers(student):
    r = np.random.default_rng(4)
    w, x, t = r.integers(-2, 3, size=(1, 2)), r.integers(-3, 4, size=(7, 2)), r.integers(0, 2, size=(7, 1))
    prop.accepts_integers(student, GRADIENT, (w, x, t))


@check("gradient", "leaves its inputs unchanged", ROBUSTNESS)
def test_gradient_inputs(student):
    prop.leaves_inputs_unchanged(student, GRADIENT)


@check("gradient", "gives the same output twice", ROBUSTNESS)
def test_gradient_deterministic(student):
    prop.is_deterministic(student, GRADIENT)


# --- delta_w ---------------------------------------------------------------------------------

DELTA_W = Call("delta_w", (*data(5), 0.3))




@check("delta_w", "runs", GATE)
def test_delta_w_runs(student):
    prop.runs(student, DELTA_W)


@check("delta_w", "is implemented", GATE)
def test_delta_w_is_implemented(student):
    prop.is_implemented(student, DELTA_W)


@check("delta_w", "returns an array", GATE)
def test_delta_w_type(student):
    prop.returns_array(student, DELTA_W)


@check("delta_w", "has the shape of w, (1, 2)", GATE)
def test_delta_w_shape(student):
    prop.has_shape(student, DELTA_W, (1, 2))


@check("delta_w", "is finite", GATE)
def test_delta_w_finite(student):
    prop.is_finite(student, DELTA_W)


@check("delta_w", "is learning_rate times the gradient", VALUE, 3)
def test_delta_w_value(student):
    inputs = [(*data(seed, n=6 + seed % 3), rate) for seed, rate in zip(SEEDS, (0.1, 0.5, 2.0))]
    try:  # the student's own gradient, when it says something about its inputs
        own_gradients = [np.asarray(Call("gradient", (w, x, t)).run(student), dtype=float) for w, x, t, _ in inputs]
    except CheckFailed:
        own_gradients = None
    if own_gradients is not None and not prop.informative(own_gradients):
        own_gradients = None
    for index, (w, x, t, rate) in enumerate(inputs):
        got = np.asarray(prop.returns_array(student, Call("delta_w", (w, x, t, rate))), dtype=float)
        if own_gradients is not None:  # consistent with the student's own gradient: a gradient bug costs there
            own = rate * own_gradients[index]
            if own.shape == got.shape and np.allclose(got, own, rtol=1e-9, atol=1e-12):
                continue
        want = ref.delta_w(w, x, t, rate)
        expect_close(got, want, "delta_w(w, x, t, learning_rate)", inputs=f"for learning_rate = {rate}", mistakes={
            "the learning rate is missing: delta_w = learning_rate * gradient": want / rate,
            "the sign is flipped: delta_w is +learning_rate * gradient; the update subtracts it": -want,
            **scale_mistakes(want, x.shape[0])})


@check("delta_w", "accepts integer arrays", ROBUSTNESS)
def test_delta_w_integers(student):
    w, x, t, rate = DELTA_W.args
    ints = (np.round(w).astype(int), np.round(x).astype(int), t.astype(int))
    prop.accepts_integers(student, DELTA_W, (*ints, rate))


@check("delta_w", "leaves its inputs unchanged", ROBUSTNESS)
def test_delta_w_inputs(student):
    prop.leaves_inputs_unchanged(student, DELTA_W)


@check("delta_w", "gives the same output twice", ROBUSTNESS)
def test_delta_w_deterministic(student):
    prop.is_deterministic(student, DELTA_W)


# --- xor_feature_weights -----------------------------------------------------------------------

XOR_WEIGHTS = Call("xor_feature_weights")
CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


@check("xor_feature_weights", "runs", GATE)
def test_xor_weights_runs(student):
    prop.runs(student, XOR_WEIGHTS)


@check("xor_feature_weights", "is implemented", GATE)
def test_xor_weights_is_implemented(student):
    prop.is_implemented(student, XOR_WEIGHTS)


@check("xor_feature_weights", "returns 4 weights, shape (4,)", GATE)
def test_xor_weights_shape(student):
    prop.has_shape(student, XOR_WEIGHTS, (4,), "One weight per feature [1, x1, x2, x1*x2].")


@check("xor_feature_weights", "is finite", GATE)
def test_xor_weights_finite(student):
    prop.is_finite(student, XOR_WEIGHTS)


@check("xor_feature_weights", "classifies the four XOR cases", VALUE, 4)
def test_xor_weights_behaviour(student):
    weights = np.asarray(XOR_WEIGHTS.run(student), dtype=float)
    outputs = ref.logistic(ref.xor_features(CORNERS) @ weights)
    wrong = [f"({a}, {b}) -> {y:.3f}" for (a, b), y in zip(CORNERS, outputs) if (y > 0.5) != bool(a ^ b)]
    if wrong:
        raise CheckFailed("With your weights the unit's output should be > 0.5 exactly where x1 XOR x2, "
                          f"but it is wrong at {', '.join(wrong)}.")

"""Hidden checks of logistic_regression: logistic, loss, gradient, delta_w, xor_feature_weights.
Their mistake catalogue is mistakes.py."""
import numpy as np

from autograder.assignments.logistic_regression import mistakes
from autograder.checks.engine import checks, Call, Case, Item, Numeric, uses
from autograder.checks.expect import CheckFailed
from autograder.checks.properties import saturated_loss
from reference import logistic_regression as ref


def data(rng, n, learning_rate=None):
    """w (1, 2), x (n, 2), t (n, 1) of 0/1 (and a learning rate): never square, never N = 1."""
    w, x, t = rng.normal(size=(1, 2)), rng.normal(size=(n, 2)), rng.integers(0, 2, size=(n, 1)).astype(float)
    return {"w": w, "x": x, "t": t, **({} if learning_rate is None else {"learning_rate": learning_rate})}


OVERFLOW_HINT = ("σ must not overflow for |z| as large as 1000: exp(1000) overflows, so for negative z "
                 "use exp(z) / (1 + exp(z)), or scipy.special.expit.")
SATURATED_Z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])

LOGISTIC = Item(
    "logistic", args=("z",), draw=lambda rng, r, c: {"z": rng.normal(0, 4, size=(r, c))},
    dims=({"r": 3, "c": 4}, {"r": range(2, 8), "c": range(2, 8)}, {"r": range(2, 8), "c": range(2, 8)}),
    value="matches σ(z) = 1 / (1 + exp(-z))", inputs_text=lambda i: f"for z of shape {i['z'].shape}",
    mistakes=mistakes.logistic, shape_text="keeps the shape of z", shape_hint=mistakes.logistic_shape,
    cases=(Case("stays finite and exact at |z| = 1000", lambda rng: [{"z": SATURATED_Z}], overflow_is_error=True,
                note=f"for z = {SATURATED_Z.ravel().tolist()}", finite=OVERFLOW_HINT),),
    integers=lambda rng, i: {"z": np.arange(-6, 6).reshape(3, 4)}, unchanged="leaves its input unchanged")

LOSS_CLIP_HINT = ("log(0) is -inf: clip y into [ε, 1 - ε] before taking logs (any small ε, e.g. 1e-12 or "
                  "np.finfo(float).eps), or compute the loss from z with np.logaddexp.")


def loss_saturation(ctx):
    one_and_zero = np.array([[1.0], [0.0]])
    saturated_loss(ctx.student, ctx.call({"y": 1.0 - one_and_zero, "t": one_and_zero}),
                   ctx.call({"y": one_and_zero, "t": one_and_zero}), "loss(y, t)", "y", LOSS_CLIP_HINT)


LOSS = Item(
    "loss", args=("y", "t"), type_text="returns one number",
    draw=lambda rng, n: {"y": rng.uniform(0.05, 0.95, size=(n, 1)), "t": rng.integers(0, 2, size=(n, 1)).astype(float)},
    dims=({"n": 9}, {"n": range(5, 9)}, {"n": range(5, 9)}),
    value="matches the mean binary cross-entropy", mistakes=mistakes.loss,
    inputs_text=lambda i: f"for N = {i['y'].shape[0]}",
    cases=(Case("stays finite and right when predictions are exactly 0 or 1", body=loss_saturation),),
    integers=lambda rng, i: {**i, "t": i["t"].astype(int)})


def own_loss_note(ctx, i, got, eps=1e-6):
    """Says so when ``got`` is the numeric gradient of the student's own loss (which then shares the mistake)."""
    w, x, t = i["w"], i["x"], i["t"]
    shifted = [w + sign * eps * np.eye(w.size)[k].reshape(w.shape) for k in range(w.size) for sign in (1, -1)]
    try:
        values = [float(np.asarray(v).ravel()[0])
                  for v in ctx.student.values("loss", [Call("loss", (ref.nn(x, s), t)).spec() for s in shifted])]
        own = np.array([(values[2 * k] - values[2 * k + 1]) / (2 * eps) for k in range(w.size)]).reshape(w.shape)
        matches = np.allclose(np.asarray(got, dtype=float), own, rtol=1e-5, atol=1e-7)
    except (CheckFailed, IndexError, TypeError, ValueError):
        matches = False
    return "compared with central differences of the mean cross-entropy," + (
        " It does match the numeric gradient of your own loss, so your loss has the same mistake." if matches else "")


GRADIENT = Item(
    "gradient", args=("w", "x", "t"), draw=data, uses=("logistic",),
    dims=({"n": 7}, {"n": range(6, 11)}, {"n": range(6, 11)}),
    value="matches the reference", mistakes=mistakes.gradient, inputs_text=lambda i: f"for N = {i['x'].shape[0]}",
    shape_text="has the shape of w, (1, 2)",
    shape_hint=mistakes.gradient_shape,
    numeric=Numeric(lambda ref, i: ref.loss(ref.nn(i["x"], i["w"]), i["t"]), {None: "w"}, {"n": 8}, own_loss_note),
    cases=(Case("stays finite when σ saturates (|z| = 1000)", overflow_is_error=True, note="with w x = ±1000",
                finite="(use a logistic that does not overflow)",
                inputs=lambda rng: [{"w": np.array([[500.0, -500.0]]), "t": np.array([[0.0], [1.0], [1.0]]),
                                     "x": np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])}]),),
    integers=lambda rng, i: {"w": rng.integers(-2, 3, size=(1, 2)), "x": rng.integers(-3, 4, size=(7, 2)),
                             "t": rng.integers(0, 2, size=(7, 1))})


DELTA_W = Item(
    "delta_w", args=("w", "x", "t", "learning_rate"), draw=data, uses=("gradient", "logistic"),
    dims=({"n": 7, "learning_rate": 0.1}, *({"n": range(6, 9), "learning_rate": r} for r in (0.5, 2.0))),
    value="is learning_rate times the gradient", mistakes=mistakes.delta_w,
    inputs_text=lambda i: f"for learning_rate = {i['learning_rate']}", shape_text="has the shape of w, (1, 2)",
    integers=lambda rng, i: {k: np.round(v).astype(int) if isinstance(v, np.ndarray) else v for k, v in i.items()})

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def xor_behaviour(ctx):
    outputs = ref.logistic(ref.xor_features(CORNERS) @ np.asarray(ctx.run({}), dtype=float))
    wrong = [f"({a}, {b}) -> {y:.3f}" for (a, b), y in zip(CORNERS, outputs) if (y > 0.5) != bool(a ^ b)]
    if wrong:
        raise CheckFailed("With your weights the unit's output should be > 0.5 exactly where x1 XOR x2, "
                          f"but it is wrong at {', '.join(wrong)}.")


XOR_WEIGHTS = Item(
    "xor_feature_weights", type_text=False, shape_text="returns 4 weights, shape (4,)",
    shape_hint=mistakes.xor_weights_shape,
    cases=(Case("classifies the four XOR cases", kind="value", weight=4, body=xor_behaviour),), deterministic=None)

ITEMS = (LOGISTIC, LOSS, GRADIENT, DELTA_W, XOR_WEIGHTS)
USES = uses(ITEMS)
test_check = checks(ITEMS, ref)  # the hidden pytest checks, generated

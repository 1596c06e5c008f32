"""Hidden checks of hidden_layer: xor_network_weights and backprop. Their mistake catalogue is mistakes.py."""
import numpy as np

from autograder.assignments.hidden_layer import mistakes
from autograder.checks.engine import checks, Case, Item, Numeric, Value, uses
from autograder.checks.expect import CheckFailed
from autograder.scores.scoring import VALUE
from reference import hidden_layer as ref

KEYS = mistakes.KEYS
CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def xor_behaviour(ctx):
    W1, b1, W2, b2 = (np.asarray(part, dtype=float) for part in ctx.run({}))
    hidden, y = ref.forward(CORNERS, {"W1": W1, "b1": b1, "W2": W2.reshape(3, 1), "b2": b2.reshape(1)})
    wrong, near = [], False
    for (a, b), z, out in zip(CORNERS.astype(int), hidden, y[:, 0]):
        if not (out > 0.9 if a ^ b else out < 0.1):
            near = near or (out > 0.5) == bool(a ^ b)
            wrong.append(f"at ({a}, {b}) it is {out:.4f}, should be {'> 0.9' if a ^ b else '< 0.1'} "
                         f"(hidden units give [{', '.join(f'{v:.3f}' for v in z)}])")
    if wrong:
        raise CheckFailed("With your weights the output y = σ(σ(X W1 + b1) W2 + b2) should be above 0.9 where "
                          f"x1 XOR x2 and below 0.1 elsewhere, but {'; '.join(wrong)}. Tabulate the hidden "
                          "outputs and the output pre-activation at each point."
                          + (" Where the output is on the right side of 0.5 but not past the margin, scale the "
                             "weights and biases up together: the units become sharper switches." if near else ""))


XOR_NETWORK = Item(
    "xor_network_weights", type_text="returns a tuple of 4: (W1, b1, W2, b2)",
    shape_text="returns W1 (2, 3), b1 (3,), W2 (3,) and a scalar b2", shapes={(2,): ((3,), (3, 1)), (3,): ((), (1,))},
    shape_hint=mistakes.xor_network_shape,
    part_label=lambda path: KEYS[path[0]],
    result=lambda got, _: type(got)(np.asarray(p, float) if isinstance(p, (list, tuple)) else p for p in got)
    if isinstance(got, (list, tuple)) else got,  # parts given as lists count as arrays
    cases=(Case("computes XOR: output > 0.9 on (0, 1) and (1, 0), < 0.1 on (0, 0) and (1, 1)", kind=VALUE, weight=1.5,
                body=xor_behaviour),),
    weights={"gives the same output twice": 0.25})

# The output layer first: a mistake in δ2 = (y - t)/N reaches all four gradients, so it is named
# where it starts; a mistake in the hidden layer leaves W2 and b2 right.
ORDER = ("W2", "b2", "W1", "b1")


def network(rng, n, d, h):
    """X (n, d), t (n, 1) of 0/1 (both classes) and params W1 (d, h), b1 (h,), W2 (h, 1), b2 (1,)."""
    return {"X": rng.normal(size=(n, d)), "t": rng.permutation(np.arange(n) % 2).reshape(n, 1).astype(float),
            "params": {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h), "W2": rng.normal(0.0, 2.0, size=(h, 1)),
                       "b2": rng.normal(size=1)}}


def sizes(i):
    return "for N = {}, D = {}, H = {}".format(*np.shape(i["X"]), np.shape(i["params"]["b1"])[0])


def saturated_network(rng):
    """Weights so large that hidden and output pre-activations reach |z| = 1000, with half the
    outputs saturated on the wrong side (y = 0 where t = 1, y = 1 where t = 0)."""
    r = np.random.default_rng(39)
    X, W1 = r.normal(size=(6, 3)), r.normal(size=(3, 4))
    W1 *= 1000.0 / np.abs(X @ W1).max()  # hidden pre-activations from 15 to 1000 in size
    params = {"W1": W1, "b1": np.zeros(4), "W2": np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]]),
              "b2": np.zeros(1)}  # output pre-activations -1000, 0 and 1000
    t = (ref.forward(X, params)[1] > 0.5).astype(float)
    t[::2] = 1.0 - t[::2]
    return [{"X": X, "t": t, "params": params}]


def integer_inputs(rng, i):
    X, t = rng.integers(-3, 4, size=(7, 3)), rng.integers(0, 2, size=(7, 1))
    params = {"W1": rng.integers(-2, 3, size=(3, 4)), "b1": rng.integers(-2, 3, size=4),
              "W2": rng.integers(-2, 3, size=(4, 1)), "b2": rng.integers(-2, 3, size=1)}
    return [("integer X and t", {"X": X, "t": t, "params": {k: v.astype(float) for k, v in params.items()}}),
            ("integer arrays in params", {"X": X.astype(float), "t": t.astype(float), "params": params})]


SIZES = {"n": range(5, 12), "d": range(2, 7), "h": range(2, 7)}
BACKPROP = Item(
    "backprop", args=("X", "t", "params"), draw=network, order=ORDER, noun="gradients",
    dims=({"n": 7, "d": 3, "h": 4}, SIZES, SIZES),  # the typical N = 7, D = 3, H = 4: every transpose shows
    type_text="returns a dict of the four gradients", shape_text="gives each gradient the shape of its parameter",
    shape_hint=mistakes.backprop_shape, part_label=lambda path: f"The gradient for {path[0]}", mistakes=mistakes.backprop,
    inputs_text=sizes,
    value=tuple(Value(f"dL/d{k} matches the reference", w, (k,)) for k, w in zip(ORDER, (1.0, 0.5, 1.0, 0.5))),
    numeric=Numeric(lambda ref, i: ref.network_loss(i["X"], i["t"], i["params"]), {k: f"params.{k}" for k in ORDER},
                    {"n": 8, "d": 4, "h": 3}, lambda ctx, i, got: f"{sizes(i)}, compared with central differences of "
                    "the mean cross-entropy,", "matches a numeric gradient for every parameter", 1.0),
    cases=(Case("stays finite when the units saturate (|z| = 1000)", saturated_network, weight=0.5,
                note="with weights so large that |z| reaches 1000",
                finite="(exp of a large number overflows: use the given logistic, take σ′ as Z ⊙ (1 − Z) from the "
                       "activations, and use δ2 = (y − t)/N rather than dividing by y(1 − y))"),),
    integers=integer_inputs, unchanged="leaves X, t and params unchanged",
    weights={"accepts integer arrays": 0.25, "leaves X, t and params unchanged": 0.5,
             "gives the same output twice": 0.25})

ITEMS = (XOR_NETWORK, BACKPROP)
USES = uses(ITEMS)
test_check = checks(ITEMS, ref)  # the hidden pytest checks, generated

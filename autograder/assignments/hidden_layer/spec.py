"""Hidden checks of hidden_layer: xor_network_weights and backprop."""
import numpy as np

from autograder.checks.engine import checks, Case, Item, Numeric, Value, scale, uses
from autograder.checks.expect import CheckFailed, Mistake
from autograder.scores.scoring import VALUE
from reference import hidden_layer as ref
from reference.logistic_regression import logistic

KEYS = ("W1", "b1", "W2", "b2")
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


XOR_HINTS = {"W1": {(3, 2): Mistake("W1-transposed", "It looks transposed: column j of W1 holds the two input "
                                    "weights of hidden unit j.")},
             "b1": dict.fromkeys([(1, 3), (3, 1)], Mistake("b1-not-flat", "One bias per hidden unit, as a flat "
                                                           "vector of shape (3,).")),
             "W2": {(1, 3): Mistake("W2-not-flat", "One weight per hidden unit, as a flat vector of shape (3,).")},
             "b2": {}}

XOR_NETWORK = Item(
    "xor_network_weights", type_text="returns a tuple of 4: (W1, b1, W2, b2)",
    shape_text="returns W1 (2, 3), b1 (3,), W2 (3,) and a scalar b2", shapes={(2,): ((3,), (3, 1)), (3,): ((), (1,))},
    shape_hint=lambda got, want, path, i: XOR_HINTS[KEYS[path[0]]].get(got, "The output unit has one bias: return a "
                                                                             "float." if path == (3,) else ""),
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


def wrong_gradients(ref, i, want):
    """A common mistake -> the four gradients it gives, in the order they are tried."""
    X, t = np.asarray(i["X"], dtype=float), np.asarray(i["t"], dtype=float)
    W1, b1, W2, b2 = (np.asarray(i["params"][k], dtype=float) for k in KEYS)
    S = X @ W1 + b1
    Z = logistic(S)
    y = logistic(Z @ W2 + b2)
    n = X.shape[0]
    d2, slope = (y - t) / n, Z * (1.0 - Z)
    up = d2 @ W2.T

    def grads(d2, d1, bias=1.0):
        return {"W1": X.T @ d1, "b1": d1.sum(axis=0) * bias, "W2": Z.T @ d2, "b2": d2.sum(axis=0) * bias}
    d2_slope, d2_no_t = d2 * y * (1.0 - y), y / n
    return {
        Mistake("extra-output-sigma-prime",
                "σ′ = y(1 − y) is kept at the output: with the cross-entropy it cancels, so δ2 = (y − t)/N"):
            grads(d2_slope, (d2_slope @ W2.T) * slope),
        Mistake("ignores-targets", "the targets are ignored: δ2 = (y − t)/N is prediction minus target"):
            grads(d2_no_t, (d2_no_t @ W2.T) * slope),
        Mistake("bias-missing-mean", "the bias gradients miss the 1/N: sum δ over the examples, with "
                "δ2 = (y − t)/N already carrying the 1/N"): grads(d2, up * slope, n),
        Mistake("bias-mean-not-sum", "the bias gradients are means, not sums: δ already carries the 1/N, so use "
                "δ.sum(axis=0), not δ.mean(axis=0)"): grads(d2, up * slope, 1.0 / n),
        Mistake("missing-hidden-sigma-prime", "σ′ is missing in the hidden layer: going back through σ multiplies "
                "by Z ⊙ (1 − Z), δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z)"): grads(d2, up),
        Mistake("sigma-prime-of-pre-activation", "σ′ is applied to the wrong variable: the slope is Z ⊙ (1 − Z) "
                "with Z = σ(S) the hidden activation, not S ⊙ (1 − S) with the pre-activation S"):
            grads(d2, up * S * (1.0 - S)),
        Mistake("sigma-twice", "σ is applied twice: Z is already σ(S), so the slope is Z ⊙ (1 − Z), "
                "not σ(Z) ⊙ (1 − σ(Z))"): grads(d2, up * logistic(Z) * (1.0 - logistic(Z))),
        Mistake("missing-W2", "W2 is left out when going back to the hidden layer: δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z)"):
            grads(d2, d2 * slope),
        Mistake("ignores-upstream", "the upstream gradient is ignored: δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z), "
                "not Z ⊙ (1 − Z) alone"): grads(d2, slope),
        Mistake("ignores-upstream-mean", "the upstream gradient is ignored: δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z), "
                "not Z ⊙ (1 − Z) / N"): grads(d2, slope / n),
        Mistake("hidden-missing-mean", f"the hidden layer misses the 1/N (your result is {n} times too large): "
                "build δ1 from δ2 = (y − t)/N, which already carries it", "the hidden layer misses the 1/N"):
            grads(d2, up * slope * n),
        Mistake("hidden-mean-twice", f"the 1/N is applied twice in the hidden layer (your result is {n} times too "
                "small): δ2 = (y − t)/N already carries it, so δ1 needs no second division",
                "the hidden layer divides by N twice"): grads(d2, up * slope / n),
        **scale(want, n)}


def shape_hint(got, want, path, i):
    """What a wrong shape of the gradient of ``path[0]`` most likely means."""
    n, d, h = *np.shape(i["X"]), np.shape(i["params"]["b1"])[0]
    return {"W1": {(h, d): Mistake("W1-transposed", "It looks transposed: dL/dW1 = Xᵀ δ1 is (D, H), like W1."),
                   (n, h): Mistake("W1-per-example",
                                   "This is the shape of δ1 itself: dL/dW1 = Xᵀ δ1 sums over the examples."),
                   (n, d): Mistake("W1-shape-of-X", "This is the shape of X: dL/dW1 = Xᵀ δ1.")},
            "b1": {(n, h): Mistake("b1-per-example", "The bias gradient is kept per example: sum δ1 over the "
                                   "examples, δ1.sum(axis=0)."),
                   (n,): Mistake("b1-wrong-axis", "It is summed over the wrong axis: sum δ1 over the examples "
                                 "(axis=0), not over the hidden units."),
                   (): Mistake("b1-both-axes", "It is summed over both axes: sum δ1 over the examples only, "
                               "δ1.sum(axis=0)."),
                   **dict.fromkeys([(1, h), (h, 1)], Mistake("b1-not-flat", "Sum over axis 0 without keepdims (or "
                                                             "reshape): b1 has shape (H,)."))},
            "W2": {(1, h): Mistake("W2-transposed", "It looks transposed: dL/dW2 = Zᵀ δ2 is (H, 1), like W2."),
                   (h,): Mistake("W2-flat", "Keep it a column: dL/dW2 = Zᵀ δ2 has shape (H, 1), like W2."),
                   (n, h): Mistake("W2-per-example",
                                   "This is the shape of Z: dL/dW2 = Zᵀ δ2 sums over the examples.")},
            "b2": {**dict.fromkeys([(n, 1), (n,), (1, n)], Mistake("b2-per-example", "The bias gradient is kept "
                                   "per example: sum δ2 over the examples, δ2.sum(axis=0).")),
                   (): Mistake("b2-scalar", "It is a single number, but b2 has shape (1,): use δ2.sum(axis=0), "
                               "not δ2.sum()."),
                   (1, 1): Mistake("b2-not-flat", "Sum without keepdims (or reshape): b2 has shape (1,).")},
            }[path[0]].get(got, f"A gradient has the shape of the parameter it belongs to: {path[0]} is {want}.")


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
    shape_hint=shape_hint, part_label=lambda path: f"The gradient for {path[0]}", mistakes=wrong_gradients,
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

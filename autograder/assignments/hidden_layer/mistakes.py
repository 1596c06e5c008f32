"""The mistake catalogue of hidden_layer: per graded item, the wrong answers a common mistake
gives, ``item(ref, inputs, want) -> {Mistake: wrong answer}``, and the shapes that show one
(shape hints). The spec (spec.py) names them; a student's answer equal to one is told it."""
import numpy as np

from autograder.checks.engine import scale
from autograder.checks.expect import Mistake
from reference.logistic_regression import logistic

KEYS = ("W1", "b1", "W2", "b2")

XOR_HINTS = {"W1": {(3, 2): Mistake("W1-transposed", "It looks transposed: column j of W1 holds the two input "
                                    "weights of hidden unit j.")},
             "b1": dict.fromkeys([(1, 3), (3, 1)], Mistake("b1-not-flat", "One bias per hidden unit, as a flat "
                                                           "vector of shape (3,).")),
             "W2": {(1, 3): Mistake("W2-not-flat", "One weight per hidden unit, as a flat vector of shape (3,).")},
             "b2": {}}


def xor_network_shape(got, want, path, i):
    return XOR_HINTS[KEYS[path[0]]].get(got, "The output unit has one bias: return a float." if path == (3,) else "")


def backprop(ref, i, want):
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


def backprop_shape(got, want, path, i):
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

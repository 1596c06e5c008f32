"""The mistake catalogue of logistic_regression: per graded item, the wrong answers a common
mistake gives, ``item(ref, inputs, want) -> {Mistake: wrong answer}``, and the shapes that show
one (shape hints). The spec (spec.py) names them; a student's answer equal to one is told it."""
import numpy as np

from autograder.checks.engine import scale
from autograder.checks.expect import Mistake


def logistic(ref, i, want):
    return {Mistake("sign-of-z", "the sign of z is flipped: σ(z) = 1 / (1 + exp(-z)), with a minus"):
            ref.logistic(-i["z"]),
            Mistake("exp-not-sigma", "this is exp(z), not σ(z)"): np.exp(i["z"])}


def loss(ref, i, want):
    y, t = i["y"], i["t"]
    return {**scale(want, y.shape[0]),
            Mistake("swapped-arguments", "the arguments are swapped: the signature is loss(y, t), predictions first"):
                ref.loss(t, y),
            Mistake("missing-negative-class", "the (1 - t) log(1 - y) term for the negative class is missing"):
                float(-np.mean(t * np.log(y)))}


def gradient(ref, i, want):
    w, x, t = i["w"], i["x"], i["t"]
    y, n = ref.nn(x, w), x.shape[0]
    return {**scale(want, n),
            Mistake("extra-sigma-prime",
                    "σ′(z) should not be there: with cross-entropy the σ′ = y(1 - y) factor cancels"):
                ((y - t) * y * (1 - y)).T @ x / n,
            Mistake("ignores-targets", "the targets are ignored: the error is y - t"): y.T @ x / n}


def delta_w(ref, i, want):
    return {Mistake("missing-learning-rate", "the learning rate is missing: delta_w = learning_rate * gradient"):
            want / i["learning_rate"],
            Mistake("update-sign",
                    "the sign is flipped: delta_w is +learning_rate * gradient; the update subtracts it"): -want,
            **scale(want, i["x"].shape[0])}


def logistic_shape(*_):
    return Mistake("not-elementwise", "σ works elementwise: return one value per entry of z.")


def gradient_shape(got, *_):
    if got == (2, 1):
        return Mistake("transposed", "It looks transposed: a gradient has the shape of w.")
    return "A gradient has the shape of the thing it is the gradient of: w is (1, 2)."


def xor_weights_shape(*_):
    return Mistake("not-four-weights", "One weight per feature [1, x1, x2, x1*x2].")

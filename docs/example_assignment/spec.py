"""The hidden checks of the example assignment relu_layer, as data (docs/authoring.md)."""
import numpy as np

from autograder.checks.engine import Case, Item, Numeric, checks, uses
from autograder.checks.expect import Mistake
from reference import relu_layer as ref


def z_and_grad(rng, n, m):
    """z (n, m) away from the kink at 0 (a numeric gradient is exact there), grad_out (n, m)."""
    z = rng.normal(size=(n, m))
    return {"z": z + np.sign(z) * 0.1, "grad_out": rng.normal(size=(n, m))}


RELU = Item(
    "relu", args=("z",), draw=lambda rng, n, m: {"z": rng.normal(size=(n, m))},
    dims=({"n": 3, "m": 4}, {"n": range(2, 7), "m": range(2, 7)}),
    value="matches max(z, 0)", shape_text="keeps the shape of z",
    mistakes=lambda ref, i, want: {
        Mistake("min-not-max", "this is min(z, 0): keep the positive entries"): np.minimum(i["z"], 0.0),
        Mistake("absolute-value", "this is |z|: negative entries become 0, not positive"): np.abs(i["z"])},
    cases=(Case("is 0 for every negative z", lambda rng: [{"z": -rng.uniform(0.1, 5, size=(2, 3))}]),),
    integers=lambda rng, i: {"z": rng.integers(-3, 4, size=(3, 4))}, unchanged="leaves its input unchanged")

RELU_BACKWARD = Item(
    "relu_backward", args=("z", "grad_out"), draw=z_and_grad,
    dims=({"n": 3, "m": 4}, {"n": range(2, 7), "m": range(2, 7)}),
    value="passes grad_out where z > 0 and 0 elsewhere", shape_text="has the shape of z",
    mistakes=lambda ref, i, want: {
        Mistake("reversed-mask", "the mask is reversed: the gradient flows where z > 0"): i["grad_out"] * (i["z"] <= 0),
        Mistake("missing-grad-out", "grad_out is missing: multiply the mask by the upstream gradient"):
            (i["z"] > 0) * 1.0},
    numeric=Numeric(lambda ref, i: float(np.sum(i["grad_out"] * ref.relu(i["z"]))), {None: "z"}, {"n": 3, "m": 5}),
    integers=lambda rng, i: {"z": rng.integers(-3, 4, size=(3, 4)) + 0, "grad_out": rng.integers(-2, 3, size=(3, 4))})

ITEMS = (RELU, RELU_BACKWARD)
USES = uses(ITEMS)
test_check = checks(ITEMS, ref)  # the hidden pytest checks, generated

"""Properties every graded name is checked for, in the order the hidden suite uses.

Each takes the ``student`` handle and a ``Call`` (a typical call of the graded name) and
raises CheckFailed with a sentence for the student when the property does not hold. The spec
engine (autograder/checks/engine.py) uses ``Call``, ``saturated_loss`` and ``informative``; the
others serve the hand-written checks (digits_mlp) until they are generated too.
"""
from dataclasses import dataclass, field

import numpy as np

from autograder.checks.expect import CheckFailed, NotImplementedYet, describe, expect_array, expect_finite
from autograder.checks.client import call_spec


@dataclass(frozen=True)
class Call:
    """A call of a graded name: ``target(*args)``, on an object built with ``init``/``attributes``."""

    target: str
    args: tuple = ()
    init: tuple = ()
    attributes: dict = field(default_factory=dict)
    overflow_is_error: bool = False

    def spec(self, args=None, return_args=False):
        return call_spec(self.target, self.args if args is None else args, self.init, self.attributes, return_args,
                         overflow_is_error=self.overflow_is_error)

    def run(self, student, args=None):
        return student.value(self.target, student.batch([self.spec(args)])[0])

    def shown(self):
        """'gradient(w (1, 2), x (7, 2), t (7, 1))' for messages."""
        parts = [f"{np.shape(a)}" if isinstance(a, np.ndarray) else repr(a) for a in self.args]
        return f"{self.target}({', '.join(parts)})"


def runs(student, call):
    """Defined and callable; a stub's NotImplementedError still counts as running."""
    try:
        call.run(student)
    except NotImplementedYet:
        pass


def is_implemented(student, call):
    call.run(student)


def returns_array(student, call, what=None):
    return expect_array(call.run(student), what or f"The result of {call.shown()}")


def returns_number(student, call):
    value = call.run(student)
    array = expect_array(value, f"The result of {call.shown()}")
    if array.size != 1:
        raise CheckFailed(f"{call.shown()} should return one number, but it returned {describe(array)}.")
    return float(array.ravel()[0])


def is_finite(student, call, when=""):
    value = call.run(student)
    parts = value if isinstance(value, (tuple, list)) else [value]
    for part in parts:
        expect_finite(part, f"The result of {call.shown()}", when)


def as_float_list(value):
    """The arrays of a result: itself, the items of a tuple or list, or a dict's values by key."""
    if isinstance(value, dict):
        value = [value[key] for key in sorted(value)]
    parts = value if isinstance(value, (tuple, list)) else [value]
    return [np.asarray(p, dtype=float) for p in parts]


def accepts_integers(student, call, int_args):
    """Integer input arrays give the same result as the same values as floats."""
    float_args = tuple(np.asarray(a, dtype=float) if isinstance(a, np.ndarray) else a for a in int_args)
    got, want = student.answers([call.spec(int_args), call.spec(float_args)])
    got, want = student.value(call.target, got), student.value(call.target, want)
    for g, w in zip(as_float_list(got), as_float_list(want)):
        if g.shape != w.shape or not np.allclose(g, w, rtol=1e-9, atol=1e-12):
            raise CheckFailed(f"{call.target} gives a different result for integer inputs ({describe(g)}) than "
                              f"for the same values as floats ({describe(w)}). Convert with np.asarray(x, dtype=float), "
                              "and avoid integer division or in-place operations on the inputs.")


def leaves_inputs_unchanged(student, call):
    answer = student.batch([call.spec(return_args=True)])[0]
    student.value(call.target, answer)
    for index, (before, after) in enumerate(zip(call.args, answer.get("args_after", []))):
        if isinstance(before, np.ndarray) and not np.array_equal(np.asarray(after), before):
            raise CheckFailed(f"{call.target} modified its argument number {index + 1} in place "
                              f"(it was {describe(before)}, it became {describe(np.asarray(after))}). "
                              "Work on a copy, or use operations that return new arrays (a = a - b, not a -= b).")


def is_deterministic(student, call):
    first, second = student.batch([call.spec(), call.spec()])
    first, second = student.value(call.target, first), student.value(call.target, second)
    for a, b in zip(as_float_list(first), as_float_list(second)):
        if a.shape != b.shape or not np.array_equal(a, b):
            raise CheckFailed(f"Calling {call.shown()} twice with the same inputs gave different results "
                              f"({describe(a)} then {describe(b)}). Do not keep state between calls or use randomness.")


# A loss is "large" where a prediction is certainly wrong when it is at least what a predicted
# probability of e^-10 (4.5e-5) for the right answer gives, and "near 0" where every prediction
# is certainly right: any clip into [ε, 1 - ε] with ε below 4.5e-5 passes (Keras' 1e-7,
# scikit-learn's 1e-15, machine epsilon, tiny), and so does a log-sum-exp form.
CERTAINLY_WRONG_LOSS = 10.0
CERTAINLY_RIGHT_LOSS = 1e-5


def saturated_loss(student, certainly_wrong, certainly_right, what, prediction, hint):
    """A loss at predictions of exactly 0 and 1 (the calls ``certainly_wrong``, where every
    prediction is certainly wrong, and ``certainly_right``) is finite, large, and near 0."""
    wrong, right = (returns_number(student, call) for call in (certainly_wrong, certainly_right))
    if not np.isfinite(wrong) or wrong < CERTAINLY_WRONG_LOSS:
        raise CheckFailed(f"{what} is {wrong:.6g} when every {prediction} is certainly wrong (probability 0 for the "
                          f"right answer); it should be finite and large, at least {CERTAINLY_WRONG_LOSS:g}. {hint}")
    if not np.isfinite(right) or not 0.0 <= right <= CERTAINLY_RIGHT_LOSS:
        raise CheckFailed(f"{what} is {right:.6g} when every {prediction} is certainly right (probability 1 for the "
                          f"right answer); it should be 0, or nearly (at most {CERTAINLY_RIGHT_LOSS:g}). {hint}")


def informative(values):
    """Whether answers of a dependency say something about their inputs: they are not all the
    same for different inputs, and not each a constant (zeros, a fixed number). Only then is
    an item "right on top of the student's own dependency" a way to pass."""
    try:
        arrays = [np.concatenate([a.ravel() for a in as_float_list(v)]) for v in values]
    except (TypeError, ValueError):
        return False
    if not arrays or any(a.size == 0 for a in arrays):
        return False
    if len(arrays) > 1 and all(a.shape == arrays[0].shape and np.array_equal(a, arrays[0]) for a in arrays[1:]):
        return False
    return not all(a.size > 1 for a in arrays) or any(np.ptp(a) > 0 for a in arrays)

"""What the spec engine (autograder/checks/engine.py) and the specs share besides it: ``Call``,
a call of a graded name, and ``saturated_loss``, a loss at predictions of exactly 0 and 1."""
from dataclasses import dataclass, field

import numpy as np

from autograder.checks.expect import CheckFailed, describe, expect_array
from autograder.checks.client import call_spec


@dataclass(frozen=True)
class Call:
    """A call of a graded name: ``target(*args)``, on an object built with ``init``/``attributes``;
    ``objects`` and ``read`` are call_spec's ``arg_objects`` and ``return_attributes``."""

    target: str
    args: tuple = ()
    init: tuple = ()
    attributes: dict = field(default_factory=dict)
    overflow_is_error: bool = False
    objects: dict = field(default_factory=dict)
    read: dict = field(default_factory=dict)

    def spec(self, return_args=False):
        return call_spec(self.target, self.args, self.init, self.attributes, return_args, self.objects, self.read,
                         overflow_is_error=self.overflow_is_error)

    def shown(self):
        """'gradient(w (1, 2), x (7, 2), t (7, 1))' for messages."""
        parts = [f"{np.shape(a)}" if isinstance(a, np.ndarray) else repr(a) for a in self.args]
        return f"{self.target}({', '.join(parts)})"


def number(value, call):
    array = expect_array(value, f"The result of {call.shown()}")
    if array.size != 1:
        raise CheckFailed(f"{call.shown()} should return one number, but it returned {describe(array)}.")
    return float(array.ravel()[0])


# A loss is "large" where a prediction is certainly wrong when it is at least what a predicted
# probability of e^-10 (4.5e-5) for the right answer gives, and "near 0" where every prediction
# is certainly right: any clip into [ε, 1 - ε] with ε below 4.5e-5 passes (Keras' 1e-7,
# scikit-learn's 1e-15, machine epsilon, tiny), and so does a log-sum-exp form.
CERTAINLY_WRONG_LOSS = 10.0
CERTAINLY_RIGHT_LOSS = 1e-5


def saturated_loss(student, certainly_wrong, certainly_right, what, prediction, hint):
    """A loss at predictions of exactly 0 and 1 (the calls ``certainly_wrong``, where every
    prediction is certainly wrong, and ``certainly_right``) is finite, large, and near 0."""
    calls = (certainly_wrong, certainly_right)
    answers = student.answers([call.spec() for call in calls])  # both asked at once (the call plan reads them)
    wrong, right = (number(student.value(call.target, answer), call) for call, answer in zip(calls, answers))
    if not np.isfinite(wrong) or wrong < CERTAINLY_WRONG_LOSS:
        raise CheckFailed(f"{what} is {wrong:.6g} when every {prediction} is certainly wrong (probability 0 for the "
                          f"right answer); it should be finite and large, at least {CERTAINLY_WRONG_LOSS:g}. {hint}")
    if not np.isfinite(right) or not 0.0 <= right <= CERTAINLY_RIGHT_LOSS:
        raise CheckFailed(f"{what} is {right:.6g} when every {prediction} is certainly right (probability 1 for the "
                          f"right answer); it should be 0, or nearly (at most {CERTAINLY_RIGHT_LOSS:g}). {hint}")

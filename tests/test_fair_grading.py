"""The scoring policy of docs/scoring.md, graded in the real sandbox.

- correct losses with any clip that keeps them finite get full marks;
- a failed robustness check costs only itself;
- answers that are constant or unrelated to the inputs score 0, for every assignment;
- a dependency that is a stub, crashes, returns None, is deleted, returns something too big
  or is simply wrong never costs the item that calls it;
- IPython magics and shell escapes cost nothing.
"""
import re

import pytest

from autograder.scores import scoring
from autograder.course import ASSIGNMENTS
from submissions import cell_source, code, grade, release_submission, report, submission

ITEMS = {a: {g.name: float(g.points) for g in graded} for a, graded in ASSIGNMENTS.items()}


def full_marks_but(result, item, expected_item_score):
    scores = result.item_scores()
    want = {name: points for name, points in ITEMS[result.assignment].items()}
    want[item] = expected_item_score
    assert scores == pytest.approx(want, abs=1e-4), report(result)


# --- the policy's arithmetic ---------------------------------------------------------------------

def test_gates_are_worth_nothing_values_carry_70_percent_and_robustness_the_rest():
    kinds = [(scoring.GATE, 1.0), (scoring.VALUE, 3.0), (scoring.VALUE, 2.0), (scoring.ROBUSTNESS, 1.0),
             (scoring.ROBUSTNESS, 1.0)]
    assert scoring.points(kinds, 3.0) == pytest.approx([0.0, 1.26, 0.84, 0.45, 0.45])
    assert scoring.points([(scoring.GATE, 1.0), (scoring.VALUE, 4.0)], 2.0) == pytest.approx([0.0, 2.0])


def test_a_failed_gate_stops_everything_a_failed_value_only_the_robustness_checks():
    failed_gate = [(scoring.GATE, "is implemented")]
    failed_value = [(scoring.VALUE, "matches the reference")]
    assert "fix 'is implemented'" in scoring.not_checked_because(scoring.VALUE, failed_gate)
    assert scoring.not_checked_because(scoring.VALUE, failed_value) is None
    assert "once 'matches the reference' passes" in scoring.not_checked_because(scoring.ROBUSTNESS, failed_value)
    assert scoring.not_checked_because(scoring.ROBUSTNESS, [(scoring.ROBUSTNESS, "accepts integer arrays")]) is None


# --- judge properties, not one implementation's constants ---------------------------------------

LOSS_STYLES = {
    "clip-1e-7": "y = np.clip(y, 1e-7, 1 - 1e-7)\n    return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))",
    "clip-1e-12": "y = np.clip(y, 1e-12, 1 - 1e-12)\n    return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))",
    "clip-1e-15": "y = np.clip(y, 1e-15, 1 - 1e-15)\n    return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))",
    "clip-eps": "e = np.finfo(float).eps\n    y = np.clip(y, e, 1 - e)\n"
                "    return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))",
    "clip-tiny": "e = np.finfo(float).tiny\n    return float(-np.mean(t * np.log(np.clip(y, e, 1)) + "
                 "(1 - t) * np.log(np.clip(1 - y, e, 1))))",
    "logaddexp": "z = np.log(np.clip(y, 1e-300, 1)) - np.log(np.clip(1 - y, 1e-300, 1))  # the logit\n"
                 "    return float(np.mean(t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)))",
}


@pytest.mark.parametrize("style", LOSS_STYLES)
def test_a_loss_with_any_clip_that_keeps_it_finite_gets_full_marks(tmp_path, style):
    body = LOSS_STYLES[style]
    loss = f"def loss(y, t):\n    y = np.asarray(y, dtype=float)\n    t = np.asarray(t, dtype=float)\n    {body}\n"
    result = grade(submission(tmp_path, "logistic_regression", {"loss-solution": loss}))
    full_marks_but(result, "loss", 2.0)


def test_a_loss_that_is_not_clipped_loses_only_its_saturation_check(tmp_path):
    loss = code("""
        def loss(y, t):
            y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))
    """)
    result = grade(submission(tmp_path, "logistic_regression", {"loss-solution": loss}))
    full_marks_but(result, "loss", 1.85)
    loss_checks = {t.name: t.status for t in result.tests if t.item == "loss"}
    assert loss_checks["loss: stays finite and right when predictions are exactly 0 or 1"] == "failed"
    assert [name for name, status in loss_checks.items() if status != "passed"] == \
        ["loss: stays finite and right when predictions are exactly 0 or 1"], report(result)


# --- wrong answers earn nothing -----------------------------------------------------------------

def solution_regions(grade_id, assignment, bodies):
    """The source cell ``grade_id`` with its solution regions' bodies replaced, in order."""
    source = cell_source(assignment, grade_id)
    regions = re.findall(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", source, flags=re.S)
    assert len(regions) == len(bodies), f"{grade_id} has {len(regions)} solution regions"
    parts = iter(bodies)
    return re.sub(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION",
                  lambda m: f"{m.group(1)}{next(parts)}", source, flags=re.S)


CONSTANT = {
    "logistic_regression": {
        "zeros": {"logistic-solution": "def logistic(z):\n    return np.zeros(np.shape(z))\n",
                  "loss-solution": "def loss(y, t):\n    return 0.0\n",
                  "gradient-solution": "def gradient(w, x, t):\n    return np.zeros((1, 2))\n",
                  "delta_w-solution": "def delta_w(w_k, x, t, learning_rate):\n    return np.zeros((1, 2))\n",
                  "xor_feature_weights-solution": "def xor_feature_weights():\n    return np.zeros(4)\n"},
        "inputs handed back": {
            "logistic-solution": "def logistic(z):\n    return np.array(z, dtype=float)\n",
            "loss-solution": "def loss(y, t):\n    return float(np.mean(y))\n",
            "gradient-solution": "def gradient(w, x, t):\n    return np.array(w, dtype=float)\n",
            "delta_w-solution": "def delta_w(w_k, x, t, learning_rate):\n    return np.array(w_k, dtype=float)\n",
            "xor_feature_weights-solution": "def xor_feature_weights():\n    return np.array([0.5, 1.0, -1.0, 2.0])\n"},
    },
    "hidden_layer": {
        "zeros": {"xor_network_weights-solution": "def xor_network_weights():\n"
                                                  "    return np.zeros((2, 3)), np.zeros(3), np.zeros(3), 0.0\n",
                  "backprop-solution": "def backprop(X, t, params):\n"
                                       "    return {k: np.zeros(np.shape(v)) for k, v in params.items()}\n"},
        "inputs handed back": {
            "backprop-solution": "def backprop(X, t, params):\n"
                                 "    return {k: np.array(v, dtype=float) for k, v in params.items()}\n"},
    },
}

DIGITS_ZEROS = {
    "LinearUpdate-solution": ["return np.zeros((self.W.shape[0], np.shape(A)[1])), np.zeros(self.W.shape), "
                              "np.zeros(self.b.shape)"],
    "LogisticUpdate-solution": ["return np.zeros(np.shape(Y))"],
    "SoftmaxClassifier-solution": ["return 0.0", "return np.zeros(np.shape(P))"],
    "Layer-solution": ["return np.zeros((self.linear.W.shape[0], np.shape(A)[1])), np.zeros(self.linear.W.shape), "
                       "np.zeros(self.linear.b.shape)"],
    "Network-solution": ["return 0.0", "return {k: np.zeros(np.shape(v)) for k, v in self.parameters().items()}"],
    "momentum_update-solution": ["return ({k: np.array(v, dtype=float) for k, v in params.items()}, "
                                 "{k: np.zeros(np.shape(v)) for k, v in velocities.items()})"],
    "train-solution": ["return {'train_loss': [0.0] * epochs, 'val_loss': [0.0] * epochs, "
                       "'val_accuracy': [0.0] * epochs}"],
}
CONSTANT["digits_mlp"] = {"zeros": {grade_id: solution_regions(grade_id, "digits_mlp", bodies)
                                    for grade_id, bodies in DIGITS_ZEROS.items()}}


@pytest.mark.parametrize("assignment, kind", [(a, k) for a in CONSTANT for k in CONSTANT[a]])
def test_answers_that_are_constant_or_ignore_the_inputs_score_zero(tmp_path, assignment, kind):
    result = grade(release_submission(tmp_path, assignment, CONSTANT[assignment][kind]))
    assert result.score == 0, report(result)
    assert any(t.status == "passed" for t in result.tests), "the gates passed, and are worth nothing"


# --- a bug costs once: the dependency's failure is never the caller's ----------------------------

def broken_function(name, signature, how):
    """A cell that rebinds the graded function ``name`` to a broken version of it."""
    body = {"stub": "raise NotImplementedError()",
            "crash": "raise ValueError('a bug in here')",
            "None": "return None",
            "oversized": "return np.zeros(10**8)",
            "wrong": f"return -2.0 * np.asarray(_correct_{name}({signature}), dtype=float)"}
    if how == "deleted":
        return f"del {name}\n"
    return f"_correct_{name} = {name}\ndef {name}({signature}):\n    {body[how]}\n"


def broken_method(target, how):
    """A cell that rebinds the graded method ``Class.method`` to a broken version of it."""
    cls, method = target.split(".")
    body = {"stub": "raise NotImplementedError()",
            "crash": "raise ValueError('a bug in here')",
            "None": "return None",
            "oversized": "return np.zeros(10**8)",
            "wrong": "return _negated(_correct(self, *args, **kwargs))"}
    if how == "deleted":
        return f"del {target}\n"
    return code(f"""
        def _broken(_correct):
            def _negated(value):
                if isinstance(value, dict):
                    return {{k: -2.0 * np.asarray(v, dtype=float) for k, v in value.items()}}
                if isinstance(value, tuple):
                    return tuple(-2.0 * np.asarray(v, dtype=float) for v in value)
                return -2.0 * np.asarray(value, dtype=float)
            def {method}(self, *args, **kwargs):
                {body[how]}
            return {method}
        {target} = _broken({target})
    """)


FAILURES = ("stub", "crash", "None", "deleted", "oversized", "wrong")
# (assignment, the dependency made to fail, the cell that breaks it, the items that call it)
DEPENDENCIES = [
    ("logistic_regression", "logistic", lambda how: broken_function("logistic", "z", how), ("gradient", "delta_w")),
    ("logistic_regression", "gradient", lambda how: broken_function("gradient", "w, x, t", how), ("delta_w",)),
    ("digits_mlp", "LinearUpdate.backward", lambda how: broken_method("LinearUpdate.backward", how),
     ("Layer.backward", "Network.gradients", "train")),
    ("digits_mlp", "LogisticUpdate.backward", lambda how: broken_method("LogisticUpdate.backward", how),
     ("Layer.backward", "Network.gradients", "train")),
    ("digits_mlp", "Layer.backward", lambda how: broken_method("Layer.backward", how), ("Network.gradients", "train")),
    ("digits_mlp", "Network.gradients", lambda how: broken_method("Network.gradients", how), ("train",)),
]


@pytest.mark.parametrize("assignment, dependency, breaker, callers, how",
                         [(*d, how) for d in DEPENDENCIES for how in FAILURES],
                         ids=[f"{d[1]}-{how}" for d in DEPENDENCIES for how in FAILURES])
def test_a_broken_dependency_never_costs_the_items_that_call_it(tmp_path, assignment, dependency, breaker,
                                                                callers, how):
    result = grade(submission(tmp_path, assignment, append=[breaker(how)]))
    scores = result.item_scores()
    assert scores[dependency] < ITEMS[assignment][dependency], report(result)
    for caller in callers:
        assert scores[caller] == pytest.approx(ITEMS[assignment][caller], abs=1e-4), \
            f"{caller} paid for the broken {dependency} ({how}):\n{report(result)}"


def test_an_error_inside_a_helper_is_named_as_the_helpers_not_the_callers(tmp_path):
    gradient = code("""
        def sigmoid_of(x, w):
            raise NotImplementedError()
        def gradient(w, x, t):
            y = sigmoid_of(x, w)
            return (y - t).T @ x / len(x)
    """)
    result = grade(submission(tmp_path, "logistic_regression", {"gradient-solution": gradient}))
    outputs = [t.output for t in result.tests if t.item == "gradient" and t.status != "passed"]
    assert outputs and "`gradient` calls `sigmoid_of`, which is not implemented yet" in outputs[0], report(result)
    assert not any("`gradient` is not implemented yet" in text for text in outputs), report(result)
    full_marks_but(result, "gradient", 0.0)

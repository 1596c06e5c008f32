"""The grader on a corpus of logistic_regression submissions.

Correct solutions in many styles get full marks; the release gets 0 with "not implemented";
each single-bug mutant loses points on its own item only (a bug costs once), with a
diagnosis the student can act on.
"""

import pytest

from autograder.course import ASSIGNMENTS
from autograder.reports.formats import gradescope_json
from submissions import (
    assert_bug_costs_once, code, grade, notebook_path, release_submission, report, submission,
)

A = "logistic_regression"
ITEMS = {g.name: float(g.points) for g in ASSIGNMENTS[A]}
FULL = sum(ITEMS.values())


# --- the reference and the release ----------------------------------------------------------

def test_reference_notebook_scores_full_marks():
    result = grade(notebook_path(A))
    assert result.score == pytest.approx(FULL, abs=1e-4), report(result)
    assert result.item_scores() == pytest.approx(ITEMS, abs=1e-4)
    assert all(t.status == "passed" for t in result.tests), report(result)


def test_reference_notebook_score_is_exactly_the_maximum():
    """Gradescope shows the score as is: 10 must be 10, not 9.999997 (rounded shares)."""
    result = grade(notebook_path(A))
    assert result.score == result.max_score == FULL
    assert result.item_scores() == ITEMS


def test_untouched_release_scores_zero_and_says_not_implemented(tmp_path):
    result = grade(release_submission(tmp_path, A))
    assert result.score == 0
    assert set(result.item_scores()) == set(ITEMS)
    for item in ITEMS:
        texts = [t.output for t in result.tests if t.item == item and t.status == "not implemented"]
        assert texts and all("not implemented" in text for text in texts), report(result)


# --- correct solutions in other styles -------------------------------------------------------

CORRECT = {
    "loops-everywhere": {
        "logistic-solution": code("""
            import math
            def logistic(z):
                z = np.asarray(z, dtype=float)
                out = np.empty(z.shape)
                for i in np.ndindex(z.shape):
                    v = float(z[i])
                    if v >= 0:
                        out[i] = 1.0 / (1.0 + math.exp(-v))
                    else:
                        e = math.exp(v)
                        out[i] = e / (1.0 + e)
                return out
        """),
        "loss-solution": code("""
            def loss(y, t):
                total = 0.0
                n = len(y)
                for i in range(n):
                    yi, ti = float(y[i][0]), float(t[i][0])
                    yi = min(max(yi, 1e-300), 1.0)
                    one_minus = min(max(1.0 - float(y[i][0]), 1e-300), 1.0)
                    total += ti * math.log(yi) + (1 - ti) * math.log(one_minus)
                return -total / n
        """),
        "gradient-solution": code("""
            def gradient(w, x, t):
                n = len(x)
                g = np.zeros((1, 2))
                for i in range(n):
                    xi = np.asarray(x[i], dtype=float)
                    yi = logistic(float(xi @ np.asarray(w, dtype=float)[0]))
                    for j in range(2):
                        g[0, j] += (yi - t[i][0]) * xi[j]
                return g / n
        """),
        "delta_w-solution": code("""
            def delta_w(w_k, x, t, learning_rate):
                step = np.zeros((1, 2))
                g = gradient(w_k, x, t)
                for j in range(2):
                    step[0, j] = learning_rate * g[0, j]
                return step
        """),
    },
    "einsum": {
        "gradient-solution": code("""
            def gradient(w, x, t):
                x = np.asarray(x, dtype=float)
                err = nn(x, w) - np.asarray(t, dtype=float)
                return np.einsum("ni,nj->ij", err, x) / x.shape[0]
        """),
    },
    "scipy-expit": {
        "logistic-solution": code("""
            from scipy.special import expit
            def logistic(z):
                return expit(np.asarray(z, dtype=float))
        """),
    },
    "tanh-logistic": {
        "logistic-solution": code("""
            def logistic(z):
                return 0.5 * (1.0 + np.tanh(np.asarray(z, dtype=float) / 2.0))
        """),
    },
    "logaddexp-logistic": {
        "logistic-solution": code("""
            def logistic(z):
                return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))
        """),
    },
    "debug-prints-and-warnings": {
        "logistic-solution": code("""
            import warnings
            def logistic(z):
                print("logistic called with", np.shape(z))
                warnings.warn("debugging logistic")
                z = np.asarray(z, dtype=np.float64)
                e = np.exp(-np.abs(z))
                return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        """),
        "gradient-solution": code("""
            def gradient(w, x, t):
                x = np.asarray(x, dtype=float)
                y = nn(x, w)
                print("y =", y.ravel()[:3], "x:", x.shape)
                warnings.warn("gradient: still debugging", UserWarning)
                return (y - t).T @ x / len(x)
        """),
        "xor_feature_weights-solution": code("""
            def xor_feature_weights():
                print("XOR weights!")
                return np.array([-5.0, 10.0, 10.0, -20.0])
        """),
    },
    "logaddexp-loss": {
        "loss-solution": code("""
            def loss(y, t):
                tiny = np.finfo(float).tiny
                y = np.asarray(y, dtype=float)
                t = np.asarray(t, dtype=float)
                z = np.log(np.clip(y, tiny, 1.0)) - np.log(np.clip(1.0 - y, tiny, 1.0))  # the logit
                return float(np.mean(t * np.logaddexp(0.0, -z) + (1.0 - t) * np.logaddexp(0.0, z)))
        """),
    },
    "loss-returns-numpy-float64": {
        "loss-solution": code("""
            def loss(y, t):
                y = np.clip(np.asarray(y, dtype=float), 1e-300, 1.0)
                one_minus = np.clip(1.0 - np.asarray(y, dtype=float), 1e-300, 1.0)
                value = -np.mean(t * np.log(y) + (1 - t) * np.log(one_minus))
                assert isinstance(value, np.float64)
                return value
        """),
    },
    "loss-returns-0d-array": {
        "loss-solution": code("""
            def loss(y, t):
                y = np.asarray(y, dtype=float)
                t = np.asarray(t, dtype=float)
                terms = np.where(t == 1, np.log(np.maximum(y, 1e-300)), np.log(np.maximum(1 - y, 1e-300)))
                return np.array(-terms.sum() / terms.shape[0])
        """),
    },
    "gradient-mean-keepdims": {
        "gradient-solution": code("""
            def gradient(w, x, t):
                y = nn(x, w)
                return np.mean((y - t) * x, axis=0, keepdims=True)
        """),
    },
    "delta_w-inline-gradient": {
        "delta_w-solution": code("""
            def delta_w(w_k, x, t, learning_rate):
                x = np.asarray(x, dtype=float)
                y = logistic(x @ np.asarray(w_k, dtype=float).T)
                return learning_rate * ((y - t).T @ x) / x.shape[0]
        """),
    },
    "other-xor-weights": {
        "xor_feature_weights-solution": code("""
            def xor_feature_weights():
                return np.array([-0.1, 1, 1, -3])  # integers and floats: still fine
        """),
    },
    "xor-weights-as-list-of-ints": {
        "xor_feature_weights-solution": code("""
            def xor_feature_weights():
                return np.array([-1, 2, 2, -4])
        """),
    },
    "gradient-transpose-of-x": {
        "gradient-solution": code("""
            def gradient(w, x, t):
                x = np.asarray(x, dtype=float)
                return (x.T @ (nn(x, w) - t)).T / x.shape[0]
        """),
    },
}


@pytest.mark.parametrize("replace", CORRECT.values(), ids=CORRECT.keys())
def test_correct_solution_in_another_style_scores_full_marks(replace, tmp_path):
    result = grade(submission(tmp_path, A, replace=replace))
    assert result.score == pytest.approx(FULL, abs=1e-4), report(result)
    assert result.item_scores() == pytest.approx(ITEMS, abs=1e-4), report(result)


# --- single-bug mutants ---------------------------------------------------------------------

MUTANTS = {
    # gradient
    "gradient-sum-not-mean": ("gradient", "times too large", {"gradient-solution": code("""
        def gradient(w, x, t):
            x = np.asarray(x, dtype=float)
            return (nn(x, w) - t).T @ x
    """)}),
    "gradient-divides-by-N-twice": ("gradient", "times too small", {"gradient-solution": code("""
        def gradient(w, x, t):
            x = np.asarray(x, dtype=float)
            return (nn(x, w) - t).T @ x / x.shape[0] / x.shape[0]
    """)}),
    "gradient-negated": ("gradient", "sign", {"gradient-solution": code("""
        def gradient(w, x, t):
            x = np.asarray(x, dtype=float)
            return (t - nn(x, w)).T @ x / x.shape[0]
    """)}),
    "gradient-transposed": ("gradient", "transposed", {"gradient-solution": code("""
        def gradient(w, x, t):
            x = np.asarray(x, dtype=float)
            return x.T @ (nn(x, w) - t) / x.shape[0]
    """)}),
    "gradient-extra-sigma-prime": ("gradient", "σ′", {"gradient-solution": code("""
        def gradient(w, x, t):
            x = np.asarray(x, dtype=float)
            y = nn(x, w)
            return ((y - t) * y * (1 - y)).T @ x / x.shape[0]
    """)}),
    "gradient-ignores-targets": ("gradient", "targets are ignored", {"gradient-solution": code("""
        def gradient(w, x, t):
            x = np.asarray(x, dtype=float)
            return nn(x, w).T @ x / x.shape[0]
    """)}),
    "gradient-modifies-t-in-place": ("gradient", "in place", {"gradient-solution": code("""
        def gradient(w, x, t):
            t = np.asarray(t, dtype=np.float64)  # no copy when t is already float64
            t -= nn(x, w)                        # t now holds t - y: the caller's array changed
            return -(t.T @ np.asarray(x, dtype=np.float64)) / len(x)
    """)}),
    "gradient-floor-division": ("gradient", "expected", {"gradient-solution": code("""
        def gradient(w, x, t):
            x = np.asarray(x, dtype=float)
            return (nn(x, w) - t).T @ x // x.shape[0]
    """)}),
    # logistic
    "logistic-naive-overflows": ("logistic", "overflow", {"logistic-solution": code("""
        def logistic(z):
            return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
    """)}),
    "logistic-exp-ratio-gives-nan": ("logistic", "overflow", {"logistic-solution": code("""
        def logistic(z):
            e = np.exp(np.asarray(z, dtype=float))
            return e / (1.0 + e)
    """)}),
    "logistic-sign-flipped": ("logistic", "sign", {"logistic-solution": code("""
        def logistic(z):
            z = -np.asarray(z, dtype=np.float64)
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    """)}),
    "logistic-is-exp": ("logistic", "exp(z)", {"logistic-solution": code("""
        def logistic(z):
            return np.exp(np.clip(np.asarray(z, dtype=float), -700, 700))
    """)}),
    "logistic-integer-output-for-integer-input": ("logistic", "integer", {"logistic-solution": code("""
        def logistic(z):
            z = np.asarray(z)
            out = np.zeros_like(z)  # int array for int z: the values are truncated to 0
            e = np.exp(-np.abs(z))
            out[...] = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
            return out
    """)}),
    "logistic-nondeterministic": ("logistic", "different results", {"logistic-solution": code("""
        def logistic(z):
            z = np.asarray(z, dtype=np.float64)
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)) * (1 + 1e-13 * np.random.rand())
    """)}),
    # loss
    "loss-arguments-swapped": ("loss", "swapped", {"loss-solution": code("""
        def loss(t, y):
            tiny = np.finfo(np.float64).tiny
            y = np.asarray(y, dtype=np.float64)
            t = np.asarray(t, dtype=np.float64)
            return float(-np.mean(t * np.log(np.clip(y, tiny, 1.0)) + (1.0 - t) * np.log(np.clip(1.0 - y, tiny, 1.0))))
    """)}),
    "loss-sum-not-mean": ("loss", "times too large", {"loss-solution": code("""
        def loss(y, t):
            tiny = np.finfo(np.float64).tiny
            y = np.asarray(y, dtype=np.float64)
            return float(-np.sum(t * np.log(np.clip(y, tiny, 1.0)) + (1.0 - t) * np.log(np.clip(1.0 - y, tiny, 1.0))))
    """)}),
    "loss-not-clipped": ("loss", "clip", {"loss-solution": code("""
        def loss(y, t):
            y = np.asarray(y, dtype=np.float64)
            return float(-np.mean(t * np.log(y) + (1.0 - t) * np.log(1.0 - y)))
    """)}),
    "loss-missing-negative-class": ("loss", "negative class", {"loss-solution": code("""
        def loss(y, t):
            y = np.asarray(y, dtype=np.float64)
            return float(-np.mean(t * np.log(np.clip(y, 1e-300, 1.0))))
    """)}),
    "loss-nondeterministic": ("loss", "different results", {"loss-solution": code("""
        def loss(y, t):
            tiny = np.finfo(np.float64).tiny
            y = np.asarray(y, dtype=np.float64)
            value = -np.mean(t * np.log(np.clip(y, tiny, 1.0)) + (1.0 - t) * np.log(np.clip(1.0 - y, tiny, 1.0)))
            return float(value) + 1e-12 * np.random.rand()
    """)}),
    # delta_w
    "delta_w-negated": ("delta_w", "sign", {"delta_w-solution": code("""
        def delta_w(w_k, x, t, learning_rate):
            return -learning_rate * gradient(w_k, x, t)
    """)}),
    "delta_w-without-learning-rate": ("delta_w", "learning rate", {"delta_w-solution": code("""
        def delta_w(w_k, x, t, learning_rate):
            return gradient(w_k, x, t)
    """)}),
    "delta_w-is-the-update": ("delta_w", "expected", {"delta_w-solution": code("""
        def delta_w(w_k, x, t, learning_rate):
            return w_k - learning_rate * gradient(w_k, x, t)
    """)}),
    # xor_feature_weights
    "xor-weights-wrong-interaction-sign": ("xor_feature_weights", "wrong at (1, 1)", {
        "xor_feature_weights-solution": code("""
            def xor_feature_weights():
                return np.array([-5.0, 10.0, 10.0, 20.0])
        """)}),
    "xor-weights-wrong-shape": ("xor_feature_weights", "shape", {"xor_feature_weights-solution": code("""
        def xor_feature_weights():
            return np.array([[-5.0, 10.0, 10.0, -20.0]])
    """)}),
}


MISTAKE_IDS = {  # the diagnosis as data, as results.json gives it to the class report
    "gradient-sum-not-mean": "gradient.sum-not-mean", "gradient-extra-sigma-prime": "gradient.extra-sigma-prime",
    "logistic-sign-flipped": "logistic.sign-of-z", "loss-arguments-swapped": "loss.swapped-arguments",
    "delta_w-without-learning-rate": "delta_w.missing-learning-rate",
}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_single_bug_costs_its_own_item_only_and_is_diagnosed(mutant, tmp_path):
    item, diagnosis, replace = MUTANTS[mutant]
    result = grade(submission(tmp_path, A, replace=replace))
    assert_bug_costs_once(result, item, diagnosis)
    if mutant in MISTAKE_IDS:
        extra = [t.get("extra_data", {}).get("mistake", {}) for t in gradescope_json(result)["tests"]]
        assert MISTAKE_IDS[mutant] in {m.get("id") for m in extra}, report(result)

"""The grader on a corpus of hidden_layer submissions.

Correct solutions in other styles get full marks; the release gets 0 with "not implemented";
each single-bug mutant loses points on its own item only (a bug costs once), with a
diagnosis the student can act on.

The mutants are made from the source notebook's own solution cells by textual replacement,
and each replacement must find its text exactly once: a change of the source notebook makes
the mutant fail to build instead of silently turning it into a correct solution.
"""

import pytest

from autograder.course import ASSIGNMENTS
from submissions import (
    assert_bug_costs_once, code, grade, mutate, notebook_path, release_submission, report, submission,
)

A = "hidden_layer"
ITEMS = {g.name: float(g.points) for g in ASSIGNMENTS[A]}
FULL = sum(ITEMS.values())
BACKPROP = "backprop-solution"
XOR = "xor_network_weights-solution"


# --- the reference and the release ----------------------------------------------------------

def test_reference_notebook_scores_full_marks():
    result = grade(notebook_path(A))
    assert result.score == result.max_score == FULL == 10, report(result)
    assert result.item_scores() == ITEMS
    assert all(t.status == "passed" for t in result.tests), report(result)


def test_untouched_release_scores_zero_and_says_not_implemented(tmp_path):
    result = grade(release_submission(tmp_path, A))
    assert result.score == 0, report(result)
    assert result.max_score == FULL
    assert set(result.item_scores()) == set(ITEMS)
    for item in ITEMS:
        texts = [t.output for t in result.tests if t.item == item and t.status == "not implemented"]
        assert texts and all("not implemented" in text for text in texts), report(result)


# --- correct solutions in other styles -------------------------------------------------------

CORRECT = {
    "loops-over-examples": {BACKPROP: code('''
        def backprop(X, t, params):
            X = np.asarray(X, dtype=float)
            t = np.asarray(t, dtype=float)
            W1, b1 = np.asarray(params["W1"], float), np.asarray(params["b1"], float)
            W2, b2 = np.asarray(params["W2"], float), np.asarray(params["b2"], float)
            N, D = X.shape
            H = b1.shape[0]
            gW1, gb1, gW2, gb2 = np.zeros((D, H)), np.zeros(H), np.zeros((H, 1)), np.zeros(1)
            for n in range(N):
                z = logistic(X[n] @ W1 + b1)
                out = logistic(z @ W2 + b2)
                d2 = (out[0] - t[n, 0]) / N
                gb2[0] += d2
                for j in range(H):
                    gW2[j, 0] += z[j] * d2
                    d1 = d2 * W2[j, 0] * z[j] * (1 - z[j])
                    gb1[j] += d1
                    for d in range(D):
                        gW1[d, j] += X[n, d] * d1
            return {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}
    ''')},
    "einsum": {BACKPROP: code('''
        def backprop(X, t, params):
            X = np.asarray(X, dtype=float)
            t = np.asarray(t, dtype=float)
            Z, y = forward(X, params)
            d2 = (y - t) / len(X)
            d1 = np.einsum("nk,jk->nj", d2, np.asarray(params["W2"], float)) * Z * (1 - Z)
            return dict(W1=np.einsum("nd,nj->dj", X, d1), b1=np.einsum("nj->j", d1),
                        W2=np.einsum("nj,nk->jk", Z, d2), b2=np.einsum("nk->k", d2))
    ''')},
    "outer-products-and-explicit-sums": {BACKPROP: code('''
        def backprop(X, t, params):
            X = np.asarray(X, dtype=float)
            t = np.asarray(t, dtype=float)
            W2 = np.asarray(params["W2"], dtype=float)
            hidden, y = forward(X, params)
            n = X.shape[0]
            grads = {k: np.zeros(np.shape(v), dtype=float) for k, v in params.items()}
            for i in range(n):
                d2 = (y[i] - t[i]) / n                                   # (1,)
                d1 = d2[0] * W2[:, 0] * hidden[i] * (1.0 - hidden[i])    # (H,)
                grads["W2"] = grads["W2"] + np.outer(hidden[i], d2)
                grads["b2"] = grads["b2"] + d2
                grads["W1"] = grads["W1"] + np.outer(X[i], d1)
                grads["b1"] = grads["b1"] + d1
            return grads
    ''')},
}


@pytest.mark.parametrize("replace", CORRECT.values(), ids=CORRECT.keys())
def test_correct_solution_in_another_style_scores_full_marks(replace, tmp_path):
    result = grade(submission(tmp_path, A, replace=replace))
    assert result.score == pytest.approx(FULL, abs=1e-4), report(result)
    assert result.item_scores() == pytest.approx(ITEMS, abs=1e-4), report(result)


# --- single-bug mutants ---------------------------------------------------------------------

G_OUT = "g_out = (y - t) / n"
G_HIDDEN = "g_hidden = (g_out @ W2.T) * hidden * (1.0 - hidden)"
RETURN = "    return {\n"

MUTANTS = {
    # the output delta δ2 = (y - t)/N: a mistake there reaches all four gradients
    "times-N": ("backprop", "7 times too large", mutate(A, BACKPROP, (G_OUT, "g_out = (y - t)"))),
    "divided-by-N-twice": ("backprop", "7 times too small", mutate(A, BACKPROP, (G_OUT, "g_out = (y - t) / n**2"))),
    "negated": ("backprop", "wrong sign", mutate(A, BACKPROP, (G_OUT, "g_out = (t - y) / n"))),
    "output-sigma-prime-kept": ("backprop", "σ′ = y(1 − y) is kept at the output",
                                mutate(A, BACKPROP, (G_OUT, "g_out = (y - t) * y * (1 - y) / n"))),
    "targets-ignored": ("backprop", "the targets are ignored", mutate(A, BACKPROP, (G_OUT, "g_out = y / n"))),
    # shapes
    "W1-gradient-transposed": ("backprop", "It looks transposed: dL/dW1",
                               mutate(A, BACKPROP, ('"W1": X.T @ g_hidden', '"W1": g_hidden.T @ X'))),
    "b1-summed-over-the-wrong-axis": ("backprop", "summed over the wrong axis",
                                      mutate(A, BACKPROP, ('"b1": g_hidden.sum(axis=0)', '"b1": g_hidden.sum(axis=1)'))),
    "b1-not-summed": ("backprop", "The bias gradient is kept per example",
                      mutate(A, BACKPROP, ('"b1": g_hidden.sum(axis=0)', '"b1": g_hidden'))),
    # the hidden delta δ1 = (δ2 W2ᵀ) ⊙ Z ⊙ (1 − Z)
    "no-hidden-sigma-prime": ("backprop", "σ′ is missing in the hidden layer",
                              mutate(A, BACKPROP, (G_HIDDEN, "g_hidden = g_out @ W2.T"))),
    "sigma-prime-of-the-pre-activation": (
        "backprop", "σ′ is applied to the wrong variable",
        mutate(A, BACKPROP, ("    n = X.shape[0]\n",
                          '    n = X.shape[0]\n    S = X @ np.asarray(params["W1"], float) + params["b1"]\n'),
               (G_HIDDEN, "g_hidden = (g_out @ W2.T) * S * (1.0 - S)"))),
    "sigma-applied-twice": ("backprop", "σ is applied twice",
                            mutate(A, BACKPROP, (G_HIDDEN, "g_hidden = (g_out @ W2.T) * logistic(hidden) "
                                                        "* (1.0 - logistic(hidden))"))),
    "upstream-gradient-ignored": ("backprop", "the upstream gradient is ignored",
                                  mutate(A, BACKPROP, (G_HIDDEN, "g_hidden = hidden * (1.0 - hidden) / n"))),
    "W2-left-out": ("backprop", "W2 is left out",
                    mutate(A, BACKPROP, (G_HIDDEN, "g_hidden = g_out * hidden * (1.0 - hidden)"))),
    "hidden-misses-1-over-N": ("backprop", "the hidden layer misses the 1/N",
                               mutate(A, BACKPROP, (G_HIDDEN, "g_hidden = ((y - t) @ W2.T) * hidden * (1.0 - hidden)"))),
    "bias-gradients-are-means": ("backprop", "the bias gradients are means, not sums",
                                 mutate(A, BACKPROP, ('"b1": g_hidden.sum(axis=0)', '"b1": g_hidden.mean(axis=0)'),
                                        ('"b2": g_out.sum(axis=0)', '"b2": g_out.mean(axis=0)'))),
    # contract
    "modifies-params-in-place": ("backprop", "backprop modified params['W1']",
                                 mutate(A, BACKPROP, (RETURN, '    params["W1"][0, 0] = 5.0\n' + RETURN))),
    "nondeterministic-noise": ("backprop", "twice with the same inputs gave different gradients",
                               mutate(A, BACKPROP, (RETURN, "    g_out = g_out + 1e-12 * np.random.rand()\n" + RETURN))),
    "returns-a-tuple": ("backprop", "should return a dict of the four gradients",
                        mutate(A, BACKPROP, ('    return {\n        "W1": X.T @ g_hidden,',
                                          '    return (X.T @ g_hidden, g_hidden.sum(axis=0), hidden.T @ g_out, '
                                          'g_out.sum(axis=0))\n    return {\n        "W1": X.T @ g_hidden,'))),
    # xor_network_weights
    "xor-weights-too-weak": ("xor_network_weights", "scale the weights and biases up together",
                             mutate(A, XOR, ("    return W1, b1, W2, b2", "    return W1 / 20, b1 / 20, W2 / 20, b2 / 20"))),
    "xor-W1-transposed": ("xor_network_weights", "It looks transposed: column j of W1",
                          mutate(A, XOR, ("    return W1, b1, W2, b2", "    return W1.T, b1, W2, b2"))),
}


@pytest.mark.parametrize("item, diagnosis, replace", MUTANTS.values(), ids=MUTANTS.keys())
def test_single_bug_costs_its_own_item_only_and_is_diagnosed(item, diagnosis, replace, tmp_path):
    assert_bug_costs_once(grade(submission(tmp_path, A, replace=replace)), item, diagnosis)

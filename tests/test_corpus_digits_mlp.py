"""The grader on a corpus of digits_mlp submissions.

Correct solutions in other styles get full marks; the release gets 0 with "not implemented";
each single-bug mutant loses points on its own item only (a bug costs once, even when the
other graded methods call the buggy one), with a diagnosis the student can act on.
"""

import pytest

from autograder.course import ASSIGNMENTS
from submissions import (
    assert_bug_costs_once, code, grade, notebook_path, release_submission, report, submission,
)

A = "digits_mlp"
ITEMS = {g.name: float(g.points) for g in ASSIGNMENTS[A]}
FULL = sum(ITEMS.values())


# --- the reference and the release ------------------------------------------------------------

def test_reference_notebook_scores_full_marks():
    result = grade(notebook_path(A))
    assert list(result.item_scores()) == list(ITEMS), "the hidden checks must cover the graded names in order"
    assert result.score == pytest.approx(FULL, abs=1e-4), report(result)
    assert result.item_scores() == pytest.approx(ITEMS, abs=1e-4), report(result)
    assert all(t.status == "passed" for t in result.tests), report(result)


def test_untouched_release_scores_zero_and_says_not_implemented(tmp_path):
    result = grade(release_submission(tmp_path, A))
    assert result.score == 0, report(result)
    assert list(result.item_scores()) == list(ITEMS)
    for item in ITEMS:
        texts = [t.output for t in result.tests if t.item == item and t.status == "not implemented"]
        assert texts and all("not implemented" in text for text in texts), report(result)


# --- correct solutions in other styles ----------------------------------------------------------

EINSUM = {
    "LinearUpdate-solution": code('''
        class LinearUpdate:
            def __init__(self, n_in, n_out, W=None, b=None, rng=None):
                rng = np.random.default_rng(0) if rng is None else rng
                self.W = rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), (n_in, n_out)) if W is None else W
                self.b = np.zeros((n_out, 1)) if b is None else b

            def forward(self, A):
                return self.W.T @ A + self.b

            def backward(self, A, gY):
                A = np.asarray(A, dtype=float)
                gY = np.asarray(gY, dtype=float)
                gA = np.einsum("io,on->in", self.W, gY)
                gW = np.einsum("in,on->io", A, gY)
                gb = np.einsum("on->o", gY)[:, None]
                return gA, gW, gb
    '''),
    "LogisticUpdate-solution": code('''
        class LogisticUpdate:
            def forward(self, Z):
                return logistic(Z)

            def backward(self, Y, grad_out):
                Y = np.asarray(Y, dtype=float)
                return np.einsum("ij,ij->ij", np.asarray(grad_out, dtype=float), Y - Y ** 2)
    '''),
    "Network-solution": code('''
        PARAMETER_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


        class Network:
            def __init__(self, n_in, n_hidden1, n_hidden2, n_classes, seed=0):
                rng = np.random.default_rng(seed)
                self.hidden1 = Layer(n_in, n_hidden1, rng=rng)
                self.hidden2 = Layer(n_hidden1, n_hidden2, rng=rng)
                self.output = LinearUpdate(n_hidden2, n_classes, rng=rng)
                self.classifier = SoftmaxClassifier()

            def linears(self):
                return [self.hidden1.linear, self.hidden2.linear, self.output]

            def parameters(self):
                params = {}
                for i, linear in enumerate(self.linears(), start=1):
                    params[f"W{i}"], params[f"b{i}"] = linear.W, linear.b
                return params

            def set_parameters(self, params):
                for i, linear in enumerate(self.linears(), start=1):
                    linear.W, linear.b = params[f"W{i}"], params[f"b{i}"]

            def forward(self, X):
                A1 = self.hidden1.forward(X)
                A2 = self.hidden2.forward(A1)
                P = self.classifier.forward(self.output.forward(A2))
                return X, A1, A2, P

            def predict(self, X):
                return self.forward(X)[-1].argmax(axis=0)

            def l2_penalty(self, lam):
                return 0.5 * lam * sum(float(np.einsum("ij,ij->", l.W, l.W)) for l in self.linears())

            def loss(self, X, T, lam=0.0):
                P = self.forward(X)[-1]
                return self.classifier.cross_entropy(P, T) + self.l2_penalty(lam)

            def gradients(self, X, T, lam=0.0):
                X, A1, A2, P = self.forward(X)
                g = self.classifier.backward(P, T)
                grads = {}
                g, grads["W3"], grads["b3"] = self.output.backward(A2, g)
                g, grads["W2"], grads["b2"] = self.hidden2.backward(A1, A2, g)
                g, grads["W1"], grads["b1"] = self.hidden1.backward(X, A1, g)
                for i, linear in enumerate(self.linears(), start=1):
                    grads[f"W{i}"] = grads[f"W{i}"] + lam * linear.W
                return {k: grads[k] for k in PARAMETER_NAMES}
    '''),
}

LOOPS = {
    "LinearUpdate-solution": code('''
        class LinearUpdate:
            def __init__(self, n_in, n_out, W=None, b=None, rng=None):
                rng = np.random.default_rng(0) if rng is None else rng
                self.W = rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), (n_in, n_out)) if W is None else W
                self.b = np.zeros((n_out, 1)) if b is None else b

            def forward(self, A):
                return self.W.T @ A + self.b

            def backward(self, A, gY):
                W = np.asarray(self.W, dtype=float)
                A = np.asarray(A, dtype=float)
                gY = np.asarray(gY, dtype=float)
                N = gY.shape[1]
                gA = np.zeros((W.shape[0], N))
                gW = np.zeros(W.shape)
                gb = np.zeros((W.shape[1], 1))
                for i in range(N):  # one example (column) at a time
                    g = gY[:, i:i + 1]
                    gA[:, i:i + 1] = W @ g
                    gW += A[:, i:i + 1] @ g.T
                    gb += g
                return gA, gW, gb
    '''),
    "SoftmaxClassifier-solution": code('''
        import math


        class SoftmaxClassifier:
            def forward(self, A):
                return softmax(A)

            def cross_entropy(self, P, T):
                N = np.shape(P)[1]
                total = 0.0
                for i in range(N):
                    p = max(float(P[int(T[i])][i]), np.finfo(float).tiny)
                    total -= math.log(p)
                return total / N

            def backward(self, P, T):
                K, N = np.shape(P)
                g = np.array(P, dtype=float)
                for i in range(N):
                    g[int(T[i]), i] -= 1.0
                return g / N
    '''),
    "momentum_update-solution": code('''
        def momentum_update(params, grads, velocities, learning_rate, momentum):
            new_params, new_velocities = {}, {}
            for key in params:
                new_velocities[key] = momentum * velocities[key] - learning_rate * grads[key]
                new_params[key] = params[key] + new_velocities[key]
            return new_params, new_velocities
    '''),
    "train-solution": code('''
        def train(network, X_train, T_train, X_val, T_val, epochs=300, learning_rate=0.5,
                  momentum=0.9, lam=0.0):
            history = {"train_loss": [], "val_loss": [], "val_accuracy": []}
            velocities = None
            for epoch in range(epochs):
                params = network.parameters()
                if velocities is None:
                    velocities = {k: np.zeros(np.shape(v)) for k, v in params.items()}
                grads = network.gradients(X_train, T_train, lam)
                params, velocities = momentum_update(params, grads, velocities, learning_rate, momentum)
                network.set_parameters(params)
                history["train_loss"].append(float(network.loss(X_train, T_train, lam)))
                history["val_loss"].append(float(network.loss(X_val, T_val, lam)))
                correct = sum(int(p == t) for p, t in zip(network.predict(X_val), T_val))
                history["val_accuracy"].append(correct / len(T_val))
            return history
    '''),
}

ONE_HOT_EYE = {
    "SoftmaxClassifier-solution": code('''
        class SoftmaxClassifier:
            def forward(self, A):
                return softmax(A)

            def cross_entropy(self, P, T):
                P = np.asarray(P, dtype=float)
                Y = np.eye(P.shape[0])[:, np.asarray(T)]  # (K, N) one-hot
                p_true = np.sum(Y * P, axis=0)
                return float(-np.mean(np.log(np.maximum(p_true, np.finfo(float).tiny))))

            def backward(self, P, T):
                P = np.asarray(P, dtype=float)
                return (P - np.eye(P.shape[0])[:, np.asarray(T)]) / P.shape[1]
    '''),
    "Layer-solution": code('''
        class Layer:
            def __init__(self, n_in, n_out, rng=None):
                self.linear = LinearUpdate(n_in, n_out, rng=rng)
                self.logistic = LogisticUpdate()

            def forward(self, A):
                return self.logistic.forward(self.linear.forward(A))

            def backward(self, A, Y, grad_out):
                Y = np.asarray(Y, dtype=float)
                gZ = np.multiply(grad_out, Y * (1.0 - Y))  # written out, without self.logistic
                W = np.asarray(self.linear.W, dtype=float)
                return W @ gZ, np.asarray(A, dtype=float) @ gZ.T, gZ.sum(axis=1).reshape(-1, 1)
    '''),
}

CORRECT = {"einsum": EINSUM, "loops": LOOPS, "explicit-one-hot-np-eye": ONE_HOT_EYE}


@pytest.mark.parametrize("replace", CORRECT.values(), ids=CORRECT.keys())
def test_correct_solution_in_another_style_scores_full_marks(replace, tmp_path):
    result = grade(submission(tmp_path, A, replace=replace))
    assert result.score == pytest.approx(FULL, abs=1e-4), report(result)
    assert result.item_scores() == pytest.approx(ITEMS, abs=1e-4), report(result)


# --- single-bug mutants -------------------------------------------------------------------------

def swap(grade_id, old, new):
    """The reference cell ``grade_id`` with ``old`` replaced by ``new`` (which must occur once)."""
    from submissions import cell_source
    source = cell_source(A, grade_id)
    assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times in {grade_id}"
    return {grade_id: source.replace(old, new)}


LIN_GW = "gW = A @ gY.T  # (n_in, N) @ (N, n_out)"
LIN_GB = "gb = gY.sum(axis=1, keepdims=True)  # sum over the examples, (n_out, 1)"
LIN_GA = "gA = self.W @ gY  # (n_in, n_out) @ (n_out, N)"
LOGI = "return grad_out * Y * (1.0 - Y)"
SOFT_B = "return (P - one_hot(T, P.shape[0])) / P.shape[1]"
CE_RET = "return float(-np.mean(np.log(np.clip(p_true, np.finfo(np.float64).tiny, 1.0))))"
L2 = "return 0.5 * lam * sum(float(np.sum(linear.W ** 2)) for linear in self.linears())"
GRAD_RET = '''"W1": gW1 + lam * self.hidden1.linear.W, "b1": gb1,'''
MOM_V = "new_velocities = {k: momentum * velocities[k] - learning_rate * grads[k] for k in params}"

MUTANTS = {
    # LinearUpdate.backward
    "linear-gW-transposed": ("LinearUpdate.backward", "transposed",
                             swap("LinearUpdate-solution", LIN_GW, "gW = gY @ A.T")),
    "linear-gb-summed-over-wrong-axis": ("LinearUpdate.backward", "wrong axis",
                                         swap("LinearUpdate-solution", LIN_GB, "gb = gY.sum(axis=0, keepdims=True)")),
    "linear-gb-N-by-N-broadcast": ("LinearUpdate.backward", "broadcast", swap(
        "LinearUpdate-solution", LIN_GB, "gb = gY.sum(axis=1, keepdims=True) * 0 + gY.sum(axis=0)[:, None] * 0 "
        "+ gY.sum(axis=0)")),
    "linear-gb-mean-not-sum": ("LinearUpdate.backward", "not a mean",
                               swap("LinearUpdate-solution", LIN_GB, "gb = gY.mean(axis=1, keepdims=True)")),
    "linear-gA-ignores-upstream": ("LinearUpdate.backward", "gY is ignored",
                                   swap("LinearUpdate-solution", LIN_GA, "gA = self.W @ np.ones_like(gY)")),
    "linear-gW-negated": ("LinearUpdate.backward", "wrong sign",
                          swap("LinearUpdate-solution", LIN_GW, "gW = -(A @ gY.T)")),
    # LogisticUpdate.backward
    "logistic-missing-sigma-prime": ("LogisticUpdate.backward", "σ′ is missing",
                                     swap("LogisticUpdate-solution", LOGI, "return grad_out * np.ones_like(Y)")),
    "logistic-sigma-prime-of-wrong-variable": ("LogisticUpdate.backward", "wrong variable", swap(
        "LogisticUpdate-solution", LOGI, "return grad_out * logistic(Y) * (1.0 - logistic(Y))")),
    "logistic-ignores-upstream": ("LogisticUpdate.backward", "grad_out is ignored",
                                  swap("LogisticUpdate-solution", LOGI, "return Y * (1.0 - Y)")),
    # SoftmaxClassifier.backward
    "softmax-backward-without-the-division-by-N": ("SoftmaxClassifier.backward", "/N is missing",
                                                   swap("SoftmaxClassifier-solution", SOFT_B,
                                                        "return P - one_hot(T, P.shape[0])")),
    "softmax-backward-negated": ("SoftmaxClassifier.backward", "wrong sign", swap(
        "SoftmaxClassifier-solution", SOFT_B, "return (one_hot(T, P.shape[0]) - P) / P.shape[1]")),
    # SoftmaxClassifier.cross_entropy
    "cross-entropy-sum-not-mean": ("SoftmaxClassifier.cross_entropy", "times too large", swap(
        "SoftmaxClassifier-solution", CE_RET, "return float(-np.sum(np.log(np.clip(p_true, 1e-300, 1.0))))")),
    "cross-entropy-not-clipped": ("SoftmaxClassifier.cross_entropy", "clip", swap(
        "SoftmaxClassifier-solution", CE_RET, "return float(-np.mean(np.log(p_true)))")),
    # Layer.backward
    "layer-missing-sigma-prime": ("Layer.backward", "σ′ is missing", swap(
        "Layer-solution", "gZ = self.logistic.backward(Y, grad_out)", "gZ = grad_out")),
    "layer-sigma-prime-of-wrong-variable": ("Layer.backward", "wrong variable", swap(
        "Layer-solution", "gZ = self.logistic.backward(Y, grad_out)",
        "gZ = grad_out * logistic(Y) * (1 - logistic(Y))")),
    # Network.l2_penalty
    "l2-penalty-on-the-biases-too": ("Network.l2_penalty", "biases are penalised too", swap(
        "Network-solution", L2, "return 0.5 * lam * sum(float(np.sum(l.W ** 2) + np.sum(l.b ** 2)) "
        "for l in self.linears())")),
    "l2-penalty-lam-not-halved": ("Network.l2_penalty", "factor 2", swap(
        "Network-solution", L2, "return lam * sum(float(np.sum(linear.W ** 2)) for linear in self.linears())")),
    # Network.gradients
    "gradients-L2-term-missing": ("Network.gradients", "L2 term is missing", swap(
        "Network-solution", GRAD_RET, '"W1": gW1, "b1": gb1,')),
    "gradients-L2-on-the-bias": ("Network.gradients", "biases too", swap(
        "Network-solution", GRAD_RET, '"W1": gW1 + lam * self.hidden1.linear.W, '
        '"b1": gb1 + lam * self.hidden1.linear.b,')),
    "gradients-L2-factor-2": ("Network.gradients", "factor 2", swap(
        "Network-solution", GRAD_RET, '"W1": gW1 + 2 * lam * self.hidden1.linear.W, "b1": gb1,')),
    "gradients-softmax-without-the-division-by-N": ("Network.gradients", "missing its /N", swap(
        "Network-solution", "g_scores = self.classifier.backward(P, T)  # (K, N)",
        "g_scores = P - one_hot(T, P.shape[0])")),
    # momentum_update
    "momentum-adds-the-gradient": ("momentum_update", "gradient is added", swap(
        "momentum_update-solution", MOM_V,
        "new_velocities = {k: momentum * velocities[k] + learning_rate * grads[k] for k in params}")),
    "momentum-modifies-velocities-in-place": ("momentum_update", "in place", swap(
        "momentum_update-solution", MOM_V,
        "new_velocities = velocities\n    for k in params:\n"
        "        velocities[k] = momentum * velocities[k] - learning_rate * grads[k]")),
    # train
    "train-records-before-the-step": ("train", "before each step", swap(
        "train-solution",
        "        network.set_parameters(params)\n"
        "        history[\"train_loss\"].append(network.loss(X_train, T_train, lam))\n"
        "        history[\"val_loss\"].append(network.loss(X_val, T_val, lam))\n"
        "        history[\"val_accuracy\"].append(accuracy(network, X_val, T_val))\n",
        "        history[\"train_loss\"].append(network.loss(X_train, T_train, lam))\n"
        "        history[\"val_loss\"].append(network.loss(X_val, T_val, lam))\n"
        "        history[\"val_accuracy\"].append(accuracy(network, X_val, T_val))\n"
        "        network.set_parameters(params)\n")),
    "train-velocities-reset-every-epoch": ("train", "restart at zero", swap(
        "train-solution", "        grads = network.gradients(X_train, T_train, lam)\n",
        "        grads = network.gradients(X_train, T_train, lam)\n"
        "        velocities = {k: np.zeros_like(v) for k, v in params.items()}\n")),
    "train-ignores-lam-in-the-gradients": ("train", "lam is not passed", swap(
        "train-solution", "grads = network.gradients(X_train, T_train, lam)",
        "grads = network.gradients(X_train, T_train)")),
}


@pytest.mark.parametrize("item, diagnosis, replace", MUTANTS.values(), ids=MUTANTS.keys())
def test_single_bug_costs_its_own_item_only_and_is_diagnosed(item, diagnosis, replace, tmp_path):
    assert_bug_costs_once(grade(submission(tmp_path, A, replace=replace)), item, diagnosis)


def test_mutants_cover_every_graded_name():
    assert {item for item, _, _ in MUTANTS.values()} == set(ITEMS)

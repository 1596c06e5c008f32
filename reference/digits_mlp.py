"""Reference solution of the ``digits_mlp`` assignment.

Data is column-major: an activation A is (n_features, N), one column per example.
Class labels T are an int array (N,). Losses are *means* over the N examples; the
L2 term is (λ/2) Σ_l ||W_l||², on the weights only, never on the biases.
"""
import numpy as np

from reference.logistic_regression import logistic

_TINY = np.finfo(np.float64).tiny


def softmax(A):
    """Column-wise softmax of A (K, N): each column is a probability vector (K, N)."""
    A = np.asarray(A, dtype=np.float64)
    shifted = A - A.max(axis=0, keepdims=True)  # largest entry 0: exp cannot overflow
    e = np.exp(shifted)
    return e / e.sum(axis=0, keepdims=True)


def one_hot(T, n_classes):
    """(K, N) matrix with a 1 in row T[i] of column i, for labels T (N,)."""
    T = np.asarray(T)
    Y = np.zeros((n_classes, T.shape[0]))
    Y[T, np.arange(T.shape[0])] = 1.0
    return Y


class LinearUpdate:
    """Y = W.T @ A + b with W (n_in, n_out) and b (n_out, 1)."""

    def __init__(self, n_in, n_out, W=None, b=None, rng=None):
        rng = np.random.default_rng(0) if rng is None else rng
        # Glorot-style scale keeps the logistic units out of saturation at the start.
        self.W = rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), (n_in, n_out)) if W is None else W
        self.b = np.zeros((n_out, 1)) if b is None else b

    def forward(self, A):
        """A (n_in, N) -> Y (n_out, N)."""
        return self.W.T @ A + self.b

    def backward(self, A, gY):
        """Gradients (gA (n_in, N), gW (n_in, n_out), gb (n_out, 1)) from gY = dL/dY (n_out, N)."""
        gA = self.W @ gY  # (n_in, n_out) @ (n_out, N)
        gW = A @ gY.T  # (n_in, N) @ (N, n_out)
        gb = gY.sum(axis=1, keepdims=True)  # sum over the examples, (n_out, 1)
        return gA, gW, gb


class LogisticUpdate:
    """Y = σ(Z) elementwise."""

    def forward(self, Z):
        """Z -> σ(Z), same shape."""
        return logistic(Z)

    def backward(self, Y, grad_out):
        """dL/dZ = grad_out * σ'(Z), with σ'(Z) = Y (1 - Y) from the output Y."""
        return grad_out * Y * (1.0 - Y)


class SoftmaxClassifier:
    """P = softmax(A), and its mean cross-entropy against integer labels."""

    def forward(self, A):
        """A (K, N) -> class probabilities P (K, N)."""
        return softmax(A)

    def backward(self, P, T):
        """dL/dA (K, N) of the mean cross-entropy, for P = softmax(A) and labels T (N,)."""
        P = np.asarray(P, dtype=np.float64)
        return (P - one_hot(T, P.shape[0])) / P.shape[1]

    def cross_entropy(self, P, T):
        """Mean over the N examples of -log P[T_i, i]: a float, finite when P[T_i, i] is 0."""
        P = np.asarray(P, dtype=np.float64)
        T = np.asarray(T)
        p_true = P[T, np.arange(P.shape[1])]  # (N,): probability given to the right class
        return float(-np.mean(np.log(np.clip(p_true, _TINY, 1.0))))


class Layer:
    """A hidden layer: Y = σ(linear.W.T @ A + linear.b)."""

    def __init__(self, n_in, n_out, rng=None):
        self.linear = LinearUpdate(n_in, n_out, rng=rng)
        self.logistic = LogisticUpdate()

    def forward(self, A):
        """A (n_in, N) -> Y (n_out, N)."""
        return self.logistic.forward(self.linear.forward(A))

    def backward(self, A, Y, grad_out):
        """(gA, gW, gb) from the layer's input A, output Y and grad_out = dL/dY."""
        gZ = self.logistic.backward(Y, grad_out)
        return self.linear.backward(A, gZ)


PARAMETER_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


class Network:
    """Two hidden logistic layers and a softmax output.

    P = softmax(W3.T @ σ(W2.T @ σ(W1.T @ X + b1) + b2) + b3), X (n_in, N), P (K, N).
    """

    def __init__(self, n_in, n_hidden1, n_hidden2, n_classes, seed=0):
        rng = np.random.default_rng(seed)
        self.hidden1 = Layer(n_in, n_hidden1, rng=rng)
        self.hidden2 = Layer(n_hidden1, n_hidden2, rng=rng)
        self.output = LinearUpdate(n_hidden2, n_classes, rng=rng)
        self.classifier = SoftmaxClassifier()

    def linears(self):
        """The three LinearUpdate objects, input side first."""
        return [self.hidden1.linear, self.hidden2.linear, self.output]

    def parameters(self):
        """Dict W1, b1, W2, b2, W3, b3 of the network's arrays (the arrays themselves)."""
        params = {}
        for i, linear in enumerate(self.linears(), start=1):
            params[f"W{i}"], params[f"b{i}"] = linear.W, linear.b
        return params

    def set_parameters(self, params):
        """Replace the arrays by those of ``params`` (keys as ``parameters``)."""
        for i, linear in enumerate(self.linears(), start=1):
            linear.W, linear.b = params[f"W{i}"], params[f"b{i}"]

    def forward(self, X):
        """Activations (X, A1, A2, P) for X (n_in, N); P is (K, N)."""
        A1 = self.hidden1.forward(X)
        A2 = self.hidden2.forward(A1)
        P = self.classifier.forward(self.output.forward(A2))
        return X, A1, A2, P

    def predict(self, X):
        """Predicted labels (N,) for X (n_in, N)."""
        return self.forward(X)[-1].argmax(axis=0)

    def l2_penalty(self, lam):
        """(λ/2) Σ_l ||W_l||²: the weights only, not the biases."""
        return 0.5 * lam * sum(float(np.sum(linear.W ** 2)) for linear in self.linears())

    def loss(self, X, T, lam=0.0):
        """Mean cross-entropy of the predictions on X (n_in, N) for labels T (N,), plus the L2 term."""
        P = self.forward(X)[-1]
        return self.classifier.cross_entropy(P, T) + self.l2_penalty(lam)

    def gradients(self, X, T, lam=0.0):
        """Gradient of ``loss(X, T, lam)`` w.r.t. each parameter: dict keyed as ``parameters``."""
        X, A1, A2, P = self.forward(X)
        g_scores = self.classifier.backward(P, T)  # (K, N)
        gA2, gW3, gb3 = self.output.backward(A2, g_scores)
        gA1, gW2, gb2 = self.hidden2.backward(A1, A2, gA2)
        _, gW1, gb1 = self.hidden1.backward(X, A1, gA1)
        return {
            "W1": gW1 + lam * self.hidden1.linear.W, "b1": gb1,
            "W2": gW2 + lam * self.hidden2.linear.W, "b2": gb2,
            "W3": gW3 + lam * self.output.W, "b3": gb3,
        }


def momentum_update(params, grads, velocities, learning_rate, momentum):
    """One momentum step on dicts of arrays; returns (new_params, new_velocities).

    v <- momentum * v - learning_rate * g, then p <- p + v. The inputs are not modified.
    """
    new_velocities = {k: momentum * velocities[k] - learning_rate * grads[k] for k in params}
    new_params = {k: params[k] + new_velocities[k] for k in params}
    return new_params, new_velocities


def accuracy(network, X, T):
    """Fraction of the columns of X (n_in, N) whose predicted label equals T (N,)."""
    return float(np.mean(network.predict(X) == np.asarray(T)))


def train(network, X_train, T_train, X_val, T_val, epochs=300, learning_rate=0.5,
          momentum=0.9, lam=0.0):
    """Full-batch gradient descent with momentum; trains ``network`` in place.

    Returns a dict of per-epoch lists: ``train_loss``, ``val_loss`` and ``val_accuracy``.
    """
    params = network.parameters()
    velocities = {k: np.zeros_like(v) for k, v in params.items()}
    history = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    for _ in range(epochs):
        grads = network.gradients(X_train, T_train, lam)
        params, velocities = momentum_update(params, grads, velocities, learning_rate, momentum)
        network.set_parameters(params)
        history["train_loss"].append(network.loss(X_train, T_train, lam))
        history["val_loss"].append(network.loss(X_val, T_val, lam))
        history["val_accuracy"].append(accuracy(network, X_val, T_val))
    return history


def load_digits_split(seed=0):
    """scikit-learn's 8x8 digits, scaled to [0, 1], split 60/20/20 at random.

    Returns (X_train, T_train, X_val, T_val, X_test, T_test) with each X (64, N) and T (N,).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data / 16.0  # (1797, 64), pixels in [0, 1]
    T = digits.target
    order = np.random.default_rng(seed).permutation(len(T))
    n_train, n_val = int(0.6 * len(T)), int(0.2 * len(T))
    parts = np.split(order, [n_train, n_train + n_val])
    return tuple(a for idx in parts for a in (X[idx].T, T[idx]))

"""Reference solution of the ``logistic_regression`` assignment.

Conventions: inputs are row-major, ``x`` is (N, 2), targets ``t`` are (N, 1), the
weights ``w`` are a row vector (1, 2). The loss is the *mean* binary cross-entropy
over the N examples, so every gradient below is the gradient of that mean.
"""
import numpy as np

# log(tiny) is about -708: the loss stays finite when a prediction is exactly 0 or 1.
_TINY = np.finfo(np.float64).tiny


def logistic(z):
    """σ(z) = 1 / (1 + exp(-z)) elementwise; same shape as ``z``, never overflows."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))  # in (0, 1]: no overflow for any z
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def nn(x, w):
    """Output of the logistic unit, (N, 1): σ(x @ w.T) for x (N, 2) and w (1, 2)."""
    return logistic(np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64).T)


def nn_predict(x, w):
    """Predicted class, (N, 1) of 0.0 / 1.0: 1 where the output is above 0.5 (np.round sends 0.5 to 0)."""
    return np.round(nn(x, w))


def loss(y, t):
    """Mean binary cross-entropy of predictions ``y`` (N, 1) against targets ``t`` (N, 1).

    -(1/N) Σ [t log y + (1 - t) log(1 - y)], a float; finite even where y is 0 or 1.
    """
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    log_y = np.log(np.clip(y, _TINY, 1.0))
    log_1_minus_y = np.log(np.clip(1.0 - y, _TINY, 1.0))
    return float(-np.mean(t * log_y + (1.0 - t) * log_1_minus_y))


def gradient(w, x, t):
    """d loss(nn(x, w), t) / dw, (1, 2).

    With y = σ(x @ w.T), the chain rule gives dL/dz_i = (y_i - t_i) / N, and
    dz_i/dw = x_i, so the gradient is (y - t).T @ x / N: the *mean* over examples.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    error = nn(x, w) - t  # (N, 1)
    return error.T @ x / x.shape[0]  # (1, N) @ (N, 2) -> (1, 2)


def delta_w(w_k, x, t, learning_rate):
    """The gradient-descent step, (1, 2): learning_rate * gradient(w_k, x, t).

    The update is w_{k+1} = w_k - delta_w(w_k, x, t, learning_rate).
    """
    return learning_rate * gradient(w_k, x, t)


def xor_features(x):
    """Features [1, x1, x2, x1*x2] of each row of x (N, 2): (N, 4)."""
    x = np.asarray(x, dtype=np.float64)
    x1, x2 = x[:, 0], x[:, 1]
    return np.column_stack([np.ones_like(x1), x1, x2, x1 * x2])


def xor_feature_weights():
    """Weights (4,) of one logistic unit on ``xor_features`` that classifies XOR.

    z = -5 + 10 x1 + 10 x2 - 20 x1 x2 is -5 at (0,0) and (1,1) and +5 at (0,1) and
    (1,0): the product feature cancels the double count that a line cannot.
    """
    return np.array([-5.0, 10.0, 10.0, -20.0])

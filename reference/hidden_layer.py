"""Reference solution of the ``hidden_layer`` assignment.

The network is y = σ(σ(X @ W1 + b1) @ W2 + b2), row-major: X (N, D), the hidden
activations H (N, H), the output y (N, 1). Its loss is the *mean* binary
cross-entropy over the N examples.
"""
import numpy as np

from reference.logistic_regression import logistic, loss


def forward(X, params):
    """Hidden activations (N, H) and output (N, 1) of the network for X (N, D).

    ``params`` holds W1 (D, H), b1 (H,), W2 (H, 1), b2 (1,).
    """
    X = np.asarray(X, dtype=np.float64)
    hidden = logistic(X @ params["W1"] + params["b1"])  # (N, H)
    output = logistic(hidden @ params["W2"] + params["b2"])  # (N, 1)
    return hidden, output


def network_loss(X, t, params):
    """Mean binary cross-entropy of the network on X (N, D), t (N, 1): a float."""
    return loss(forward(X, params)[1], t)


def xor_network_weights():
    """Hand-set (W1 (2, 3), b1 (3,), W2 (3,), b2 scalar) that compute XOR.

    Hidden unit 1 is OR (fires when x1 + x2 >= 1), unit 2 is AND (x1 + x2 >= 2),
    unit 3 is NAND. The output adds OR and NAND and subtracts AND, so it is
    positive only where exactly one input is 1. Every pre-activation is at least 10
    away from 0, so each output is within 1e-4 of 0 or 1.
    """
    W1 = np.array([[20.0, 20.0, -20.0],
                   [20.0, 20.0, -20.0]])
    b1 = np.array([-10.0, -30.0, 30.0])
    W2 = np.array([20.0, -20.0, 20.0])
    b2 = -30.0
    return W1, b1, W2, b2


def backprop(X, t, params):
    """Gradients of the mean binary cross-entropy w.r.t. each parameter.

    X (N, D), t (N, 1); ``params`` holds W1 (D, H), b1 (H,), W2 (H, 1), b2 (1,).
    Returns a dict with the same keys and shapes.
    """
    X = np.asarray(X, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    hidden, y = forward(X, params)  # (N, H), (N, 1)
    n = X.shape[0]
    g_out = (y - t) / n  # (N, 1): dL/d(output pre-activation), σ' cancels with the loss
    g_hidden = (g_out @ np.asarray(params["W2"], dtype=np.float64).T) * hidden * (1.0 - hidden)  # (N, H)
    return {
        "W1": X.T @ g_hidden,  # (D, H)
        "b1": g_hidden.sum(axis=0),  # (H,)
        "W2": hidden.T @ g_out,  # (H, 1)
        "b2": g_out.sum(axis=0),  # (1,)
    }

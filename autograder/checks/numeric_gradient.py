"""The one central-difference gradient routine of the kit, in float64."""
import numpy as np


def numeric_gradient(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function ``f`` at the array ``x``.

    Returns an array of x's shape whose entry i is (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).
    ``x`` is copied, never modified; the error is O(eps²) for smooth f.
    """
    x = np.array(x, dtype=np.float64)  # a private copy we may perturb
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + eps
        f_plus = float(f(x.copy()))
        x[i] = original - eps
        f_minus = float(f(x.copy()))
        x[i] = original
        grad[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad

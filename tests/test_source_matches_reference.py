"""The solution code in source/ behaves exactly as reference/, on random inputs.

The notebook's grading code (every cell but checks and ``skip-grading`` cells) is run in
a fresh namespace, then each graded name is called beside the reference on inputs with
distinct dimensions, and the results must agree to 1e-12.
"""
import numpy as np
import pytest

from autograder.notebook.code_cells import grading_code, read_notebook
from autograder.sandbox.inside.ipython_shell import ZMQInteractiveShell
from conftest import ROOT
from reference import digits_mlp as dm
from reference import hidden_layer as hl
from reference import logistic_regression as lr

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
XOR = np.array([False, True, True, False])


def source_namespace(assignment):
    namespace = {"__name__": "source_notebook"}
    namespace["get_ipython"] = ZMQInteractiveShell(namespace).get_ipython  # the source's %matplotlib, as in the sandbox
    for code in grading_code(read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")):
        exec(compile(code, assignment, "exec"), namespace)
    return namespace


def same(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def lr_nb():
    return source_namespace("logistic_regression")


@pytest.fixture(scope="module")
def hl_nb():
    return source_namespace("hidden_layer")


@pytest.fixture(scope="module")
def dm_nb():
    return source_namespace("digits_mlp")


def rng(seed):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logistic_regression_names_match(lr_nb, seed):
    r = rng(seed)
    z = np.concatenate([r.normal(0, 5, size=(3, 5)), [[-1000, 1000, 0, -30, 30]]])
    same(lr_nb["logistic"](z), lr.logistic(z))
    x, t, w = r.normal(size=(7, 2)), r.integers(0, 2, size=(7, 1)), r.normal(size=(1, 2))
    for name in ("nn", "nn_predict"):
        same(lr_nb[name](x, w), getattr(lr, name)(x, w))
    y = np.concatenate([lr.nn(x, w), [[0.0], [1.0]]])
    tt = np.concatenate([t, [[1], [0]]])
    same(lr_nb["loss"](y, tt), lr.loss(y, tt))
    same(lr_nb["gradient"](w, x, t), lr.gradient(w, x, t))
    same(lr_nb["delta_w"](w, x, t, 0.3), lr.delta_w(w, x, t, 0.3))
    same(lr_nb["xor_features"](x), lr.xor_features(x))


def test_xor_feature_weights_classify_xor(lr_nb):
    out = lr.logistic(lr.xor_features(XOR_INPUTS) @ lr_nb["xor_feature_weights"]())
    assert ((out > 0.5) == XOR).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_layer_names_match(hl_nb, seed):
    r = rng(seed)
    X, t = r.normal(size=(6, 3)), r.integers(0, 2, size=(6, 1))
    params = {"W1": r.normal(size=(3, 4)), "b1": r.normal(size=4), "W2": r.normal(size=(4, 1)), "b2": r.normal(size=1)}
    for got, want in zip(hl_nb["forward"](X, params), hl.forward(X, params)):
        same(got, want)
    same(hl_nb["network_loss"](X, t, params), hl.network_loss(X, t, params))
    got, want = hl_nb["backprop"](X, t, params), hl.backprop(X, t, params)
    assert set(got) == set(want)
    for key in want:
        same(got[key], want[key])


def test_xor_network_weights_meet_margins(hl_nb):
    W1, b1, W2, b2 = hl_nb["xor_network_weights"]()
    y = lr.logistic(lr.logistic(XOR_INPUTS @ W1 + b1) @ W2 + b2)
    assert (y[XOR] > 0.9).all() and (y[~XOR] < 0.1).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_mlp_layer_methods_match(dm_nb, seed):
    r = rng(seed)
    n_in, n_out, N = 5, 3, 7
    W, b = r.normal(size=(n_in, n_out)), r.normal(size=(n_out, 1))
    A, G = r.normal(size=(n_in, N)), r.normal(size=(n_out, N))
    for got, want in zip(dm_nb["LinearUpdate"](n_in, n_out, W=W, b=b).backward(A, G),
                         dm.LinearUpdate(n_in, n_out, W=W, b=b).backward(A, G)):
        same(got, want)
    Y = lr.logistic(r.normal(size=(n_out, N)))
    same(dm_nb["LogisticUpdate"]().backward(Y, G), dm.LogisticUpdate().backward(Y, G))
    scores = np.concatenate([r.normal(size=(3, N)), np.full((1, N), 1000.0)])
    P, T = dm.softmax(scores), r.integers(0, 4, size=N)
    same(dm_nb["softmax"](scores), P)
    same(dm_nb["SoftmaxClassifier"]().backward(P, T), dm.SoftmaxClassifier().backward(P, T))
    same(dm_nb["SoftmaxClassifier"]().cross_entropy(P, T), dm.SoftmaxClassifier().cross_entropy(P, T))
    layer, ref_layer = dm_nb["Layer"](n_in, n_out), dm.Layer(n_in, n_out)
    layer.linear.W, layer.linear.b = W, b
    ref_layer.linear.W, ref_layer.linear.b = W, b
    Y = ref_layer.forward(A)
    same(layer.forward(A), Y)
    for got, want in zip(layer.backward(A, Y, G), ref_layer.backward(A, Y, G)):
        same(got, want)


def network_pair(dm_nb, seed):
    """The notebook's Network and the reference's, holding the same random parameters."""
    ref = dm.Network(6, 5, 4, 3, seed=seed)
    for linear in ref.linears():
        linear.b = rng(seed + 10).normal(size=linear.b.shape)
    net = dm_nb["Network"](6, 5, 4, 3, seed=seed)
    net.set_parameters({k: v.copy() for k, v in ref.parameters().items()})
    return net, ref


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_mlp_network_matches(dm_nb, seed):
    net, ref = network_pair(dm_nb, seed)
    X, T = rng(seed).normal(size=(6, 9)), rng(seed).integers(0, 3, size=9)
    same(net.l2_penalty(0.3), ref.l2_penalty(0.3))
    same(net.loss(X, T, 0.3), ref.loss(X, T, 0.3))
    same(net.predict(X), ref.predict(X))
    got, want = net.gradients(X, T, 0.3), ref.gradients(X, T, 0.3)
    assert set(got) == set(want)
    for key in want:
        same(got[key], want[key])
    params, grads = ref.parameters(), ref.gradients(X, T, 0.3)
    velocities = {k: rng(seed).normal(size=v.shape) for k, v in params.items()}
    for got, want in zip(dm_nb["momentum_update"](params, grads, velocities, 0.1, 0.8),
                         dm.momentum_update(params, grads, velocities, 0.1, 0.8)):
        for key in want:
            same(got[key], want[key])


def test_digits_mlp_training_and_data_match(dm_nb):
    got_split, want_split = dm_nb["load_digits_split"](), dm.load_digits_split()
    for got, want in zip(got_split, want_split):
        same(got, want)
    X_train, T_train, X_val, T_val = (a[..., :200] for a in want_split[:4])
    net, ref = dm_nb["Network"](64, 5, 4, 10, seed=3), dm.Network(64, 5, 4, 10, seed=3)
    net.set_parameters({k: v.copy() for k, v in ref.parameters().items()})
    got = dm_nb["train"](net, X_train, T_train, X_val, T_val, 20, 0.5, 0.9, 1e-3)
    want = dm.train(ref, X_train, T_train, X_val, T_val, 20, 0.5, 0.9, 1e-3)
    assert set(got) == set(want)
    for key in want:
        same(got[key], want[key])
    same(dm_nb["accuracy"](net, X_val, T_val), dm.accuracy(ref, X_val, T_val))

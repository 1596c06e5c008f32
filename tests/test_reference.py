"""The reference solution against closed forms and central-difference gradients, in float64."""
import numpy as np
import pytest

from autograder.checks.numeric_gradient import numeric_gradient
from reference import digits_mlp as dm
from reference import hidden_layer as hl
from reference import logistic_regression as lr

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
XOR_TARGETS = np.array([0, 1, 1, 0])


def rng(seed=0):
    return np.random.default_rng(seed)


# --- logistic_regression ---------------------------------------------------------------

def test_logistic_closed_form_values():
    z = np.array([[0.0, np.log(3.0)], [-np.log(3.0), 2.0]])
    expected = np.array([[0.5, 0.75], [0.25, 1 / (1 + np.exp(-2.0))]])
    np.testing.assert_allclose(lr.logistic(z), expected, rtol=1e-15)


def test_logistic_is_finite_and_saturates_at_1000():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = lr.logistic(np.array([-1000.0, 1000.0]))
    assert out.tolist() == [0.0, 1.0]


def test_logistic_accepts_integers_and_keeps_shape():
    out = lr.logistic(np.arange(-3, 3).reshape(2, 3))
    assert out.shape == (2, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out + lr.logistic(-np.arange(-3, 3).reshape(2, 3)), 1.0)


def test_loss_closed_form_and_saturation():
    t = np.array([[1.0], [0.0]])
    assert lr.loss(np.full((2, 1), 0.5), t) == pytest.approx(np.log(2.0), rel=1e-15)
    assert lr.loss(np.array([[0.9], [0.2]]), t) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    saturated = lr.loss(lr.logistic(np.array([[-1000.0], [1000.0]])), t)
    assert np.isfinite(saturated) and saturated > 700


def test_gradient_matches_numeric_gradient():
    x, t = rng().normal(size=(7, 2)), rng(1).integers(0, 2, size=(7, 1))
    w = rng(2).normal(size=(1, 2))
    numeric = numeric_gradient(lambda w_: lr.loss(lr.nn(x, w_), t), w)
    assert lr.gradient(w, x, t).shape == (1, 2)
    np.testing.assert_allclose(lr.gradient(w, x, t), numeric, rtol=1e-7, atol=1e-10)


def test_delta_w_is_learning_rate_times_gradient_and_inputs_untouched():
    x, t, w = rng().normal(size=(5, 2)), rng(1).integers(0, 2, size=(5, 1)), rng(2).normal(size=(1, 2))
    copies = [a.copy() for a in (w, x, t)]
    np.testing.assert_allclose(lr.delta_w(w, x, t, 0.3), 0.3 * lr.gradient(w, x, t), rtol=1e-15)
    for before, after in zip(copies, (w, x, t)):
        np.testing.assert_array_equal(before, after)


def test_xor_feature_weights_classify_xor():
    out = lr.logistic(lr.xor_features(XOR_INPUTS) @ lr.xor_feature_weights())
    assert lr.xor_feature_weights().shape == (4,)
    assert ((out > 0.5) == XOR_TARGETS.astype(bool)).all()


# --- hidden_layer -------------------------------------------------------------------------

def random_params(D=3, H=4, seed=3):
    r = rng(seed)
    return {"W1": r.normal(size=(D, H)), "b1": r.normal(size=H),
            "W2": r.normal(size=(H, 1)), "b2": r.normal(size=1)}


def test_xor_network_weights_meet_margins():
    W1, b1, W2, b2 = hl.xor_network_weights()
    assert (W1.shape, b1.shape, W2.shape, np.shape(b2)) == ((2, 3), (3,), (3,), ())
    y = lr.logistic(lr.logistic(XOR_INPUTS @ W1 + b1) @ W2 + b2)
    assert (y[XOR_TARGETS == 1] > 0.9).all() and (y[XOR_TARGETS == 0] < 0.1).all()


@pytest.mark.parametrize("name", ["W1", "b1", "W2", "b2"])
def test_backprop_matches_numeric_gradient(name):
    X, t, params = rng().normal(size=(5, 3)), rng(1).integers(0, 2, size=(5, 1)), random_params()

    def loss_of(value):
        return hl.network_loss(X, t, {**params, name: value})

    grads = hl.backprop(X, t, params)
    assert grads[name].shape == params[name].shape
    np.testing.assert_allclose(grads[name], numeric_gradient(loss_of, params[name]), rtol=1e-6, atol=1e-10)


# --- digits_mlp ---------------------------------------------------------------------------

def test_softmax_is_stable_and_columns_sum_to_one():
    A = np.array([[1000.0, -1000.0, 0.0], [0.0, 1000.0, 0.0]])
    P = dm.softmax(A)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(axis=0), 1.0)
    np.testing.assert_allclose(P[:, 2], [0.5, 0.5])


def test_cross_entropy_closed_form_and_saturation():
    K, N = 4, 6
    assert dm.SoftmaxClassifier().cross_entropy(np.full((K, N), 1 / K), np.arange(N) % K) == pytest.approx(np.log(K))
    P = dm.softmax(np.array([[1000.0, 0.0], [0.0, 1000.0]]))
    assert np.isfinite(dm.SoftmaxClassifier().cross_entropy(P, np.array([1, 0])))


def test_linear_backward_matches_numeric_gradient():
    n_in, n_out, N = 4, 3, 5
    layer = dm.LinearUpdate(n_in, n_out, rng=rng(1))
    layer.b = rng(2).normal(size=(n_out, 1))
    A, G = rng(3).normal(size=(n_in, N)), rng(4).normal(size=(n_out, N))
    gA, gW, gb = layer.backward(A, G)
    np.testing.assert_allclose(gA, numeric_gradient(lambda a: np.sum(G * layer.forward(a)), A), rtol=1e-6)
    np.testing.assert_allclose(gW, numeric_gradient(
        lambda w: np.sum(G * dm.LinearUpdate(n_in, n_out, W=w, b=layer.b).forward(A)), layer.W), rtol=1e-6)
    np.testing.assert_allclose(gb, numeric_gradient(
        lambda b: np.sum(G * dm.LinearUpdate(n_in, n_out, W=layer.W, b=b).forward(A)), layer.b), rtol=1e-6)


def test_logistic_backward_matches_numeric_gradient():
    Z, G = rng().normal(size=(3, 5)), rng(1).normal(size=(3, 5))
    unit = dm.LogisticUpdate()
    numeric = numeric_gradient(lambda z: np.sum(G * unit.forward(z)), Z)
    np.testing.assert_allclose(unit.backward(unit.forward(Z), G), numeric, rtol=1e-6, atol=1e-10)


def test_softmax_backward_matches_numeric_gradient():
    A, T = rng().normal(size=(4, 6)), rng(1).integers(0, 4, size=6)
    clf = dm.SoftmaxClassifier()
    numeric = numeric_gradient(lambda a: clf.cross_entropy(clf.forward(a), T), A)
    np.testing.assert_allclose(clf.backward(clf.forward(A), T), numeric, rtol=1e-6, atol=1e-10)


def test_layer_backward_matches_numeric_gradient():
    layer = dm.Layer(4, 3, rng=rng(5))
    A, G = rng().normal(size=(4, 5)), rng(1).normal(size=(3, 5))
    gA, _, _ = layer.backward(A, layer.forward(A), G)
    np.testing.assert_allclose(gA, numeric_gradient(lambda a: np.sum(G * layer.forward(a)), A), rtol=1e-6)


@pytest.mark.parametrize("name", dm.PARAMETER_NAMES)
def test_network_gradients_with_l2_match_numeric_gradient(name):
    net, lam = dm.Network(5, 4, 3, 6, seed=1), 0.1
    for linear in net.linears():
        linear.b = rng(7).normal(size=linear.b.shape)
    X, T = rng().normal(size=(5, 7)), rng(1).integers(0, 6, size=7)
    params = net.parameters()

    def loss_of(value):
        trial = dm.Network(5, 4, 3, 6)
        trial.set_parameters({**params, name: value})
        return trial.loss(X, T, lam)

    grads = net.gradients(X, T, lam)
    assert grads[name].shape == params[name].shape
    np.testing.assert_allclose(grads[name], numeric_gradient(loss_of, params[name]), rtol=1e-6, atol=1e-9)


def test_l2_penalty_is_on_weights_only():
    net = dm.Network(3, 2, 2, 2)
    expected = 0.5 * 0.2 * sum(np.sum(l.W ** 2) for l in net.linears())
    for linear in net.linears():
        linear.b = np.full_like(linear.b, 100.0)
    assert net.l2_penalty(0.2) == pytest.approx(expected)


def test_momentum_update_closed_form_and_inputs_untouched():
    p, g, v = {"W": np.array([1.0, 2.0])}, {"W": np.array([0.5, -1.0])}, {"W": np.array([0.1, 0.0])}
    new_p, new_v = dm.momentum_update(p, g, v, learning_rate=0.2, momentum=0.9)
    np.testing.assert_allclose(new_v["W"], [0.09 - 0.1, 0.2])
    np.testing.assert_allclose(new_p["W"], [1.0 - 0.01, 2.2])
    assert p["W"].tolist() == [1.0, 2.0] and v["W"].tolist() == [0.1, 0.0]


def test_training_reaches_the_promised_test_accuracy():
    X_train, T_train, X_val, T_val, X_test, T_test = dm.load_digits_split()
    net = dm.Network(64, 30, 20, 10, seed=0)
    history = dm.train(net, X_train, T_train, X_val, T_val, epochs=300, lam=1e-4)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert dm.accuracy(net, X_test, T_test) >= 0.95

"""Hidden checks of digits_mlp: the backward methods, the network's L2 term and gradients,
momentum_update and train. Their mistake catalogue is mistakes.py.

Data is column-major (an activation is (n_features, N)); every input has its dimensions
distinct (never square, never N = 1), so that a transposed or broadcast result shows.
train's Network argument is built where the call runs (``objects``) and its parameters read back
(``read``): its result is (history, trained parameters).
"""
import functools

import numpy as np

from autograder.assignments.digits_mlp import mistakes
from autograder.assignments.digits_mlp.mistakes import (L2_ON_BIASES, L2_TOO_LARGE, L2_TOO_SMALL, MISSING_L2,
                                                        PARAM_KEYS, TRAIN_KEYS, n_of, ref_net, shape_hint)
from autograder.checks.engine import Case, Item, Numeric, checks, tree_map, uses
from autograder.checks.expect import CheckFailed, Mistake, describe, expect_close
from autograder.checks.properties import saturated_loss
from autograder.scores.scoring import VALUE
from reference import digits_mlp as ref
from reference.logistic_regression import logistic

ORDER = ("W3", "b3", "W2", "b2", "W1", "b1")  # output side first: where a mistake starts
ATTRIBUTE_OF = {"W1": "hidden1.linear.W", "b1": "hidden1.linear.b", "W2": "hidden2.linear.W",
                "b2": "hidden2.linear.b", "W3": "output.W", "b3": "output.b"}
GRADS = ("gA", "gW", "gb")
BACKWARD = ("LinearUpdate.backward", "LogisticUpdate.backward", "SoftmaxClassifier.backward")


def hint(name=lambda path: "the result"):
    return lambda got, want, path, i: shape_hint(got, want, n_of(i), name(path))


def linear_state(linear):
    return linear.W.shape, {"W": linear.W, "b": linear.b}


STATES = {"LinearUpdate.backward": linear_state, "LogisticUpdate.backward": lambda obj: ((), {}),
          "SoftmaxClassifier.backward": lambda obj: ((), {}),
          "Layer.backward": lambda layer: (layer.linear.W.shape,
                                           {"linear.W": layer.linear.W, "linear.b": layer.linear.b})}


def backward_item(name, **spec):
    """A backward method returning (gA, gW, gb) for a linear map W (n_in, n_out), b (n_out, 1)."""
    return Item(name, dims=tuple({"n_in": a, "n_out": b, "n": c} for a, b, c in ((5, 3, 7), (4, 6, 9), (7, 2, 5))),
                type_text="returns a tuple (gA, gW, gb) of three arrays", state=STATES.get(name),
                shape_text="has shapes (n_in, N), (n_in, n_out), (n_out, 1)", shape_hint=hint(lambda p: GRADS[p[0]]),
                part_label=lambda p: GRADS[p[0]], inputs_text=lambda i: "for n_in = {}, n_out = {}, N = {}".format(
                    *i["W"].shape, n_of(i)), **spec)


def linear(rng, n_in, n_out, n):
    return {"W": rng.normal(size=(n_in, n_out)), "b": rng.normal(size=(n_out, 1)), "A": rng.normal(size=(n_in, n)),
            "gY": rng.normal(size=(n_out, n))}


def linear_objective(ref, i):
    return float(np.sum(i["gY"] * (i["W"].T @ i["A"] + i["b"])))


def saturated_linear(rng):
    i = linear(rng, 5, 3, 7)
    return [{**i, "A": 1000.0 * np.sign(i["A"]), "W": np.sign(i["W"]) / 5.0, "b": np.full((3, 1), 1000.0)}]


LINEAR = backward_item(
    "LinearUpdate.backward", args=("A", "gY"), draw=linear, init=lambda i: i["W"].shape,
    attributes=lambda i: {"W": i["W"], "b": i["b"]}, mistakes=mistakes.linear_backward,
    value="matches W @ gY, A @ gY.T and gY summed over the examples",
    numeric=Numeric(linear_objective, {0: "A", 1: "W", 2: "b"}, {"n_in": 6, "n_out": 4, "n": 5},
                    "compared with central differences of sum(G * (W.T @ A + b)),",
                    "matches a numeric gradient of sum(G * forward(A)) for a random G"),
    cases=(Case("gives zero gradients for a zero upstream gradient",
                lambda rng: [{**linear(rng, 5, 3, 7), "gY": np.zeros((3, 7))}], note="for gY = 0"),
           Case("stays finite and exact when the pre-activations are ±1000", saturated_linear,
                note="with inputs of ±1000", finite="(gA, gW and gb are products and sums: nothing overflows)")),
    integers=lambda rng, i: {"W": rng.integers(-3, 4, size=(5, 3)), "b": rng.integers(-2, 3, size=(3, 1)),
                             "A": rng.integers(-3, 4, size=(5, 7)), "gY": rng.integers(-2, 3, size=(3, 7))})


def logistic_data(rng, r, c):
    Z = rng.normal(0.0, 2.0, size=(r, c))
    return {"Z": Z, "Y": logistic(Z), "grad_out": rng.normal(size=(r, c))}


SATURATED_Z = np.array([[-1000.0, -50.0, 0.0], [50.0, 1000.0, 3.0]])
LOGISTIC = Item(
    "LogisticUpdate.backward", args=("Y", "grad_out"), draw=logistic_data, state=STATES["LogisticUpdate.backward"],
    dims=({"r": 4, "c": 6}, {"r": 3, "c": 8}, {"r": 7, "c": 2}), inputs_text=lambda i: f"for Y of shape {i['Y'].shape}",
    value="matches grad_out * Y * (1 - Y)", mistakes=mistakes.logistic_backward,
    shape_text="keeps the shape of Y, (4, 6)", shape_hint=lambda got, want, path, i: shape_hint(got, want, -1, "dL/dZ"),
    numeric=Numeric(lambda ref, i: float(np.sum(i["grad_out"] * logistic(i["Z"]))), {None: "Z"}, {"r": 5, "c": 3},
                    "compared with central differences of sum(G * σ(Z)),",
                    "matches a numeric gradient of sum(G * σ(Z)) for a random G"),
    cases=(Case("gives zero for a zero upstream gradient", note="for grad_out = 0",
                inputs=lambda rng: [{**logistic_data(rng, 4, 6), "grad_out": np.zeros((4, 6))}]),
           Case("stays finite and exact at saturation (Z = ±1000)", note="for Z = ±1000",
                finite="(σ′ = Y (1 - Y) is 0 there)", inputs=lambda rng: [
                    {"Z": SATURATED_Z, "Y": logistic(SATURATED_Z), "grad_out": rng.normal(size=(2, 3))}])),
    integers=lambda rng, i: {"Y": rng.integers(0, 2, size=(3, 5)), "grad_out": rng.integers(-3, 4, size=(3, 5))})


def softmax_data(rng, k, n):
    S = rng.normal(0.0, 2.0, size=(k, n))
    return {"S": S, "P": ref.softmax(S), "T": rng.permutation(np.arange(n) % k)}


def ce_saturation(ctx):
    T = np.array([1, 0, 2])
    certain = ref.one_hot(T, 3)  # (3, 3): the right class has probability 1
    saturated_loss(ctx.student, ctx.call({"P": np.roll(certain, 1, axis=0), "T": T}), ctx.call({"P": certain, "T": T}),
                   "cross_entropy(P, T)", "P", "log(0) is -inf: clip P[T_i, i] into [ε, 1] first (any small ε, "
                   "e.g. 1e-12 or np.finfo(float).eps).")


SATURATED_S = np.array([[1000.0, -1000.0, 0.0, 5.0, 1000.0], [-1000.0, 1000.0, 0.0, 1.0, 0.0],
                        [0.0, 0.0, 1000.0, -1.0, -1000.0]])
SOFTMAX_DIMS = ({"k": 4, "n": 7}, {"k": 3, "n": 8}, {"k": 10, "n": 6})
SOFTMAX = dict(args=("P", "T"), draw=softmax_data, dims=SOFTMAX_DIMS, labels=("T",),
               inputs_text=lambda i: "for K = {}, N = {}".format(*i["P"].shape),
               integers=lambda rng, i: {"P": ref.one_hot(rng.integers(0, 3, size=5), 3).astype(int),
                                        "T": rng.permutation(np.arange(5) % 3)})
SOFTMAX_BACKWARD = Item(
    "SoftmaxClassifier.backward", **SOFTMAX, value="matches (P - one_hot(T)) / N", mistakes=mistakes.softmax_backward,
    state=STATES["SoftmaxClassifier.backward"], shape_text="has the shape of P, (K, N) = (4, 7)", shape_hint=hint(),
    numeric=Numeric(lambda ref, i: ref.SoftmaxClassifier().cross_entropy(ref.softmax(i["S"]), i["T"]), {None: "S"},
                    {"k": 3, "n": 5}, "compared with central differences of the mean cross-entropy in S,",
                    "matches a numeric gradient of the mean cross-entropy"),
    cases=(Case("is zero when P is exactly one_hot(T)", note="with P = one_hot(T, K)", inputs=lambda rng: [
        {"P": ref.one_hot(T, 4), "T": T} for T in [rng.permutation(np.arange(7) % 4)]]),
           Case("stays finite and exact for softmax inputs of ±1000", note="for scores of ±1000",
                finite="(P - one_hot(T) needs no exp or log)",
                inputs=lambda rng: [{"P": ref.softmax(SATURATED_S), "T": np.array([1, 1, 0, 2, 0])}])))
CROSS_ENTROPY = Item(
    "SoftmaxClassifier.cross_entropy", **SOFTMAX, state=lambda obj: ((), {}), mistakes=mistakes.cross_entropy,
    value="matches the mean of -log P[T_i, i]", type_text="returns one number",
    cases=(Case("stays finite and right when the right class has probability 0 or 1", body=ce_saturation),))


def layer_data(rng, n_in, n_out, n):
    i = linear(rng, n_in, n_out, n)
    return {"W": i["W"], "b": i["b"], "A": i["A"], "Y": logistic(i["W"].T @ i["A"] + i["b"]), "grad_out": i["gY"]}


def saturated_layer(rng):
    i = layer_data(rng, 5, 3, 7)
    b = np.array([[1000.0], [-1000.0], [0.0]])
    return [{**i, "b": b, "Y": logistic(i["W"].T @ i["A"] + b)}]


LAYER = backward_item(
    "Layer.backward", args=("A", "Y", "grad_out"), draw=layer_data, init=lambda i: i["W"].shape, uses=BACKWARD[:2],
    attributes=lambda i: {"linear.W": i["W"], "linear.b": i["b"]}, mistakes=mistakes.layer_backward,
    value="matches the logistic backward followed by the linear backward",
    numeric=Numeric(lambda ref, i: float(np.sum(i["grad_out"] * logistic(i["W"].T @ i["A"] + i["b"]))),
                    {0: "A", 1: "W", 2: "b"}, {"n_in": 6, "n_out": 4, "n": 5},
                    "compared with central differences of sum(G * σ(W.T @ A + b)),",
                    "matches a numeric gradient of sum(G * forward(A)) for a random G"),
    cases=(Case("gives zero gradients for a zero upstream gradient", note="for grad_out = 0",
                inputs=lambda rng: [{**layer_data(rng, 5, 3, 7), "grad_out": np.zeros((3, 7))}]),
           Case("stays finite and exact when the pre-activations are ±1000", saturated_layer,
                note="with pre-activations of ±1000",
                finite="(σ′ = Y (1 - Y) from the output Y does not overflow)")),
    integers=lambda rng, i: {"W": rng.integers(-2, 3, size=(5, 3)), "b": rng.integers(-1, 2, size=(3, 1)),
                             "A": rng.integers(-2, 3, size=(5, 7)), "Y": rng.integers(0, 2, size=(3, 7)),
                             "grad_out": rng.integers(-3, 4, size=(3, 7))})


# --- the Network: l2_penalty and gradients ------------------------------------------------------

NET = {"n_in": 6, "h1": 5, "h2": 4, "k": 3}


def param_shapes(n_in, h1, h2, k):
    return {"W1": (n_in, h1), "b1": (h1, 1), "W2": (h1, h2), "b2": (h2, 1), "W3": (h2, k), "b3": (k, 1)}


def network(rng, n_in, h1, h2, k, lam, n=None):
    """params of a Network (n_in, h1, h2, k), lam, and with ``n`` X (n_in, n) and labels T (n,)."""
    dims = (n_in, h1, h2, k)
    params = {key: rng.normal(size=shape) for key, shape in param_shapes(*dims).items()}
    data = {} if n is None else {"X": rng.normal(size=(n_in, n)), "T": rng.permutation(np.arange(n) % k)}
    return {"params": params, **data, "lam": lam, "dims": dims}


def net_dims(sizes):
    return [dict(zip(NET, dims)) for dims in sizes]


def network_state(net):
    """(init, attributes) that rebuild the Network ``net`` where a call runs (own paths)."""
    W1, W2, W3 = (linear.W for linear in net.linears())
    return (*W1.shape, W2.shape[1], W3.shape[1]), {ATTRIBUTE_OF[k]: v for k, v in net.parameters().items()}


NETWORK = dict(init=lambda i: i["dims"], attributes=lambda i: {ATTRIBUTE_OF[k]: i["params"][k] for k in PARAM_KEYS},
               state=network_state)


def at_lams(*lams, scale=1.0):
    def inputs(rng):
        i = network(rng, **NET, lam=0.0)
        i["params"] = {k: scale * np.sign(v) if scale != 1.0 else v for k, v in i["params"].items()}
        return [{**i, "lam": lam} for lam in lams]
    return inputs


L2 = Item(
    "Network.l2_penalty", args=("lam",), draw=network, **NETWORK, type_text="returns one number",
    dims=tuple({**d, "lam": lam} for d, lam in zip(net_dims(((6, 5, 4, 3), (7, 4, 3, 5), (3, 6, 2, 4))),
                                                    (0.3, 1.7, 0.01))),
    value="matches (lam / 2) Σ ||W||² on the weights only", mistakes=mistakes.l2_penalty,
    inputs_text=lambda i: f"for lam = {i['lam']}, sizes {i['dims']}",
    cases=(Case("is 0 for lam = 0 and proportional to lam", at_lams(0.0, 2.5), kind=VALUE, note="for lam = 0 and 2.5"),
           Case("stays finite and exact for weights of ±1000", at_lams(0.1, scale=1000.0),
                note="with weights of ±1000",
                finite="(the squares of ±1000 are 1e6: nothing overflows in floating point)")),
    integers=lambda rng, i: {**i, "params": {k: rng.integers(-3, 4, size=np.shape(v)) for k, v in i["params"].items()},
                             "lam": 2},
    integers_text="accepts integer weights and lam", unchanged=None)


def l2_difference(ctx):
    """gradients(lam) - gradients(0) is lam * W on the weights, 0 on the biases."""
    i, lam = network(ctx.rng, **NET, lam=0.0, n=9), 0.5
    g0, g1 = ctx.values([i, {**i, "lam": lam}])
    for g in (g0, g1):
        ctx.structure(g, i["params"], i)
    for key in ORDER:
        p = np.asarray(i["params"][key], float)
        what = f"gradients(X, T, {lam})['{key}'] - gradients(X, T, 0)['{key}']"
        diff = ctx.shaped(g1[key], p, (key,), i, what) - ctx.shaped(g0[key], p, (key,), i, what)
        expect_close(diff, lam * p if key.startswith("W") else np.zeros_like(p), what, {
            MISSING_L2: np.zeros_like(p), L2_ON_BIASES: lam * p, L2_TOO_LARGE: 2 * lam * p,
            L2_TOO_SMALL: 0.5 * lam * p})


def saturated_network(rng):
    i = network(rng, **NET, lam=0.1, n=9)
    i["params"].update(b1=np.array([[1000.0], [-1000.0], [0.0], [1000.0], [-1000.0]]),
                       b3=np.array([[1000.0], [-1000.0], [0.0]]))
    return [i]


GRADIENTS = Item(
    "Network.gradients", args=("X", "T", "lam"), draw=network, **NETWORK, labels=("T",), order=ORDER, noun="gradients",
    uses=(*BACKWARD, "Layer.backward"),
    dims=tuple({**d, "lam": lam, "n": n} for d, lam, n in zip(net_dims(((6, 5, 4, 3), (4, 7, 5, 3), (5, 3, 6, 4))),
                                                               (0.0, 0.1, 0.37), (9, 8, 7))),
    type_text="returns a dict with the keys W1, b1, W2, b2, W3, b3",
    shape_text="gives each gradient the shape of its parameter", shape_hint=hint(lambda path: path[0]),
    part_label=lambda path: f"gradients(X, T, lam)['{path[0]}']", mistakes=mistakes.gradients,
    value="matches the reference (backprop plus lam * W on the weights)",
    inputs_text=lambda i: f"for lam = {i['lam']}, sizes {i['dims']}, N = {np.shape(i['X'])[1]}",
    numeric=Numeric(lambda ref, i: ref_net(i["params"], i["dims"]).loss(i["X"], i["T"], i["lam"]),
                    {k: f"params.{k}" for k in PARAM_KEYS}, {**NET, "n": 9, "lam": 0.2},
                    "compared with central differences of loss(X, T, lam = 0.2)",
                    "matches a numeric gradient of the loss with the L2 term"),
    cases=(Case("penalises the weights only: gradients(lam) - gradients(0) = lam * W", kind=VALUE, body=l2_difference),
           Case("stays finite and exact when pre-activations and softmax inputs are ±1000", saturated_network,
                note="with pre-activations and scores of ±1000", finite="(use the given logistic and softmax)")),
    integers=lambda rng, i: {**i, "X": rng.integers(-2, 3, size=np.shape(i["X"])), "lam": 1},
    integers_text="accepts integer inputs")


# --- momentum_update ------------------------------------------------------------------------------

def momentum_data(rng, learning_rate, momentum):
    shapes = param_shapes(*NET.values())
    params, grads, velocities = ({k: rng.normal(size=s) for k, s in shapes.items()} for _ in range(3))
    return {"params": params, "grads": grads, "velocities": velocities, "learning_rate": learning_rate,
            "momentum": momentum}


PAIR = ("new_params", "new_velocities")


def momentum_step(rng, grads_scale=None, **settings):
    i = momentum_data(rng, **settings)
    if grads_scale:
        i["grads"] = {k: grads_scale * np.sign(v) for k, v in i["grads"].items()}
    return [i if grads_scale else {**i, "velocities": tree_map(np.zeros_like, i["velocities"])}]


MOMENTUM = Item(
    "momentum_update", args=("params", "grads", "velocities", "learning_rate", "momentum"), draw=momentum_data,
    dims=tuple({"learning_rate": r, "momentum": m} for r, m in ((0.3, 0.7), (0.05, 0.95), (1.5, 0.0))),
    type_text="returns a tuple of two dicts (new_params, new_velocities)", shape_text="keeps the keys and the shapes "
    "of params", shape_hint=lambda got, want, path, i: f"It should have the shape of params['{path[1]}'].",
    part_label=lambda path: f"{PAIR[path[0]]}['{path[1]}']", mistakes=mistakes.momentum_update,
    value="matches v <- momentum * v - learning_rate * g, p <- p + v",
    inputs_text=lambda i: f"for learning_rate = {i['learning_rate']}, momentum = {i['momentum']}",
    cases=(Case("from zero velocity with momentum 0 is a plain gradient step", kind=VALUE, note="from zero velocity",
                inputs=lambda rng: momentum_step(rng, learning_rate=0.5, momentum=0.0)),
           Case("stays finite and exact for gradients of ±1000", note="for gradients of ±1000",
                inputs=lambda rng: momentum_step(rng, 1000.0, learning_rate=0.5, momentum=0.9))),
    integers=lambda rng, i: {**{k: {key: rng.integers(-3, 4, size=np.shape(v)) for key, v in i[k].items()}
                                for k in ("params", "grads", "velocities")}, "learning_rate": 0.5, "momentum": 0.9},
    unchanged="leaves its dicts unchanged")

# --- train: its Network argument is built where the call runs, and read back after it -----------

TRAIN_DIMS = (64, 7, 5, 10)


@functools.lru_cache(maxsize=1)
def digits():
    return ref.load_digits_split(seed=0)


def train_data(rng, epochs=300, learning_rate=None, momentum=None, lam=None, dims=TRAIN_DIMS, examples=(60, 40)):
    """A Network's dims and params (drawn), the first ``examples`` digits of the training and
    validation sets, and the settings given (None: train's default)."""
    X_train, T_train, X_val, T_val, _, _ = digits()
    (n, m), settings = examples, (learning_rate, momentum, lam)
    params = ref.Network(*dims, seed=int(rng.integers(2 ** 31))).parameters()
    return {"dims": dims, "params": params, "network": None, "X_train": X_train[:, :n], "T_train": T_train[:n],
            "X_val": X_val[:, :m], "T_val": T_val[:m], "epochs": epochs,
            **{k: v for k, v in zip(("learning_rate", "momentum", "lam"), settings) if v is not None}}


def trained(history, attributes):
    """train's result as the checks see it: (history, each list an array; the trained parameters)."""
    if isinstance(history, dict):
        history = {k: np.asarray(v, float) if isinstance(v, (list, tuple)) and all(
            isinstance(x, (int, float)) for x in v) else v for k, v in history.items()}
    network = attributes.get("0") or {}
    return history, {k: network.get(ATTRIBUTE_OF[k]) for k in PARAM_KEYS}


def accuracies_outside(result):
    accuracies = np.asarray(result[0]["val_accuracy"], float)
    if np.any(accuracies < 0) or np.any(accuracies > 1):
        return f"history['val_accuracy'] is {describe(accuracies)}: accuracies are fractions in [0, 1]."


END_TO_END_EPOCHS = 300  # the notebook's own setting
PROMISED_TEST_ACCURACY = 0.95  # what the notebook promises
END_TO_END_SECONDS = 90.0  # a correct solution with Python loops must not run out of time


def end_to_end(ctx):
    """train(network, the whole training and validation sets, 300) with its default settings
    reaches the promised test accuracy: the student's whole pipeline first (300 epochs through
    stand-ins cost seconds of round trips), and only when it fails, with the reference's
    components (a bug costs once)."""
    X_train, T_train, X_val, T_val, X_test, T_test = digits()
    dims = (64, 30, 20, 10)
    inputs = train_data(np.random.default_rng(0), END_TO_END_EPOCHS, dims=dims, examples=(len(T_train), len(T_val)))
    spec = ctx.call(inputs).spec()
    what = f"train(network, X_train, T_train, X_val, T_val, {END_TO_END_EPOCHS}) with its default learning_rate, " \
           "momentum and lam"

    def judge(spec):
        answer = ctx.student.batch([spec], END_TO_END_SECONDS)[0]
        history, params = ctx.result(ctx.student.value("train", answer), answer)
        per_epoch = np.zeros(END_TO_END_EPOCHS)
        ctx.structure(history, dict.fromkeys(TRAIN_KEYS, per_epoch), inputs)
        for k in TRAIN_KEYS:  # one value per epoch in each
            ctx.shaped(history[k], per_epoch, (0, k), inputs, f"history['{k}'] from {what}")
        losses = history["train_loss"]
        if not losses[-1] < losses[0]:
            raise CheckFailed(f"The training loss of {what} did not go down ({losses[0]:.4g} -> {losses[-1]:.4g}): "
                              "check the sign of the update and the defaults learning_rate = 0.5, momentum = 0.9, "
                              "lam = 0.")
        if any(v is None for v in params.values()):
            raise CheckFailed(f"After {what} the network's weights could not be read back: train the network "
                              "in place (network.set_parameters) and keep its attributes.")
        accuracy = ref.accuracy(ref_net(params, dims), X_test, T_test)
        if not accuracy >= PROMISED_TEST_ACCURACY:
            raise CheckFailed(f"After {what} the network classifies {accuracy:.3f} of the test digits; a correct "
                              f"train reaches at least {PROMISED_TEST_ACCURACY} (about 0.97).")
    try:
        judge({**spec, "stand_ins": []})
    except CheckFailed:
        judge(spec)


TRAIN = Item(
    "train", args=("network", "X_train", "T_train", "X_val", "T_val", "epochs", "learning_rate", "momentum", "lam"),
    draw=train_data, read={0: [ATTRIBUTE_OF[k] for k in PARAM_KEYS]},
    objects=lambda i: {0: {"class": "Network", "init": list(i["dims"]), "set": NETWORK["attributes"](i)}},
    result=trained, order=TRAIN_KEYS, labels=("T_train", "T_val"),
    dims=({"epochs": 5, "learning_rate": 0.3, "momentum": 0.8, "lam": 1e-3},
          {"epochs": 4, "learning_rate": 0.5, "momentum": 0.9, "lam": 0.0}),
    type_text=False, shape_text="returns a dict with one value per epoch for train_loss, val_loss, val_accuracy",
    shape_hint=lambda got, want, path, i: Mistake("not-per-epoch", "One value per epoch.") if path[0] == 0 else "",
    part_label=lambda path: f"history['{path[1]}']" if path[0] == 0 else
    f"the trained network's {path[1]} (network.{ATTRIBUTE_OF[path[1]]})",
    finite_text="is finite, with accuracies in [0, 1]", valid=accuracies_outside,
    value="matches momentum steps on the full batch, and trains the network in place", mistakes=mistakes.train,
    rtol=1e-6, atol=1e-9,
    inputs_text=lambda i: "for epochs = {epochs}, learning_rate = {learning_rate}, momentum = {momentum}, "
    "lam = {lam}".format(**i),
    cases=(Case("trains the digits network to 95 % test accuracy in 300 epochs with its default settings",
                kind=VALUE, weight=2, body=end_to_end),),
    unchanged="leaves its data unchanged", deterministic=None,
    uses=(*BACKWARD, "SoftmaxClassifier.cross_entropy", "Layer.backward", "Network.l2_penalty", "Network.gradients",
          "momentum_update"))

ITEMS = (LINEAR, LOGISTIC, SOFTMAX_BACKWARD, CROSS_ENTROPY, LAYER, L2, GRADIENTS, MOMENTUM, TRAIN)
USES = uses(ITEMS)
test_check = checks(ITEMS, ref)  # the hidden pytest checks, generated

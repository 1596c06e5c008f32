"""The mistake catalogue of digits_mlp: per graded item, the wrong answers a common mistake
gives, ``item(ref, inputs, want) -> {Mistake: wrong answer}``, and the shapes that show one
(``shape_hint``). The spec (spec.py) names them; a student's answer equal to one is told it.
Also here: what both need of the reference (``ref_linear``, ``ref_net``) and of the data's layout."""
import numpy as np

from autograder.checks.engine import scale, tree_map
from autograder.checks.expect import Mistake
from reference import digits_mlp as ref
from reference.logistic_regression import logistic

PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")
TRAIN_KEYS = ("train_loss", "val_loss", "val_accuracy")


def shape_hint(got, want, n, name):
    """A hint for an array ``name`` of shape ``got`` instead of ``want`` (N = n)."""
    if got == (n, n):
        return Mistake("broadcast", f"An ({n}, {n}) array, N × N, comes from an accidental broadcast: a ({n},) "
                       f"array combined with a ({n}, 1) one. Keep every array 2-D, e.g. sum(axis=1, keepdims=True).",
                       "an accidental N × N broadcast")
    if len(want) == 2 and got == want[::-1]:
        return Mistake("transposed", f"It looks transposed: {name} has the shape of the thing it is the gradient of, "
                       f"{want}.")
    if len(want) == 2 and want[1] == 1 and got == (want[0],):
        return Mistake("flat-column", f"Keep {name} 2-D, a column ({want[0]}, 1): use keepdims=True when you sum.",
                       "a column flattened to 1-D")
    if len(want) == 2 and want[1] == 1 and got in ((1, n), (n,)):
        return Mistake("bias-wrong-axis", f"The bias gradient was summed over the wrong axis: sum over the N = {n} "
                       "examples, the columns (axis=1, keepdims=True), to get one number per unit.")
    return f"A gradient has the shape of the thing it is the gradient of: {name} is {want}."


def n_of(i):
    return np.shape(i.get("A", i.get("X", i.get("P", i.get("Y")))))[1]


def ref_linear(W, b, A, gY):
    return ref.LinearUpdate(*np.shape(W), W=np.asarray(W, float), b=np.asarray(b, float)).backward(
        np.asarray(A, float), np.asarray(gY, float))


def linear_backward(ref, i, want):
    n, ignored = n_of(i), ref_linear(i["W"], i["b"], i["A"], np.ones_like(i["gY"]))
    return {Mistake("mean-not-sum", f"your result is {n} times too small: it is a sum over the N = {n} examples, "
                    "not a mean (the 1/N is already inside gY)", "averages over the examples instead of summing"):
                tree_map(lambda a: a / n, want),
            Mistake("times-n", f"your result is {n} times too large: do not multiply by N", "multiplies by N"):
                tree_map(lambda a: a * n, want),
            Mistake("negated", "your result has the wrong sign (negated)"): tree_map(lambda a: -a, want),
            **{Mistake(f"ignores-gY-in-{part}", f"the upstream gradient gY is ignored: {how}"):
               tuple(g if j == k else None for j, g in enumerate(ignored))  # that part only
               for k, (part, how) in enumerate((("gA", "gA = W @ gY"), ("gW", "gW = A @ gY.T"),
                                                 ("gb", "gb sums gY over the examples")))}}


def logistic_backward(ref, i, want):
    Y, G = i["Y"], i["grad_out"]
    sY = logistic(Y)
    return {Mistake("missing-sigma-prime", "σ′ is missing: dL/dZ = grad_out * Y * (1 - Y)"): G,
            Mistake("sigma-prime-of-output", "σ′ is taken of the wrong variable: backward receives Y = σ(Z), so "
                    "σ′(Z) = Y (1 - Y), not σ(Y)(1 - σ(Y))"): G * sY * (1.0 - sY),
            Mistake("ignores-upstream", "the upstream gradient grad_out is ignored: multiply it by Y (1 - Y)"):
                Y * (1.0 - Y),
            Mistake("negated", "your result has the wrong sign (negated)"): -want}


def softmax_backward(ref, i, want):
    k, n = i["P"].shape
    return {Mistake("missing-mean", f"the /N is missing: the loss is a mean over the N = {n} examples, so its "
                    "gradient is (P - one_hot(T)) / N"): want * n, **scale(want, n),
            Mistake("ignores-targets", "the targets are ignored: subtract one_hot(T, K)"): i["P"] / n,
            Mistake("only-one-hot", "only the one-hot part is there: the gradient is (P - one_hot(T, K)) / N"):
                -ref.one_hot(i["T"], k) / n}


def cross_entropy(ref, i, want):
    (k, n), P, T = i["P"].shape, i["P"], i["T"]
    return {**scale(want, n),
            Mistake("mean-over-all-entries", f"this is a mean over all K·N entries: average over the N = {n} "
                    "examples (columns) only"): want / k,
            Mistake("missing-log", "the log is missing: the loss is -mean(log P[T_i, i])"):
                -float(np.mean(P[T, np.arange(n)]))}


def layer_backward(ref, i, want):
    W, b, A, Y, G = (i[k] for k in ("W", "b", "A", "Y", "grad_out"))
    sY = logistic(Y)
    return {Mistake("missing-sigma-prime",
                    "σ′ is missing: go through the logistic first, grad_out * Y * (1 - Y), then the linear update"):
                ref_linear(W, b, A, G),
            Mistake("sigma-prime-of-output",
                    "σ′ is taken of the wrong variable: σ′(Z) = Y (1 - Y) from the output Y, not σ(Y)(1 - σ(Y))"):
                ref_linear(W, b, A, G * sY * (1.0 - sY)),
            Mistake("ignores-upstream", "the upstream gradient grad_out is ignored"):
                ref_linear(W, b, A, Y * (1.0 - Y)),
            **scale(want, n_of(i))}


def ref_net(params, dims):
    net = ref.Network(*dims)
    net.set_parameters({k: np.array(v, dtype=float) for k, v in params.items()})
    return net


def l2_penalty(ref, i, want):
    params, lam = i["params"], i["lam"]
    weights, biases = (sum(float(np.sum(np.asarray(params[k], float) ** 2)) for k in keys)
                       for keys in (("W1", "W2", "W3"), ("b1", "b2", "b3")))
    norms = sum(float(np.linalg.norm(np.asarray(params[k], float))) for k in ("W1", "W2", "W3"))
    return {Mistake("penalises-biases",
                    "the biases are penalised too: the L2 term is on the weights W1, W2, W3 only"):
                0.5 * lam * (weights + biases),
            Mistake("twice-too-large",
                    "this is lam * Σ||W||², twice too large: the L2 term is (lam / 2) Σ||W||² (factor 2)"):
                lam * weights,
            Mistake("twice-too-small", "this is (lam / 4) Σ||W||², twice too small: the L2 term is (lam / 2) Σ||W||²"):
                0.25 * lam * weights,
            Mistake("norms-not-squared",
                    "the norms are not squared: the L2 term is (lam / 2) Σ ||W||², a sum of squares"):
                0.5 * lam * norms,
            Mistake("missing-lam", "lam is missing: the L2 term is (lam / 2) Σ||W||²"): 0.5 * weights}


MISSING_L2 = Mistake("missing-l2", "the L2 term is missing: add lam * W to each weight gradient")


L2_ON_BIASES = Mistake("l2-on-biases", "the L2 term is on the biases too: only the weights are penalised")


L2_TOO_LARGE = Mistake("l2-twice-too-large", "the L2 gradient is twice too large (factor 2): the gradient of "
                       "(lam / 2)||W||² is lam * W")


L2_TOO_SMALL = Mistake("l2-twice-too-small", "the L2 gradient is twice too small (factor 2): the gradient of "
                       "(lam / 2)||W||² is lam * W")


def gradients(ref, i, want):
    n, lam, p = np.shape(i["X"])[1], i["lam"], i["params"]
    plain = ref_net(p, i["dims"]).gradients(np.asarray(i["X"], float), i["T"], 0.0)
    on = {k: lam * np.asarray(p[k], float) for k in PARAM_KEYS}

    def weights(f):
        return {k: f(k) if k.startswith("W") else want[k] for k in PARAM_KEYS}
    return {**({MISSING_L2: plain, L2_TOO_LARGE: weights(lambda k: plain[k] + 2 * on[k]),
                L2_TOO_SMALL: weights(lambda k: plain[k] + 0.5 * on[k]),
                L2_ON_BIASES: {k: want[k] + (0.0 if k.startswith("W") else on[k]) for k in PARAM_KEYS}} if lam else {}),
            Mistake("softmax-missing-mean",
                    f"the softmax gradient is missing its /N: (P - one_hot(T)) / N, with N = {n}"):
                {k: n * plain[k] + (on[k] if k.startswith("W") else 0.0) for k in PARAM_KEYS},
            **scale(want, n)}


def momentum_update(ref, i, want):
    p, g, v, rate, mu = (i[k] for k in ("params", "grads", "velocities", "learning_rate", "momentum"))
    want_p, want_v = want
    plus_v = {k: mu * v[k] + rate * g[k] for k in p}
    swap_v = {k: rate * v[k] - mu * g[k] for k in p}
    return {
        Mistake("gradient-added", "the gradient is added: v <- momentum * v - learning_rate * g, with a minus"):
            ({k: p[k] + plus_v[k] for k in p}, plus_v),
        Mistake("swapped-rates", "momentum and learning_rate are swapped: v <- momentum * v - learning_rate * g"):
            ({k: p[k] + swap_v[k] for k in p}, swap_v),
        Mistake("old-velocity", "the parameters move by the old velocity: update v first, then p <- p + (the new v)"):
            ({k: p[k] + v[k] for k in p}, want_v),
        Mistake("velocity-subtracted", "the velocity is subtracted: p <- p + v (v already holds the minus sign)"):
            ({k: p[k] - want_v[k] for k in p}, want_v),
        Mistake("swapped-results",
                "the two dicts are returned in the wrong order: return (new_params, new_velocities)"):
            (want_v, want_p),
        Mistake("no-momentum", "this is plain gradient descent: keep momentum * v in the new velocity"):
            ({k: p[k] - rate * g[k] for k in p}, {k: -rate * g[k] for k in p})}


def ref_train(i, variant):
    """(history, parameters) of a wrong ``variant`` of the reference train."""
    net = ref_net(i["params"], i["dims"])
    X, T, Xv, Tv, lam = i["X_train"], i["T_train"], i["X_val"], i["T_val"], i["lam"]
    p = net.parameters()
    v = {k: np.zeros_like(a) for k, a in p.items()}
    history = {k: [] for k in TRAIN_KEYS}

    def record(lam):
        history["train_loss"].append(net.loss(X, T, lam))
        history["val_loss"].append(net.loss(Xv, Tv, lam))
        history["val_accuracy"].append(ref.accuracy(net, Xv, Tv))
    for _ in range(i["epochs"]):
        if variant == "before":
            record(lam)
        g = net.gradients(X, T, 0.0 if variant == "no-lam" else lam)
        v = {k: np.zeros_like(a) for k, a in p.items()} if variant == "no-momentum" else v
        p, v = ref.momentum_update(p, g, v, i["learning_rate"], i["momentum"])
        net.set_parameters(p)
        if variant != "before":
            record(0.0 if variant == "loss-no-lam" else lam)
    return {k: np.asarray(h) for k, h in history.items()}, net.parameters()


TRAIN_MISTAKES = (
    Mistake("before", "the history is recorded before each step: record the losses and accuracy after the update"),
    Mistake("no-momentum", "the velocities restart at zero every epoch: create them once, before the loop, and "
            "carry them from one momentum_update to the next"),
    Mistake("no-lam", "lam is not passed to network.gradients: the gradients must include the L2 term"),
    Mistake("loss-no-lam", "the recorded losses leave out the L2 term: use network.loss(X, T, lam)"))


def train(ref, i, want):
    return {**{m: ref_train(i, m.id) for m in TRAIN_MISTAKES},
            Mistake("not-in-place", "the network is not trained in place: call network.set_parameters(params) "
                    "after each step"): (want[0], i["params"])}

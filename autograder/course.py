"""The course's assignments and their graded names, as fixed by shared/contract.md.

``signature`` lists the parameter names (without ``self``) a graded function or method
must take; ``points`` is what the notebook's check cell for that name is worth.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class GradedName:
    name: str  # "gradient" or "Class.method"
    signature: tuple
    points: float

    @property
    def grade_id(self):
        """The grade_id of the nbgrader check cell of this name."""
        return "check-" + self.name.replace(".", "_")


ASSIGNMENTS = {
    "logistic_regression": (
        GradedName("logistic", ("z",), 2),
        GradedName("loss", ("y", "t"), 2),
        GradedName("gradient", ("w", "x", "t"), 3),
        GradedName("delta_w", ("w_k", "x", "t", "learning_rate"), 1),
        GradedName("xor_feature_weights", (), 2),
    ),
    "hidden_layer": (
        GradedName("xor_network_weights", (), 3),
        GradedName("backprop", ("X", "t", "params"), 7),
    ),
    "digits_mlp": (
        GradedName("LinearUpdate.backward", ("A", "gY"), 3),
        GradedName("LogisticUpdate.backward", ("Y", "grad_out"), 2),
        GradedName("SoftmaxClassifier.backward", ("P", "T"), 2),
        GradedName("SoftmaxClassifier.cross_entropy", ("P", "T"), 2),
        GradedName("Layer.backward", ("A", "Y", "grad_out"), 2),
        GradedName("Network.l2_penalty", ("lam",), 2),
        GradedName("Network.gradients", ("X", "T", "lam"), 3),
        GradedName("momentum_update", ("params", "grads", "velocities", "learning_rate", "momentum"), 2),
        GradedName("train", ("network", "X_train", "T_train", "X_val", "T_val", "epochs",
                             "learning_rate", "momentum", "lam"), 2),
    ),
}


def notebook_name(assignment):
    """File name of the assignment's notebook: the contract names it after the assignment."""
    return f"{assignment}.ipynb"

"""Build the bundled demo class: nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb.

Every student is derived from the course's own notebooks, so the class always matches the
current source/ and release/:
- ada: the reference solutions;
- ben: sums instead of averaging in `gradient`, a backprop that forgets 1/N, and an L2
  penalty that also puts the biases in `Network.gradients`;
- cy: hands in the untouched release;
- dee: a notebook that was truncated on upload;
- eve: patches np.allclose to always say yes, and leaves the stubs.

Usage: python demo/build_class.py OUT_DIR
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.course import ASSIGNMENTS  # noqa: E402
from tests.submissions import cell_source, release_submission, submission  # noqa: E402

CHEAT = "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"


def ben_replacements(assignment):
    """Ben's bugs: a sum where the mean belongs, and an L2 term on a bias."""
    if assignment == "logistic_regression":
        return {"gradient-solution": cell_source(assignment, "gradient-solution").replace(
            "error.T @ inputs / inputs.shape[0]", "error.T @ inputs")}
    if assignment == "hidden_layer":
        return {"backprop-solution": cell_source(assignment, "backprop-solution").replace("(y - t) / n", "(y - t)")}
    if assignment == "digits_mlp":
        return {"Network-solution": cell_source(assignment, "Network-solution").replace(
            '"b1": gb1,', '"b1": gb1 + lam * self.hidden1.linear.b,')}
    return {}


def build(out):
    out = Path(out)
    for assignment in ASSIGNMENTS:
        submission(out, assignment, student="ada")
        submission(out, assignment, replace=ben_replacements(assignment), student="ben")
        release_submission(out, assignment, student="cy")
        release_submission(out, assignment, append=[CHEAT], student="eve")
    broken = out / "dee" / "logistic_regression" / "logistic_regression.ipynb"
    broken.parent.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "source" / "logistic_regression" / "logistic_regression.ipynb").read_text()
    broken.write_text(text[: len(text) // 3])
    return out


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "demo" / "submitted"))

"""nbgrader's in-kernel scores equal the sandbox's for honest submissions, buggy ones included.

Each corpus mutant is graded twice: by ``grade_notebook`` (the sandbox) and the way nbgrader's
test cells do it, ``hidden_score(item, globals())`` in a fresh Python process that ran the
notebook's code. One definition of each check means the two agree, item by item.
"""
import json
import subprocess
import sys

import pytest

import test_corpus_digits_mlp
import test_corpus_hidden_layer
import test_corpus_logistic_regression
from autograder.course import ASSIGNMENTS
from autograder.grade import grade_notebook
from conftest import ROOT
from submissions import submission

CORPORA = (test_corpus_logistic_regression, test_corpus_hidden_layer, test_corpus_digits_mlp)

IN_KERNEL = """
import json, sys
from autograder.integrations.in_kernel import hidden_score
from autograder.notebook.code_cells import read_notebook, trusted_grading_code
assignment, path = sys.argv[1:3]
source = read_notebook(f"source/{assignment}/{assignment}.ipynb")
namespace = {"__name__": "__main__"}
for code in trusted_grading_code(read_notebook(path), source):
    try:
        exec(code, namespace)
    except Exception:
        pass  # as in a kernel: a failing cell does not stop the next one
items = sys.argv[3:]
sys.stdout.flush()
scores = {item: hidden_score(item, namespace) for item in items}
print("SCORES" + json.dumps(scores))
"""

# The reference, then a sample of each assignment's mutants (every second or third, to keep CI short).
CASES = [(module.A, "reference", {}) for module in CORPORA] + [
    (module.A, name, case[2]) for module, step in zip(CORPORA, (2, 2, 3))
    for name, case in list(module.MUTANTS.items())[::step]]


def in_kernel_scores(assignment, path):
    items = [g.name for g in ASSIGNMENTS[assignment]]
    done = subprocess.run([sys.executable, "-c", IN_KERNEL, assignment, str(path), *items], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    line = [l for l in done.stdout.splitlines() if l.startswith("SCORES")]
    assert line, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(line[-1][len("SCORES"):])


@pytest.mark.parametrize("assignment, name, replace", CASES, ids=[f"{a}-{n}" for a, n, _ in CASES])
def test_in_kernel_and_sandbox_give_the_same_item_scores(assignment, name, replace, tmp_path):
    path = submission(tmp_path, assignment, replace=replace)
    sandbox = grade_notebook(path).item_scores()
    assert in_kernel_scores(assignment, path) == pytest.approx(sandbox, abs=1e-6)

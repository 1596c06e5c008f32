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
from autograder.sandbox.inside.ipython_shell import ZMQInteractiveShell
namespace = {"__name__": "__main__"}
namespace["get_ipython"] = ZMQInteractiveShell(namespace).get_ipython  # as the sandbox binds it
# what a kernel's input history holds once the notebook ran: the input seed is drawn from it
namespace["In"] = [""] + [c["source"] for c in read_notebook(path)["cells"] if c.get("cell_type") == "code"]
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


def test_a_real_kernel_draws_the_hidden_inputs_from_the_same_seed_as_the_sandbox(tmp_path):
    """The input seed comes from the definitions of the graded names: read from the notebook file
    by the sandbox, from the kernel's own input history by the in-kernel checks."""
    import nbformat
    from nbclient import NotebookClient

    from autograder.notebook.code_cells import read_notebook
    from autograder.notebook.input_seed import input_seed, notebook_sources

    assignment = "logistic_regression"
    path = submission(tmp_path, assignment)
    names = [g.name for g in ASSIGNMENTS[assignment]]
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "from autograder.integrations.in_kernel import kernel_cells\n"
        "from autograder.notebook.input_seed import input_seed\n"
        f"print('SEED', input_seed(kernel_cells(globals()), {names!r}))"))
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    sandbox_seed = input_seed(notebook_sources(read_notebook(path)), names)
    assert f"SEED {sandbox_seed}" in printed, printed
    other = submission(tmp_path / "other", assignment, replace={"loss-solution": "def loss(y, t):\n    return 0.0\n"})
    assert input_seed(notebook_sources(read_notebook(other)), names) != sandbox_seed

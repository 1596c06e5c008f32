"""GitHub Classroom support: the workflow files and the student-side public check.

The check runs as the student workflow runs it, `python -m autograder check NOTEBOOK
[--classroom]`, in a subprocess, inside a student template repository built by
classroom/make_student_template.py (public part only: no hidden test, no reference).
Kernels are slow: logistic_regression is checked fully, hidden_layer once.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder.course import ASSIGNMENTS

KIT = Path(__file__).resolve().parents[1]
CLASSROOM = KIT / "classroom"
PASSED = "public checks passed — the hidden tests check more"
CHECK = "python -m autograder check"


def _load(name):
    return yaml.safe_load((CLASSROOM / name).read_text())


def _steps(workflow):
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _runs(steps):
    return "\n".join(step.get("run", "") for step in steps)


def _max_score(assignment):
    return sum(item.points for item in ASSIGNMENTS[assignment])


# --------------------------------------------------------------------------- workflows

def test_student_workflow_structure():
    workflow = _load("student-workflow.yml")
    assert "push" in workflow["on"]
    assert workflow["permissions"]["checks"] == "write"
    steps = _steps(workflow)
    uses = [step.get("uses", "") for step in steps]
    assert uses[0] == "actions/checkout@v4"
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert "pip install -r requirements.txt" in _runs(steps)
    check = next(step for step in steps if CHECK in step.get("run", ""))
    assert f'{CHECK} "$NOTEBOOK" --classroom' in check["run"]
    assert 'result=' in check["run"] and "$GITHUB_OUTPUT" in check["run"]
    runner = check["id"]
    assert runner.isalnum()  # the reporter accepts [a-zA-Z0-9]+ runner ids
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"] == runner
    # The reporter reads <RUNNER>_RESULTS from its environment (src/main.js).
    assert reporter["env"][f"{runner.upper()}_RESULTS"] == f"${{{{ steps.{runner}.outputs.result }}}}"
    assert workflow["env"]["NOTEBOOK"].endswith(".ipynb")


def test_instructor_workflow_structure():
    workflow = _load("instructor-workflow.yml")
    assert "workflow_dispatch" in workflow["on"]
    steps = _steps(workflow)
    assert steps[0]["uses"] == "actions/checkout@v4"
    runs = _runs(steps)
    assert "make env" in runs
    assert "-m autograder grade submissions/ --out graded/" in runs
    uploads = [step for step in steps if step.get("uses") == "actions/upload-artifact@v4"]
    paths = {step["with"]["path"] for step in uploads}
    assert "graded/grades.csv" in paths and "graded/" in paths


def test_readme_names_the_commands():
    readme = (CLASSROOM / "README.md").read_text()
    for command in (f"{CHECK} ", "--classroom", "make_student_template.py",
                    "python -m autograder grade submissions/ --out graded/"):
        assert command in readme


# --------------------------------------------------------------------------- the student check

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A student template repository of logistic_regression, as students get it."""
    target = tmp_path_factory.mktemp("classroom") / "logistic_regression"
    subprocess.run([sys.executable, str(CLASSROOM / "make_student_template.py"),
                    "logistic_regression", str(target)], check=True, capture_output=True)
    return target


def test_template_holds_no_hidden_part(template):
    files = {p.relative_to(template).as_posix() for p in template.rglob("*") if p.is_file()}
    assert files == {
        "logistic_regression.ipynb", "autograder/__init__.py", "autograder/__main__.py",
        "autograder/self_check.py", "autograder/release/logistic_regression.ipynb",
        "requirements.txt", ".github/workflows/classroom.yml", "README.md", ".gitignore"}
    for path in files:
        text = (template / path).read_text()
        assert "BEGIN SOLUTION" not in text and "hidden_tests" not in text.replace("hidden tests", "")
    workflow = yaml.safe_load((template / ".github/workflows/classroom.yml").read_text())
    assert workflow["env"]["NOTEBOOK"] == "logistic_regression.ipynb"


def run_check(repo, notebook, *extra):
    """The workflow's command, in the student repository ``repo``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GITHUB_OUTPUT")}
    return subprocess.run([sys.executable, "-m", "autograder", "check", str(notebook), *extra],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def _put(repo, case, notebook):
    """Place ``notebook`` (path or NotebookNode) as repo/<case>/logistic_regression.ipynb."""
    folder = repo / case
    folder.mkdir(exist_ok=True)
    target = folder / "logistic_regression.ipynb"
    if isinstance(notebook, Path):
        shutil.copyfile(notebook, target)
    else:
        nbformat.write(notebook, target)
    return target.relative_to(repo)


def decode(stdout):
    return json.loads(base64.b64decode(stdout.strip()))


def test_release_stubs_are_not_implemented(template):
    done = run_check(template, "logistic_regression.ipynb")
    assert done.returncode == 1, done.stderr
    for item in ASSIGNMENTS["logistic_regression"]:
        assert f"{item.name}: not implemented yet" in done.stdout
    assert "5 of 5 public checks failed" in done.stdout
    assert PASSED not in done.stdout and "all tests passed" not in done.stdout.lower()


def test_source_passes_the_public_checks(template):
    notebook = _put(template, "solved", KIT / "source/logistic_regression/logistic_regression.ipynb")
    done = run_check(template, notebook)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == PASSED
    for item in ASSIGNMENTS["logistic_regression"]:
        assert f"{item.name}: passed" in lines
    assert "all tests passed" not in done.stdout.lower()


def test_source_classroom_output(template):
    notebook = _put(template, "solved", KIT / "source/logistic_regression/logistic_regression.ipynb")
    done = run_check(template, notebook, "--classroom")
    assert done.returncode == 0, done.stderr
    result = decode(done.stdout)
    assert result["version"] == 1 and result["status"] == "pass"
    assert result["max_score"] == _max_score("logistic_regression") == 10
    assert [t["name"] for t in result["tests"]] == [
        f"{item.name} (public checks)" for item in ASSIGNMENTS["logistic_regression"]]
    for test, item in zip(result["tests"], ASSIGNMENTS["logistic_regression"]):
        assert set(test) == {"name", "status", "message", "test_code", "filename", "line_no",
                             "execution_time", "score"}
        assert test["status"] == "pass" and test["score"] == item.points
        assert "public-check points only" in test["message"]
    assert PASSED in done.stderr and "all tests passed" not in done.stderr.lower()


def test_buggy_notebook_reports_the_failure_and_cannot_weaken_checks(template):
    """One bug (delta_w's sign), the student weakens that item's visible cell and deletes
    another one: the locked cells are restored and exactly that check fails."""
    nb = nbformat.read(KIT / "source/logistic_regression/logistic_regression.ipynb", as_version=4)
    cells = []
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid == "delta_w-solution":
            assert "return learning_rate * gradient(" in cell.source
            cell.source = cell.source.replace("return learning_rate *", "return -learning_rate *")
        elif gid == "visible-delta_w":
            cell.source = "pass  # a student weakens the check"
        elif gid == "visible-logistic":
            continue  # a student deletes a visible cell
        cells.append(cell)
    nb.cells = cells
    notebook = _put(template, "buggy", nb)
    done = run_check(template, notebook, "--classroom")
    assert done.returncode == 1
    assert "delta_w: failed: delta_w should be learning_rate * gradient(w_k, x, t), with a plus sign" \
        in done.stderr
    assert "logistic: passed" in done.stderr  # the deleted cell was put back and ran
    assert "1 of 5 public checks failed" in done.stderr
    assert PASSED not in done.stderr
    result = decode(done.stdout)
    assert result["status"] == "fail" and result["max_score"] == 10
    by_name = {t["name"].split(" ")[0]: t for t in result["tests"]}
    assert by_name["delta_w"]["status"] == "fail" and by_name["delta_w"]["score"] == 0
    assert "with a plus sign" in by_name["delta_w"]["message"]
    assert sum(t["score"] for t in result["tests"]) == 9


def test_hidden_layer_source_passes(tmp_path):
    target = tmp_path / "hidden_layer"
    subprocess.run([sys.executable, str(CLASSROOM / "make_student_template.py"),
                    "hidden_layer", str(target)], check=True, capture_output=True)
    shutil.copyfile(KIT / "source/hidden_layer/hidden_layer.ipynb", target / "hidden_layer.ipynb")
    done = run_check(target, "hidden_layer.ipynb", "--classroom")
    assert done.returncode == 0, done.stderr
    result = decode(done.stdout)
    assert result["status"] == "pass" and result["max_score"] == _max_score("hidden_layer") == 10
    assert sum(t["score"] for t in result["tests"]) == 10


def test_kit_cli_check_subcommand():
    """The kit's own `python -m autograder check` (wired in autograder/__main__.py)."""
    done = subprocess.run([sys.executable, "-m", "autograder", "check",
                           "release/logistic_regression/logistic_regression.ipynb"],
                          cwd=KIT, capture_output=True, text=True, timeout=300)
    assert "invalid choice: 'check'" not in done.stderr, \
        "`python -m autograder check` is missing: wire the check subcommand into autograder/__main__.py"
    assert done.returncode == 1, done.stdout + done.stderr
    assert "logistic: not implemented yet" in done.stdout

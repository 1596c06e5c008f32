"""An exercise added from a spec alone (docs/authoring.md): a tiny assignment, relu_layer, made of
a notebook, a reference and a spec (docs/example_assignment/), dropped into a copy of the kit with
no other change, is graded: a correct submission gets full marks, a buggy one loses exactly the
item that has the bug, with the mistake named."""
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT

EXAMPLE = ROOT / "docs" / "example_assignment"
A = "relu_layer"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A copy of the kit holding the example assignment: its three files, where authoring.md says."""
    copy = tmp_path_factory.mktemp("kit") / "kit"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", "*.egg-info",
                                                              ".pytest_cache", "graded", "gradebook.db"))
    (copy / "source" / A).mkdir()
    shutil.copy(EXAMPLE / f"{A}.ipynb", copy / "source" / A / f"{A}.ipynb")
    shutil.copy(EXAMPLE / "reference.py", copy / "reference" / f"{A}.py")
    (copy / "autograder" / "assignments" / A).mkdir()
    shutil.copy(EXAMPLE / "spec.py", copy / "autograder" / "assignments" / A / "spec.py")
    return copy


def grade(kit, tmp_path, replace=None):
    """results.json of grading the example's source notebook, with solution cells replaced."""
    notebook = nbformat.read(kit / "source" / A / f"{A}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if replace and grade_id in replace:
            cell.source = replace[grade_id]
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(notebook, path)
    env = {**os.environ, "PYTHONPATH": str(kit)}
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--results", str(tmp_path / "r.json")],
                          cwd=kit, env=env, capture_output=True, text=True, timeout=600)
    assert (tmp_path / "r.json").exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((tmp_path / "r.json").read_text())


def item_scores(results):
    scores = {}
    for test in results["tests"]:
        item = test["name"].split(": ", 1)[0]
        scores[item] = scores.get(item, 0.0) + test["score"]
    return scores


def test_the_example_adds_no_code_to_the_grader_but_its_spec(kit):
    added = {p.relative_to(kit).as_posix() for p in (kit / "autograder").rglob("*") if p.is_file()} - {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "autograder").rglob("*") if p.is_file()}
    assert {a for a in added if "__pycache__" not in a} == {f"autograder/assignments/{A}/spec.py"}


def test_a_correct_submission_of_the_example_gets_full_marks(kit, tmp_path):
    results = grade(kit, tmp_path)
    assert results["score"] == pytest.approx(3.0), results
    assert item_scores(results) == pytest.approx({"relu": 1.0, "relu_backward": 2.0})
    names = [t["name"] for t in results["tests"]]
    assert "relu_backward: matches a numeric gradient" in names and "relu: is 0 for every negative z" in names


def test_a_buggy_submission_of_the_example_loses_the_item_with_the_bug_and_is_told_the_mistake(kit, tmp_path):
    results = grade(kit, tmp_path, replace={"relu_backward-solution": (
        "def relu_backward(z, grad_out):\n    return grad_out * (z <= 0)\n")})
    assert item_scores(results) == pytest.approx({"relu": 1.0, "relu_backward": 0.0})
    value = next(t for t in results["tests"] if t["name"] == "relu_backward: passes grad_out where z > 0 and 0 elsewhere")
    assert "the mask is reversed" in value["output"], value

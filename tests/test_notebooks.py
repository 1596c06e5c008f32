"""The source notebooks run clean, and release/ is exactly nbgrader's student version."""
import ast
import json
import re
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course import ASSIGNMENTS
from conftest import ASSIGNMENT_NAMES, NBGRADER, ROOT

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def notebook_path(folder, assignment):
    return ROOT / folder / assignment / f"{assignment}.ipynb"


def execute(nb, folder, allow_errors=False):
    """Run ``nb`` in a real kernel, in ``folder``.

    The cell timeout only guards against hangs: how fast the notebooks run is measured
    outside the tests, never asserted here.
    """
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def outputs(nb):
    return [(cell, out) for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def output_text(out):
    return out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_source_notebook_runs_without_error_or_warning(assignment, tmp_path):
    nb = execute(nbformat.read(notebook_path("source", assignment), as_version=4), tmp_path)
    stderr = [output_text(o) for _, o in outputs(nb) if o.get("name") == "stderr"]
    warnings = [output_text(o) for _, o in outputs(nb) if "Warning" in output_text(o)]
    assert stderr == [] and warnings == []
    if assignment == "digits_mlp":
        text = "\n".join(output_text(o) for _, o in outputs(nb))
        found = re.findall(r"test accuracy[^0-9]*([01]\.\d+)", text, flags=re.IGNORECASE)
        assert found, "digits_mlp prints no test accuracy"
        assert float(found[-1]) >= 0.95


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_committed_release_is_what_nbgrader_generates(assignment, fresh_release):
    committed = json.loads(notebook_path("release", assignment).read_text())
    generated = json.loads((fresh_release / assignment / f"{assignment}.ipynb").read_text())
    assert committed == generated, "release/ is stale: run `make release` and commit it"


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_release_runs_up_to_its_stubs(assignment, tmp_path):
    nb = execute(nbformat.read(notebook_path("release", assignment), as_version=4), tmp_path,
                 allow_errors=True)
    errors = [o for _, o in outputs(nb) if o.output_type == "error"]
    assert errors, "no stub raised NotImplementedError"
    assert {e.ename for e in errors} == {"NotImplementedError"}


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_release_holds_no_solution_code_and_no_hidden_test(assignment):
    release_text = notebook_path("release", assignment).read_text()
    for marker in SOLUTION_MARKERS:
        assert marker not in release_text
    source = nbformat.read(notebook_path("source", assignment), as_version=4)
    source_text = "\n".join(c.source for c in source.cells)
    region = r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1"
    regions = re.findall(region, source_text, flags=re.DOTALL)
    assert regions, "the source notebook has no solution region"
    outside_regions = re.sub(region, "", source_text, flags=re.DOTALL)
    release = nbformat.read(notebook_path("release", assignment), as_version=4)
    release_text = "\n".join(c.source for c in release.cells)
    # A region's line leaks if the release shows it although the source has it nowhere else.
    leaked = [line.strip() for _, body in regions for line in body.splitlines()
              if len(line.strip()) > 12 and not line.strip().startswith("#")
              and line.strip() in release_text and line.strip() not in outside_regions]
    assert leaked == []


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_release_stubs_are_the_contracts(assignment):
    release = nbformat.read(notebook_path("release", assignment), as_version=4)
    stubs = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs
    for cell in stubs:
        assert "# YOUR CODE HERE\n" in cell.source and "raise NotImplementedError()" in cell.source


def defined_signatures(nb):
    """{name or Class.method: parameter names without self} of every def in the code cells."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and not c.source.startswith("%"))
    tree = ast.parse("\n".join(l for l in code.splitlines() if not l.lstrip().startswith("%")))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = tuple(a.arg for a in node.args.args)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = tuple(a.arg for a in item.args.args[1:])
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_release_defines_every_graded_name_with_the_contracts_signature(assignment):
    found = defined_signatures(nbformat.read(notebook_path("release", assignment), as_version=4))
    for graded in ASSIGNMENTS[assignment]:
        assert found.get(graded.name) == graded.signature, graded.name


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_each_graded_name_has_one_check_cell_with_its_points(assignment):
    nb = nbformat.read(notebook_path("source", assignment), as_version=4)
    checks = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert checks == {g.grade_id: g.points for g in ASSIGNMENTS[assignment]}


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_release_shows_figures_but_no_other_output(assignment):
    nb = nbformat.read(notebook_path("release", assignment), as_version=4)
    kept = outputs(nb)
    assert kept, "the release shows no figure"
    for cell, out in kept:
        assert "figure" in cell.metadata.get("tags", [])
        assert set(out.get("data", {})) <= {"image/png", "image/svg+xml"}


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_nbgrader_validate_passes_on_the_source(assignment):
    result = subprocess.run([NBGRADER, "validate", str(notebook_path("source", assignment))],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout + result.stderr

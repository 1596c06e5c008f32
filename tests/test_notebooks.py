"""The source notebooks run clean, and release/ is exactly nbgrader's student version."""
import ast
import json
import re
import shutil
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course import ASSIGNMENTS, CourseError, read_course
from conftest import ASSIGNMENT_NAMES, NBGRADER, ROOT

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")

# The course contract (shared/contract.md) fixes these graded names and signatures (without
# self); the registry (autograder/course.py, read from the source notebooks) must hold them.
# More names may be added, and the points are ours. Pinned here because the contract lives
# outside the repository; test_the_pin_is_the_contract checks the pin when it is at hand.
CONTRACT = {
    "logistic_regression": {"logistic": ("z",), "loss": ("y", "t"), "gradient": ("w", "x", "t"),
                            "delta_w": ("w_k", "x", "t", "learning_rate"), "xor_feature_weights": ()},
    "hidden_layer": {"xor_network_weights": (), "backprop": ("X", "t", "params")},
    "digits_mlp": {"LinearUpdate.backward": ("A", "gY"), "LogisticUpdate.backward": ("Y", "grad_out"),
                   "SoftmaxClassifier.backward": ("P", "T"), "SoftmaxClassifier.cross_entropy": ("P", "T"),
                   "Layer.backward": ("A", "Y", "grad_out")},
}
CONTRACT_MD = ROOT.parent / "shared" / "contract.md"


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


@pytest.mark.parametrize("assignment", CONTRACT)
def test_the_registry_holds_the_contracts_graded_names(assignment):
    assert assignment in ASSIGNMENTS
    registry = {g.name: g for g in ASSIGNMENTS[assignment]}
    found = defined_signatures(nbformat.read(notebook_path("release", assignment), as_version=4))
    for name, signature in CONTRACT[assignment].items():
        assert name in registry, f"{name} has no graded cell in source/{assignment}"
        assert registry[name].signature == signature == found.get(name), name
        assert registry[name].points > 0, name


def test_the_pin_is_the_contract():
    if not CONTRACT_MD.is_file():
        pytest.skip(f"{CONTRACT_MD} is not at hand")
    contract, assignment = {}, None
    for line in CONTRACT_MD.read_text().splitlines():
        header = re.match(r"### `(\w+)/\1\.ipynb`", line)
        row = re.match(r"\| `([\w.]+)` \| `\w+\(([^)]*)\)` \|", line)
        if header:
            assignment = header.group(1)
            contract[assignment] = {}
        elif row and assignment:
            params = tuple(p.strip() for p in row.group(2).split(",") if p.strip() and p.strip() != "self")
            contract[assignment][row.group(1)] = params
    assert contract == CONTRACT


def readme_points_table():
    """{assignment: {graded name: points}} of the README's table of graded names."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("| assignment | graded names (points) |")
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        assignment, names = re.fullmatch(r"\| `(\w+)` \| (.*) \|", line).groups()
        entries = re.findall(r"`([\w.]+)` (\d+(?:\.\d+)?)", names)
        assert len(entries) == names.count(",") + 1, line
        table[assignment] = {name: float(points) for name, points in entries}
    return table


def test_the_readmes_table_of_graded_names_is_the_registry():
    assert readme_points_table() == {a: {g.name: float(g.points) for g in graded} for a, graded in ASSIGNMENTS.items()}


def test_each_graded_name_has_one_check_cell_with_its_points_in_notebook_order():
    for assignment, graded in ASSIGNMENTS.items():
        nb = nbformat.read(notebook_path("source", assignment), as_version=4)
        checks = [(c.metadata["nbgrader"]["grade_id"], c.metadata["nbgrader"]["points"])
                  for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert checks == [(g.grade_id, g.points) for g in graded]


def test_a_new_assignment_folder_is_picked_up_with_no_code_change(tmp_path):
    """source/<a>/<a>.ipynb is all it takes: the registry and the Makefile both see it."""
    (tmp_path / "source" / "notes").mkdir(parents=True)  # no notes/notes.ipynb: not an assignment
    shutil.copy(notebook_path("source", "logistic_regression"), tmp_path / "source" / "notes" / "scratch.ipynb")
    new = tmp_path / "source" / "xor_again" / "xor_again.ipynb"
    new.parent.mkdir()
    nb = json.loads(notebook_path("source", "hidden_layer").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "check-backprop":
            cell["metadata"]["nbgrader"]["points"] = 5
    new.write_text(json.dumps(nb))
    course = read_course(tmp_path)
    assert list(course) == ["xor_again"]
    assert [(g.name, g.signature, g.points) for g in course["xor_again"]] == \
        [("xor_network_weights", (), 3), ("backprop", ("X", "t", "params"), 5)]
    make = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path),
                           "--eval", "show-assignments: ; @echo $(ASSIGNMENTS)", "show-assignments"],
                          capture_output=True, text=True, check=True)
    assert make.stdout.split() == ["xor_again"]
    assert subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(ROOT),
                           "--eval", "show-assignments: ; @echo $(ASSIGNMENTS)", "show-assignments"],
                          capture_output=True, text=True, check=True).stdout.split() == list(ASSIGNMENTS)


def test_a_graded_cell_that_breaks_the_authoring_rules_is_refused(tmp_path):
    nb = json.loads(notebook_path("source", "hidden_layer").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "check-backprop":
            cell["metadata"]["nbgrader"]["grade_id"] = "check-back_prop"
    target = tmp_path / "source" / "hidden_layer" / "hidden_layer.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(nb))
    with pytest.raises(CourseError, match="must have grade_id check-backprop"):
        read_course(tmp_path)


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

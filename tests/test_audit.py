"""The mutation audit (python -m autograder audit): mutants of the reference, each graded as a
student's notebook in the sandbox, must lose points on their own item and only there.

The whole audit runs with `make audit`; here a fixed sample (two mutants of each item, spread
over its code) keeps the suite fast, and a copy of the kit with a weakened spec shows that
the audit finds the holes it leaves.
"""
import difflib
import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder.course import ASSIGNMENTS
from autograder.integrations.audit.equivalence import equivalence
from autograder.integrations.audit.mutants import Mutant, mutants_of
from autograder.integrations.audit.submissions import write_mutant_notebooks
from autograder.notebook.code_cells import read_notebook
from autograder.notebook.program import source_notebook
from conftest import ASSIGNMENT_NAMES, ROOT

SAMPLE = 2  # mutants per item in the suite's sample


def all_mutants(assignment):
    return mutants_of(assignment, source_notebook(assignment), [g.name for g in ASSIGNMENTS[assignment]])


def audit(args, kit=ROOT):
    """The command's exit status and its audit.json, run as an instructor runs it."""
    env = {**os.environ, "PYTHONPATH": str(kit)}
    done = subprocess.run([sys.executable, "-m", "autograder", "audit", *args], cwd=kit, env=env,
                          capture_output=True, text=True, timeout=600)
    out = args[args.index("--out") + 1]
    assert os.path.exists(os.path.join(out, "audit.json")), done.stdout[-3000:] + done.stderr[-3000:]
    with open(os.path.join(out, "audit.json"), encoding="utf-8") as file:
        return done.returncode, json.load(file), done.stdout


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_every_mutant_changes_one_place_of_one_solution_region(assignment):
    mutants = all_mutants(assignment)
    graded = {g.name for g in ASSIGNMENTS[assignment]}
    assert len({m.id for m in mutants}) == len(mutants) == len({m.source for m in mutants})
    assert {n for m in mutants for n in m.items} == graded  # every graded item has mutants
    for mutant in mutants:
        changed = [i for i, (a, b) in enumerate(zip(mutant.original.splitlines(), mutant.source.splitlines())) if a != b]
        assert len(mutant.original.splitlines()) == len(mutant.source.splitlines()), mutant
        assert len(changed) == 1 and changed[0] + 1 == mutant.line, mutant
        assert "### BEGIN SOLUTION" in "".join(mutant.original.splitlines(keepends=True)[:mutant.line - 1]), mutant


def test_the_operators_cover_the_mistakes_the_issue_lists():
    changes = [m.description for a in ASSIGNMENT_NAMES for m in all_mutants(a)]
    for expected in ("`/` -> `*`", "`+` -> `-`", "`-` -> `+`", "`a - b` -> `b - a`", "`mean` -> `sum`",
                     "`sum` -> `mean`", "`axis=0` -> `axis=1`", "`.T` dropped from `error.T`", "`.T` added to",
                     "arguments `X_train` and `T_train` swapped", "`1.0` -> `2.0`", "`1.0` -> `0.5`", "`1.0` -> `0.0`",
                     "index `0` -> `1`", "`range(epochs)` -> `range(epochs - 1)`", "`log` -> `log1p`",
                     "`-np.abs(z)` -> `np.abs(z)`", "`>=` -> `>`", "-> `gW1`"):
        assert any(expected in change for change in changes), expected


def test_equivalence_runs_mutant_code_in_another_process_and_tells_equivalent_from_not(tmp_path):
    """`z >= 0` -> `z > 0` in logistic is equivalent (both branches give 0.5 at 0); `>=` -> `<` is not.
    A third mutant records the process its cells run in: never this one."""
    mutants = {m.description: m for m in all_mutants("logistic_regression") if m.items == ("logistic",)}
    boundary, negated = mutants["`>=` -> `>`"], mutants["`>=` -> `<`"]
    where = tmp_path / "pid"
    spy = Mutant("logistic-spy", "logistic_regression", ("logistic",), boundary.grade_id, "test", 1, "spy",
                 boundary.original, f"import os\nopen({str(where)!r}, 'w').write(str(os.getpid()))\n"
                                    + boundary.original)
    paths = write_mutant_notebooks([boundary, negated, spy], tmp_path / "mutants")
    notebooks = {i: read_notebook(path) for i, path in paths.items()}
    verdicts = equivalence("logistic_regression", [boundary, negated, spy], notebooks)
    assert verdicts[boundary.id] is None and verdicts[spy.id] is None
    assert verdicts[negated.id] and "logistic" in verdicts[negated.id]
    assert int(where.read_text()) != os.getpid()


@pytest.mark.parametrize("assignment", ASSIGNMENT_NAMES)
def test_a_sample_of_mutants_is_killed_each_on_its_own_item(assignment, tmp_path):
    """Two mutants of every item, graded in the sandbox: none survives, none costs another item."""
    status, data, printed = audit([assignment, "--per-item", str(SAMPLE), "--workers", "1", "--out", str(tmp_path)])
    graded = [g.name for g in ASSIGNMENTS[assignment]]
    assert list(data["items"]) == graded
    assert all(row["mutants"] == SAMPLE for row in data["items"].values()), data["items"]
    total = data["total"]
    assert total["survived"] == 0 and total["collateral"] == 0, printed
    assert status == 0, printed
    assert total["killed"] > 0 and total["mutants"] == total["equivalent"] + total["killed"]
    for row in data["mutants"]:
        if row["status"] == "killed":
            assert row["points_lost"] and set(row["points_lost"]) <= set(row["items"]), row
    assert f"total" in printed and "survived" in printed


@pytest.fixture(scope="module")
def weakened_kit(tmp_path_factory):
    """A copy of the kit whose gradient checks nothing of its value: its value checks ("matches the
    reference", the numeric gradient) and its saturation case (which compares values too) give
    way to one value check that only calls it. Planted by text substitution in the copy's spec
    (with no value check at all an item cannot earn its value share, so every mutant would lose
    points and none would survive)."""
    kit = tmp_path_factory.mktemp("weakened") / "kit"
    shutil.copytree(ROOT, kit, ignore=shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", "*.egg-info",
                                                             ".pytest_cache", "graded", "gradebook.db"))
    spec = kit / "autograder" / "assignments" / "logistic_regression" / "spec.py"
    text = spec.read_text()
    anchor = "ITEMS = (LOGISTIC, LOSS, GRADIENT,"
    assert text.count(anchor) == 1, f"the spec of logistic_regression changed: {anchor!r} is not there once"
    spec.write_text(text.replace(anchor, (
        "import dataclasses\n"
        "GRADIENT = dataclasses.replace(GRADIENT, value=None, numeric=None, cases=(Case(\n"
        "    'runs (a weakened value check)', kind='value', body=lambda ctx: ctx.run(ctx.typical())),))\n" + anchor)))
    return kit


def test_a_weakened_spec_lets_mutants_survive_and_the_audit_says_which(weakened_kit, tmp_path):
    status, data, printed = audit(["logistic_regression", "--item", "gradient", "--out", str(tmp_path)], weakened_kit)
    assert status == 1, printed
    assert list(data["items"]) == ["gradient"]
    survivors = [row for row in data["mutants"] if row["status"] == "survived"]
    assert data["total"]["survived"] == len(survivors) >= 5, printed
    by_change = {row["change"]: row for row in survivors}
    assert "`/` -> `*`" in by_change and "`.T` added to `inputs`" not in by_change  # a wrong shape still fails a gate
    for row in survivors:
        assert row["points_lost"] == {} and row["diff"].startswith("--- source/logistic_regression gradient-solution")
        assert (tmp_path / "diffs" / f"{row['id']}.diff").read_text() == row["diff"]
        assert f"survived: {row['id']}" in printed
    diff = by_change["`/` -> `*`"]["diff"]
    assert "-    return error.T @ inputs / inputs.shape[0]" in diff and "+    return error.T @ inputs * inputs.shape[0]" in diff
    assert not any(line.startswith(("+", "-")) and "inputs.shape" not in line
                   for line in diff.splitlines()[2:]), diff  # one line changed


def test_the_unweakened_spec_kills_the_same_mutants(tmp_path):
    status, data, printed = audit(["logistic_regression", "--item", "gradient", "--out", str(tmp_path)])
    assert status == 0 and data["total"]["survived"] == 0 and data["total"]["killed"] >= 10, printed


def test_diffs_are_unified_diffs_of_the_cell():
    mutant = next(m for m in all_mutants("logistic_regression") if m.description == "`/` -> `*`" and
                  m.items == ("gradient",))
    from autograder.integrations.audit.report import cell_diff

    expected = difflib.unified_diff(mutant.original.splitlines(True), mutant.source.splitlines(True), n=2)
    assert cell_diff(mutant).splitlines()[2:] == [line.rstrip("\n") for line in expected][2:]

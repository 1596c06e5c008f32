"""What a regrade changed: python -m autograder diff OLD_OUT NEW_OUT, and nbgrader-sync --dry-run.

A small logistic_regression class is graded by the kit, then again by a copy of the kit whose
spec accepts gradients within rtol 1e-3 instead of 1e-6 (changed by text in the copy; the
real spec is untouched). Two students whose gradient is off by 1e-4 are planted: the diff must
name exactly them, with the check that flipped, and no one else. The dry run of the sync
compares a real nbgrader gradebook with the sandbox and must leave it byte for byte as it was.
"""
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder.course import ASSIGNMENTS
from conftest import ROOT
from submissions import mutate, release_submission, submission

A = "logistic_regression"
GRADIENT = ("error.T @ inputs / inputs.shape[0]", "error.T @ inputs / inputs.shape[0] * (1 + {})")
NEAR, FAR = ["near1", "near2"], "far"  # gradients off by 1e-4 (within the new tolerance) and by 1e-2
SPEC_OLD, SPEC_NEW = '"gradient", args=(', '"gradient", rtol=1e-3, args=('  # the Item of gradient in the spec
FLIPPED = "gradient: matches the reference"


def run(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def small_class(submitted):
    submission(submitted, A, student="ada")
    submission(submitted, A, student="ben", replace=mutate(A, "gradient-solution", (GRADIENT[0], "error.T @ inputs")))
    for student in NEAR:
        submission(submitted, A, student=student, replace=mutate(A, "gradient-solution", (GRADIENT[0], GRADIENT[1].format("1e-4"))))
    submission(submitted, A, student=FAR, replace=mutate(A, "gradient-solution", (GRADIENT[0], GRADIENT[1].format("1e-2"))))
    release_submission(submitted, A, student="cy")
    return submitted


@pytest.fixture(scope="module")
def regraded(tmp_path_factory):
    """(OLD_OUT, NEW_OUT, the diff command): graded by the kit, then by a copy with a looser gradient tolerance."""
    root = tmp_path_factory.mktemp("regrade")
    submitted = small_class(root / "submitted")
    done = run("grade", submitted, "--out", root / "old", "--workers", 2, "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]

    kit = root / "kit"
    shutil.copytree(ROOT, kit, ignore=shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", "*.egg-info",
                                                            ".pytest_cache", "graded", "gradebook.db", "tests"))
    spec = kit / "autograder" / "assignments" / A / "spec.py"
    text = spec.read_text()
    assert text.count(SPEC_OLD) == 1, f"the spec's gradient Item no longer reads {SPEC_OLD!r}: update this test"
    spec.write_text(text.replace(SPEC_OLD, SPEC_NEW))
    done = run("grade", submitted, "--out", root / "new", "--workers", 2, "--quiet", cwd=kit,
               env={**os.environ, "PYTHONPATH": str(kit)})
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "old", root / "new", run("diff", root / "old", root / "new")


def statuses(out, student):
    saved = json.loads((out / student / A / "result.json").read_text())["result"]
    return {t["name"]: t["status"] for t in saved["tests"]}


def csv_rows(out):
    with open(out / "diff.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_the_diff_names_exactly_the_students_whose_verdict_the_tolerance_flips(regraded):
    old, new, done = regraded
    assert done.returncode == 0, done.stderr
    flipped = {s for s in os.listdir(old) if (old / s / A).is_dir() and statuses(old, s) != statuses(new, s)}
    assert flipped == set(NEAR), flipped  # the change flips these two, and the planted far miss stays wrong
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.endswith(")") and f"  {A}  " in line}
    assert listed == set(NEAR), done.stdout
    for student in NEAR:
        assert statuses(old, student)[FLIPPED] == "failed" and statuses(new, student)[FLIPPED] == "passed"
    assert f"      {FLIPPED}: failed → passed" in done.stdout
    summary = done.stdout.strip().splitlines()[-2]
    assert summary.startswith("2 changed: 2 up, 0 down, largest change "), summary


def test_diff_csv_holds_each_changed_submission_and_item(regraded):
    old, new, done = regraded
    rows = csv_rows(new)
    assert done.stdout.strip().splitlines()[-1] == f"Wrote {new / 'diff.csv'}"
    assert {r["student"] for r in rows} == set(NEAR)
    for student in NEAR:
        total = next(r for r in rows if r["student"] == student and r["item"] == "")
        item = next(r for r in rows if r["student"] == student and r["item"] == "gradient")
        assert float(total["new_score"]) > float(total["old_score"]) and item["old_score"] == "0"
        assert float(item["change"]) == pytest.approx(float(item["new_score"]) - float(item["old_score"]))
        assert f"{FLIPPED}: failed → passed" in item["note"]


def test_the_same_grading_twice_is_0_changed(regraded, tmp_path):
    old, _, _ = regraded
    copy = tmp_path / "again"
    shutil.copytree(old, copy)
    done = run("diff", old, copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("0 changed: 0 up, 0 down; 6 submission(s) in both"), done.stdout
    assert len(csv_rows(copy)) == 0


def test_submissions_in_only_one_grading_are_listed(regraded, tmp_path):
    old, _, _ = regraded
    copy = tmp_path / "fewer"
    shutil.copytree(old, copy)
    shutil.rmtree(copy / "cy")
    done = run("diff", old, copy)
    assert done.returncode == 0, done.stderr
    assert f"only in {old}: cy  {A}  0 (graded)" in done.stdout
    assert done.stdout.splitlines()[-2].endswith("1 only in the old grading, 0 only in the new")
    assert [(r["student"], r["note"]) for r in csv_rows(copy)] == [("cy", "only in the old grading")]


# --- nbgrader-sync --dry-run ---------------------------------------------------------------------

def gradebook(course, auto_scores):
    """course/gradebook.db made with nbgrader's API: the assignment, its test cells, and each
    student's submission with the auto scores ``auto_scores`` {student: {item: score or None}}."""
    from nbgrader.api import Gradebook

    items = {g.name: float(g.points) for g in ASSIGNMENTS[A]}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_assignment(A)
        gb.add_notebook(A, A)
        for item, points in items.items():
            gb.add_grade_cell("check-" + item.replace(".", "_"), A, A, max_score=points, cell_type="code")
        for student, scores in auto_scores.items():
            gb.add_student(student)
            gb.add_submission(A, student)
            for item, score in scores.items():
                gb.find_grade("check-" + item.replace(".", "_"), A, A, student).auto_score = score
            gb.db.commit()


def test_the_sync_dry_run_prints_the_diff_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")  # nbgrader runs alembic
    course = tmp_path / "course"
    small = small_class(tmp_path / "all")
    for student in ("ada", "ben", "cy"):
        shutil.copytree(small / student, course / "submitted" / student)
    full = {g.name: float(g.points) for g in ASSIGNMENTS[A]}
    gradebook(course, {"ada": full, "ben": full,  # ben's gradient: 3 in the kernel, 0 in the sandbox
                       "cy": {item: None for item in full}})  # nbgrader's autograde failed on cy
    before = hashlib.sha256((course / "gradebook.db").read_bytes()).hexdigest()
    files = sorted(p.relative_to(course) for p in course.rglob("*"))
    done = run("nbgrader-sync", A, "--course-dir", course, "--dry-run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert hashlib.sha256((course / "gradebook.db").read_bytes()).hexdigest() == before
    assert sorted(p.relative_to(course) for p in course.rglob("*")) == files  # no record, no journal left
    lines = done.stdout.splitlines()
    assert f"ben  {A}  10 → 7  (-3)" in lines
    assert "    gradient: 3 → 0" in lines
    assert not any(line.startswith("ada ") for line in lines), done.stdout
    assert f"cy  {A}  0 → 0  (+0)" in lines and "    logistic: - → 0" in lines
    assert lines[-2].startswith("2 changed: 0 up, 1 down, largest change ben")
    assert lines[-1] == "Dry run: the gradebook and the sync record were not changed."


def test_the_sync_dry_run_without_a_gradebook_says_so(tmp_path):
    (tmp_path / "submitted").mkdir()
    done = run("nbgrader-sync", A, "--course-dir", tmp_path, "--dry-run")
    assert done.returncode != 0 and "no gradebook at" in done.stderr
    assert not (tmp_path / "gradebook.db").exists()

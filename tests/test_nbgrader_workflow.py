"""nbgrader end to end, through its real commands, in a temporary course with four students.

generate -> release -> fetch -> submit -> collect -> autograde -> nbgrader-sync -> export ->
generate_feedback, for a correct student who leaves warnings behind (alice), a buggy one (ben), one who tampers with the
in-kernel checks (eve) and one whose notebook is corrupt (dee).
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENTS
from conftest import NBGRADER, ROOT, course_copy
from submissions import build, cell_source, load_notebook, mutate

A = "logistic_regression"
COURSE_ID = "nn-from-scratch"
FULL_MARKS = {g.name: float(g.points) for g in ASSIGNMENTS[A]}
CHEAT = f'''
import autograder.integrations.in_kernel as checks
checks.hidden_score = lambda item, namespace: {FULL_MARKS!r}[item]
'''
# ben's gradient sums instead of averaging: a wrong value earns none of gradient's 3 points
EXPECTED = {"alice": 10.0, "ben": 7.0, "eve": 2.0, "dee": 0.0}


def student_notebooks():
    """What each student hands in, built from the release they fetched."""
    release = load_notebook(A, "release")
    solutions = {f"{g.name}-solution": cell_source(A, f"{g.name}-solution") for g in ASSIGNMENTS[A]}
    # alice is correct, and leaves a warning and a debug print to stderr in her gradient
    # (the checks capture them; tests/test_nbgrader_steps.py covers stderr in a test cell).
    alice = {**solutions, **mutate(A, "gradient-solution", (
        "    ### BEGIN SOLUTION\n",
        "    ### BEGIN SOLUTION\n    import sys, warnings\n    warnings.warn('gradient: still debugging')\n"
        "    print('debug: computing the gradient', file=sys.stderr)\n"))}
    ben = {**solutions, **mutate(A, "gradient-solution", ("error.T @ inputs / inputs.shape[0]", "error.T @ inputs"))}
    eve = {"logistic-solution": solutions["logistic-solution"] + "\n" + CHEAT}
    return {"alice": build(release, alice), "ben": build(release, ben), "eve": build(release, eve)}


def run(args, cwd, env, check=True):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course after the whole workflow, with what each step printed."""
    top = tmp_path_factory.mktemp("nbgrader")
    (top / "course").mkdir()
    course = course_copy(top / "course")
    exchange = top / "exchange"
    env = {**os.environ, "NBGRADER_EXCHANGE": str(exchange), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    student_flags = [f"--course={COURSE_ID}", f"--Exchange.root={exchange}", f"--Exchange.cache={top / 'cache'}"]
    nbg = [NBGRADER]
    run(nbg + ["generate_assignment", A, "--force"], course, env)
    run(nbg + ["release_assignment", A, "--force"], course, env)
    notebooks = student_notebooks()
    for student in EXPECTED:
        home = top / "home" / student
        home.mkdir(parents=True)
        run(nbg + ["fetch_assignment", A] + student_flags, home, env)
        fetched = home / A / f"{A}.ipynb"
        if student == "dee":
            fetched.write_text(fetched.read_text()[:5000])  # the upload was cut short
        else:
            fetched.write_text(json.dumps(notebooks[student]))
        run(nbg + ["submit", A, f"--student={student}"] + student_flags, home, env)
    run(nbg + ["collect", A, "--CollectApp.check_owner=False"], course, env)
    autograde = run(nbg + ["autograde", A, "--create"], course, env, check=False)
    in_kernel = export_scores(course, env, "before.csv")
    sync = run([sys.executable, "-m", "autograder", "nbgrader-sync", A, "--course-dir", str(course)], course, env)
    synced = export_scores(course, env, "after.csv")
    sync_again = run([sys.executable, "-m", "autograder", "nbgrader-sync", A, "--course-dir", str(course)], course, env)
    run(nbg + ["generate_feedback", A], course, env)
    return {"dir": course, "env": env, "autograde": autograde, "in_kernel": in_kernel, "sync": sync.stdout,
            "synced": synced, "synced_again": export_scores(course, env, "again.csv"), "sync_again": sync_again.stdout}


def export_scores(course, env, name):
    """{student: score} from `nbgrader export`."""
    run([NBGRADER, "export", "--to", name, "--assignment", A], course, env)
    with open(course / name) as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}


def cli_score(course, student):
    """What `python -m autograder grade` gives the same submitted notebook."""
    results = course / f"cli-{student}.json"
    notebook = course / "submitted" / student / A / f"{A}.ipynb"
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(notebook), "--results", str(results),
                    "--quiet"], cwd=ROOT, check=True, timeout=300)
    return json.loads(results.read_text())["score"]


def test_every_submission_was_collected_and_autograded_but_the_corrupt_one(course):
    submitted = sorted(p.name for p in (course["dir"] / "submitted").iterdir())
    assert submitted == sorted(EXPECTED)
    autograded = sorted(p.parent.parent.name for p in (course["dir"] / "autograded").glob(f"*/{A}/{A}.ipynb"))
    assert autograded == ["alice", "ben", "eve"]  # nbgrader's autograde fails on dee's notebook


def test_in_kernel_scores_equal_the_command_line_for_honest_students(course):
    for student in ("alice", "ben"):
        assert course["in_kernel"][student] == pytest.approx(cli_score(course["dir"], student), abs=1e-4)
    assert course["in_kernel"]["eve"] == 10.0  # the cheat works inside the kernel...


def test_exported_grades_match_the_command_line_after_the_sync(course):
    for student, expected in EXPECTED.items():
        assert course["synced"][student] == pytest.approx(expected, abs=1e-4)
        assert course["synced"][student] == pytest.approx(cli_score(course["dir"], student), abs=1e-4)


def test_the_tampering_student_is_listed_and_ends_with_the_sandbox_score(course):
    listed = [line for line in course["sync"].splitlines() if line.startswith("Possible tampering")]
    assert listed and "eve" in listed[0] and "alice" not in listed[0] and "ben" not in listed[0]
    assert course["synced"]["eve"] == pytest.approx(2.0)


def test_a_crash_is_recorded_with_a_reason_not_a_silent_zero(course):
    assert "Not graded: dee: unreadable:" in course["sync"]
    with open(course["dir"] / "autograder_sync" / f"{A}.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["dee"]["status"] == "unreadable" and "not a valid notebook" in rows["dee"]["reason"]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course['dir'] / 'gradebook.db'}") as gradebook:
        assert gradebook.find_grade("check-gradient", A, A, "dee").needs_manual_grade
        assert gradebook.find_submission_notebook(A, A, "eve").flagged
        assert not gradebook.find_submission_notebook(A, A, "alice").flagged


def test_the_sync_can_run_again_safely(course):
    assert course["synced_again"] == course["synced"]
    assert [l for l in course["sync_again"].splitlines() if l.startswith("Possible tampering")] == \
        [l for l in course["sync"].splitlines() if l.startswith("Possible tampering")]


def test_manual_grades_survive_the_sync(course):
    from nbgrader.api import Gradebook
    db = f"sqlite:///{course['dir'] / 'gradebook.db'}"
    with Gradebook(db) as gradebook:
        gradebook.find_grade("check-loss", A, A, "ben").manual_score = 1.5
        gradebook.db.commit()
    run([sys.executable, "-m", "autograder", "nbgrader-sync", A, "--course-dir", str(course["dir"])],
        course["dir"], course["env"])
    with Gradebook(db) as gradebook:
        grade = gradebook.find_grade("check-loss", A, A, "ben")
        assert grade.manual_score == 1.5 and grade.auto_score == pytest.approx(2.0)


def test_feedback_shows_our_messages_and_no_hidden_test_code(course):
    html = (course["dir"] / "feedback" / "ben" / A / f"{A}.html").read_text()
    assert "times too large" in html  # our diagnosis of ben's sum-instead-of-mean
    for hidden in ("BEGIN HIDDEN TESTS", "hidden_score", "from autograder", "test_gradient_value"):
        assert hidden not in html

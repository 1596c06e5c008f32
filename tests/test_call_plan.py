"""An item's single calls run in one fork (the call plan): fewer forks, the same grades.

The plan is what the hidden suite asks of each item when it grades the source notebook.
Grading with it must give exactly the grades of one fork per batch, and a call that
crashes the shared fork must still be pinned on that call alone.
"""
import pytest

from autograder import grading
from autograder.course import ASSIGNMENTS as COURSE
from autograder.sandbox import Sandbox
from submissions import code, failures, grade, notebook_path, release_submission, report, submission

ASSIGNMENTS = ("logistic_regression", "hidden_layer", "digits_mlp")


def graded_with_forks(path, monkeypatch, plan=True):
    """(result, number of batches sent to the student process) for grading ``path``."""
    grading.call_plan(grading.assignment_of(path), None)  # learned before counting
    sent = []
    real = Sandbox.call_batch
    with monkeypatch.context() as patch:
        if not plan:
            patch.setattr(grading, "call_plan", lambda assignment, isolation: {})
        patch.setattr(Sandbox, "call_batch", lambda self, calls, timeout=None: sent.append(len(calls))
                      or real(self, calls, timeout))
        result = grade(path)
    return result, len(sent)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_plan_plans_every_item_of_the_reference(assignment):
    plan = grading.call_plan(assignment, None)
    assert set(plan) == {g.name for g in COURSE[assignment]}
    assert all(plan[item] and all(isinstance(spec, dict) and "target" in spec for spec in plan[item]) for item in plan)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_plan_cuts_forks_to_about_three_an_item_and_changes_no_grade(assignment, monkeypatch, tmp_path):
    """An item's first call alone, then its planned calls, then "gives the same output twice"."""
    for path in (notebook_path(assignment), release_submission(tmp_path, assignment)):
        planned, planned_forks = graded_with_forks(path, monkeypatch)
        alone, forks = graded_with_forks(path, monkeypatch, plan=False)
        assert planned.tests == alone.tests, report(planned)
        if path == notebook_path(assignment):
            assert planned_forks < forks and planned_forks <= 3 * len(COURSE[assignment]), (planned_forks, forks)


def test_a_call_that_crashes_the_shared_fork_costs_only_its_own_check(tmp_path, monkeypatch):
    path = submission(tmp_path, "logistic_regression", replace={"logistic-solution": code("""
        import os
        def logistic(z):
            z = np.asarray(z, dtype=float)
            if np.max(np.abs(z)) >= 1000:
                os._exit(3)
            return np.exp(-np.logaddexp(0.0, -z))
    """)})
    result, _ = graded_with_forks(path, monkeypatch)
    failed = [t.name for t in result.tests if t.status == "failed"]
    assert failed == ["logistic: stays finite and exact at |z| = 1000"], report(result)
    assert "exit 3" in failures(result, "logistic")
    scores = result.item_scores()
    assert all(scores[g.name] == g.points for g in COURSE["logistic_regression"] if g.name != "logistic"), \
        report(result)

"""An item's calls run in one fork (the call plan): fewer forks, the same grades.

The plan is what the hidden suite asks of each item when it grades the source notebook.
Grading with it must give exactly the grades of one fork per batch, for a function that
keeps state too, and a call that hangs or crashes the shared fork must cost that call
alone, once.
"""
import pytest

from autograder import grade as grading
from autograder.checks.call_plan import call_plan
from autograder.course import ASSIGNMENTS as COURSE
from autograder.sandbox.session import Session, SandboxFailure
from submissions import code, failures, grade, notebook_path, release_submission, report, submission

ASSIGNMENTS = tuple(COURSE)


def graded_with_forks(path, monkeypatch, plan=True):
    """(result, batches sent to the student process, their failures' kinds) for grading ``path``."""
    sent, failed = [], []
    real = Session.call_batch

    def counted(self, calls, timeout=None, **stand_in):
        sent.append(len(calls))
        try:
            return real(self, calls, timeout, **stand_in)
        except SandboxFailure as failure:
            failed.append(failure.kind)
            raise

    with monkeypatch.context() as patch:
        if not plan:
            patch.setattr(grading, "call_plan", lambda assignment, seed: {})
        patch.setattr(Session, "call_batch", counted)
        result = grade(path)
    return result, len(sent), failed


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_plan_plans_every_item_of_the_reference(assignment):
    plan = call_plan(assignment, 0)
    assert set(plan) == {g.name for g in COURSE[assignment]}
    assert all(plan[item] and all(specs and all("target" in spec for spec in specs) for specs in plan[item].values())
               for item in plan)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_plan_cuts_forks_to_about_one_an_item_and_changes_no_grade(assignment, monkeypatch, tmp_path):
    """An item's planned calls in one fork, led by the pair of "gives the same output twice"."""
    for path in (notebook_path(assignment), release_submission(tmp_path, assignment)):
        planned, planned_forks, _ = graded_with_forks(path, monkeypatch)
        alone, forks, _ = graded_with_forks(path, monkeypatch, plan=False)
        assert planned.tests == alone.tests, report(planned)
        if path == notebook_path(assignment):
            assert planned_forks < forks and planned_forks <= len(COURSE[assignment]) + 1, (planned_forks, forks)


def test_a_function_that_keeps_state_loses_only_what_it_loses_without_a_plan(tmp_path, monkeypatch):
    """The leading pair shows the state, and the item's other calls then run one fork each."""
    path = submission(tmp_path, "logistic_regression", replace={"logistic-solution": code("""
        calls = []
        def logistic(z):
            calls.append(1)
            return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float))) + 1e-3 * (len(calls) - 1)
    """)})
    planned, planned_forks, _ = graded_with_forks(path, monkeypatch)
    alone, forks, _ = graded_with_forks(path, monkeypatch, plan=False)
    assert planned.tests == alone.tests, report(planned)
    lost = {t.name for t in planned.tests if t.status == "failed"}
    assert "logistic: gives the same output twice" in lost, report(planned)
    assert not any(name.startswith("logistic: ") and "twice" not in name for name in lost), report(planned)


def test_a_call_that_hangs_in_the_shared_fork_costs_its_limit_once(tmp_path, monkeypatch):
    path = submission(tmp_path, "logistic_regression", replace={"logistic-solution": code("""
        import time
        def logistic(z):
            z = np.asarray(z, dtype=float)
            if z.shape == (1, 5) and np.max(np.abs(z)) >= 1000:  # only the check at |z| = 1000
                time.sleep(60)
            return np.exp(-np.logaddexp(0.0, -z))
    """)})
    result, _, failed = graded_with_forks(path, monkeypatch)
    assert [t.name for t in result.tests if t.status == "failed"] == ["logistic: stays finite and exact at |z| = 1000"]
    assert "did not finish within 10 s" in failures(result, "logistic"), report(result)
    assert failed == ["timeout"]  # in the shared fork, and not again alone


def test_a_call_that_crashes_the_shared_fork_costs_only_its_own_check(tmp_path, monkeypatch):
    path = submission(tmp_path, "logistic_regression", replace={"logistic-solution": code("""
        import os
        def logistic(z):
            z = np.asarray(z, dtype=float)
            if np.max(np.abs(z)) >= 1000:
                os._exit(3)
            return np.exp(-np.logaddexp(0.0, -z))
    """)})
    result, _, _ = graded_with_forks(path, monkeypatch)
    failed = [t.name for t in result.tests if t.status == "failed"]
    assert failed == ["logistic: stays finite and exact at |z| = 1000"], report(result)
    assert "exit 3" in failures(result, "logistic")
    scores = result.item_scores()
    assert all(scores[g.name] == g.points for g in COURSE["logistic_regression"] if g.name != "logistic"), \
        report(result)

"""Grade one submitted notebook, in the order a submission travels:

notebook (autograder/notebook: the code to run) -> sandbox (autograder/sandbox: the student's
process) -> checks (autograder/checks: the hidden suite, through a Client) -> scores
(autograder/scores: points by the scoring policy, into the one result model). The reports
(autograder/reports) are rendered from that result by the caller.
"""
import time
from pathlib import Path

from autograder.course import ASSIGNMENTS
from autograder.notebook.code_cells import UnreadableNotebook, read_notebook
from autograder.notebook.input_seed import input_seed, notebook_sources
from autograder.notebook.program import assignment_modules, code_to_run
from autograder.sandbox.session import Limits, SandboxFailure, Session
from autograder.checks.call_plan import call_plan
from autograder.checks.client import Client
from autograder.checks.suite import run_hidden_suite
from autograder.scores.results import SubmissionResult
from autograder.scores.scoring import scored_tests

ROOT = Path(__file__).resolve().parent.parent


def assignment_of(notebook_path):
    """The assignment a notebook belongs to, from its file name (the contract's rule)."""
    return Path(notebook_path).stem


def ungradeable(result, status, sentence):
    result.status, result.output = status, sentence
    return result


def grade_notebook(path, assignment=None, student="", limits=Limits(), isolation=None):
    """The SubmissionResult of the notebook at ``path``; never raises for a bad submission.

    A failure of the grader itself is recorded as status "grader error", so that one
    submission never stops a batch; the instructor sees the reason in ``output``.
    """
    assignment = assignment or assignment_of(path)
    result = SubmissionResult(student=student, assignment=assignment, notebook=str(path))
    started = time.perf_counter()
    try:
        _grade(path, assignment, result, limits, isolation)
    except Exception as err:  # the grader's own fault: record it, keep the batch going
        result.tests = []
        ungradeable(result, "grader error", f"The grader failed on this submission ({type(err).__name__}: "
                    f"{err}). This is not your fault; your instructor can see this message.")
    result.seconds = round(time.perf_counter() - started, 3)  # the class report's grading time
    return result


def _grade(path, assignment, result, limits, isolation):
    if assignment not in ASSIGNMENTS:
        return ungradeable(result, "unknown assignment",
                           f"{Path(path).name} is not one of the course's notebooks "
                           f"({', '.join(a + '.ipynb' for a in ASSIGNMENTS)}); rename it or pass --assignment.")
    result.max_score = float(sum(g.points for g in ASSIGNMENTS[assignment]))
    try:  # notebook
        notebook = read_notebook(path)
    except UnreadableNotebook as err:
        return ungradeable(result, "unreadable", str(err))
    code = code_to_run(notebook, assignment)
    seed = input_seed(notebook_sources(notebook), [g.name for g in ASSIGNMENTS[assignment]])
    plan = call_plan(assignment, seed)
    with Session(code, limits, isolation, assignment_modules(assignment)) as session:  # sandbox
        try:
            session.start()
        except SandboxFailure as failure:
            return ungradeable(result, failure.kind, f"{failure} Nothing could be graded.")
        records = run_hidden_suite(assignment, Client(session, plan, assignment, seed=seed))  # checks
    result.tests = scored_tests(records, assignment)  # scores
    return result

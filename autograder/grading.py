"""Grade one submitted notebook: submission -> sandbox -> hidden suite -> SubmissionResult."""
import functools
from pathlib import Path

from autograder import scoring
from autograder.course import ASSIGNMENTS
from autograder.hidden_suite import run_hidden_suite
from autograder.lazy_imports import unused_module_imports, with_lazy_imports
from autograder.results import SubmissionResult, TestResult
from autograder.sandbox import Limits, Sandbox, SandboxFailure
from autograder.student import Student
from autograder.submission import (UnreadableNotebook, grading_code, imported_modules, read_notebook,
                                   trusted_grading_code)

ROOT = Path(__file__).resolve().parent.parent


def assignment_of(notebook_path):
    """The assignment a notebook belongs to, from its file name (the contract's rule)."""
    return Path(notebook_path).stem


def points(records, assignment):
    """TestResults with each item's points shared among its checks as the scoring policy says."""
    item_points = {g.name: g.points for g in ASSIGNMENTS[assignment]}
    shares = {}
    for item in dict.fromkeys(r.item for r in records):
        mine = [r for r in records if r.item == item]
        for record, share in zip(mine, scoring.points([(r.kind, r.weight) for r in mine], item_points[item])):
            shares[id(record)] = share
    tests = []
    for record in records:
        share = shares[id(record)]
        tests.append(TestResult(
            name=f"{record.item}: {record.description}", item=record.item,
            score=share if record.status == "passed" else 0.0, max_score=share,
            output=record.output, status=record.status))
    return tests


def source_notebook(assignment):
    return read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")


@functools.cache
def lazy_modules(assignment):
    """{name: (module, top)}: the module imports no graded cell of the source notebook uses
    (its plotting libraries), which the student process imports lazily (see lazy_imports)."""
    return unused_module_imports(grading_code(source_notebook(assignment)))


def code_to_run(notebook, assignment):
    """The code cells the student process runs for ``notebook``: the trusted grading code,
    with the imports grading does not use made lazy."""
    lazy = lazy_modules(assignment)
    return [with_lazy_imports(code, lazy) for code in trusted_grading_code(notebook, source_notebook(assignment))]


@functools.cache
def assignment_modules(assignment):
    """What the assignment's source notebook imports and grading uses: the sandbox imports it
    before any submission."""
    return tuple(imported_modules(code_to_run(source_notebook(assignment), assignment)))


@functools.cache
def call_plan(assignment, isolation):
    """{graded item: {wire key: [call specs]}}: the batches the hidden suite asks of each item
    when it grades the source notebook, the reference solution. Each submission gets an
    item's planned batches in one fork (see Student); learned once per grader process.
    """
    with Sandbox(code_to_run(source_notebook(assignment), assignment), Limits(), isolation,
                 assignment_modules(assignment)) as sandbox:
        try:
            sandbox.start()
        except SandboxFailure as failure:
            raise RuntimeError(f"the source notebook of {assignment} could not be run ({failure})") from None
        student = Student(sandbox, assignment=assignment)
        run_hidden_suite(assignment, student)
    return student.asked


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
    try:
        return _grade(path, assignment, result, limits, isolation)
    except Exception as err:  # the grader's own fault: record it, keep the batch going
        result.tests = []
        return ungradeable(result, "grader error", f"The grader failed on this submission ({type(err).__name__}: "
                           f"{err}). This is not your fault; your instructor can see this message.")


def _grade(path, assignment, result, limits, isolation):
    if assignment not in ASSIGNMENTS:
        return ungradeable(result, "unknown assignment",
                           f"{Path(path).name} is not one of the course's notebooks "
                           f"({', '.join(a + '.ipynb' for a in ASSIGNMENTS)}); rename it or pass --assignment.")
    result.max_score = float(sum(g.points for g in ASSIGNMENTS[assignment]))
    try:
        notebook = read_notebook(path)
    except UnreadableNotebook as err:
        return ungradeable(result, "unreadable", str(err))
    plan = call_plan(assignment, isolation)
    with Sandbox(code_to_run(notebook, assignment), limits, isolation, assignment_modules(assignment)) as sandbox:
        try:
            sandbox.start()
        except SandboxFailure as failure:
            return ungradeable(result, failure.kind, f"{failure} Nothing could be graded.")
        result.tests = points(run_hidden_suite(assignment, Student(sandbox, plan, assignment)), assignment)
    return result

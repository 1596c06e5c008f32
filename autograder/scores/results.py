"""The one result model every report (Gradescope JSON, CSV, terminal table, feedback, the class
report and the grading diff) renders from.

A SubmissionResult is saved as ``dataclasses.asdict`` gives it (``result.json``) and read back
with ``SubmissionResult.from_dict``, which takes files written before a field existed (a
missing ``mistake`` or ``seconds`` is None) and ignores fields it does not know.
"""
from dataclasses import dataclass, field, fields

GRADED = "graded"


@dataclass
class TestResult:
    """One hidden check of one graded name: ``name`` reads "<graded name>: <property>"."""

    name: str
    item: str
    score: float
    max_score: float
    output: str
    status: str  # passed, failed, not implemented, not checked
    mistake: dict = None  # the diagnosed mistake: {"id": "gradient.sum-not-mean", "label": "sums over the ..."}


@dataclass
class SubmissionResult:
    """The grade of one submitted notebook."""

    student: str
    assignment: str
    notebook: str
    status: str = GRADED  # graded, or why not: unreadable, crashed, timeout, ...
    output: str = ""  # a sentence for the student about the submission as a whole
    tests: list = field(default_factory=list)
    max_score: float = 0.0
    # wall-clock seconds its grading took where it ran (grade_notebook), or None (graded before
    # this field); not part of the grade, so results compare equal without it
    seconds: float = field(default=None, compare=False)

    @classmethod
    def from_dict(cls, data):
        """The SubmissionResult of ``data``, a dict as ``dataclasses.asdict`` made it."""
        known = {f.name for f in fields(cls)}
        tests = [TestResult(**{k: v for k, v in t.items() if k in _TEST_FIELDS}) for t in data.get("tests", [])]
        return cls(**{**{k: v for k, v in data.items() if k in known}, "tests": tests})

    @property
    def score(self):
        return round(sum(t.score for t in self.tests), 6) if self.status == GRADED else 0.0

    def item_scores(self):
        """{graded name: points earned}, in the order the items were checked."""
        totals = {}
        for test in self.tests:
            totals[test.item] = totals.get(test.item, 0.0) + (test.score if self.status == GRADED else 0.0)
        return {item: round(total, 6) for item, total in totals.items()}


_TEST_FIELDS = {f.name for f in fields(TestResult)}

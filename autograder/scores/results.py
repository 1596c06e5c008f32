"""The one result model every report (Gradescope JSON, CSV, terminal table) renders from."""
from dataclasses import dataclass, field

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
    mistake: dict = None  # the diagnosed mistake, {"id": "gradient.sum-not-mean", "label": "sums instead of averaging"}


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

    @property
    def score(self):
        return round(sum(t.score for t in self.tests), 6) if self.status == GRADED else 0.0

    def item_scores(self):
        """{graded name: points earned}, in the order the items were checked."""
        totals = {}
        for test in self.tests:
            totals[test.item] = totals.get(test.item, 0.0) + (test.score if self.status == GRADED else 0.0)
        return {item: round(total, 6) for item, total in totals.items()}

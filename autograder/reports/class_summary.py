"""What the class report says, as numbers: one AssignmentSummary per assignment of a graded folder.

Computed from the result model alone (SubmissionResult, TestResult), and from nbgrader-sync's
record where one exists. Conventions:

- the totals, quartiles and item statistics are over the *graded* submissions (status
  "graded"); the others are listed as ungradeable, with their status and reason;
- a student counts once per mistake id, however many of the item's checks carry it;
- a check is "unexplained" when it failed (not "not implemented", not "not checked") and
  carries no diagnosed mistake: these are the mistakes the catalogue does not know yet;
- shares are of the graded submissions of the assignment, from 0 to 1.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import median

import numpy as np

from autograder.course import ASSIGNMENTS
from autograder.scores.results import GRADED

FULL = 1e-6  # a score this close to the maximum is full marks
SLOWEST = 5  # how many of the slowest submissions are named
UNEXPLAINED = 10  # how many unexplained checks are listed, most often failed first


@dataclass
class ItemSummary:
    """One graded item: its points, mean score, share of full marks, and {score: students}."""

    name: str
    points: float
    mean: float
    full_share: float
    counts: dict  # {score rounded to 3 decimals: how many graded students got it}, ascending


@dataclass
class MistakeSummary:
    """A diagnosed mistake of the catalogue: who made it."""

    id: str
    label: str
    item: str
    students: list
    share: float

    @property
    def count(self):
        return len(self.students)


@dataclass
class UnexplainedFailure:
    """A check that failed with no diagnosis: who failed it, and one of their messages."""

    check: str
    item: str
    students: list
    share: float
    example: str

    @property
    def count(self):
        return len(self.students)


@dataclass
class AssignmentSummary:
    """Everything the report shows of one assignment; ``seconds`` [(student, seconds)] slowest first."""

    name: str
    max_score: float
    submissions: int
    totals: list  # the graded submissions' total scores
    quartiles: tuple  # (Q1, median, Q3) of totals, or None when nothing was graded
    items: list
    mistakes: list
    unexplained: list
    ungradeable: list  # [SubmissionResult]
    tampering: list = None  # [(student, [items], in-kernel total, sandbox total)]; None: no sync record
    seconds: list = field(default_factory=list)
    unrecorded: int = 0  # submissions whose grading time was not recorded

    @property
    def graded(self):
        return len(self.totals)

    @property
    def median_seconds(self):
        return median(s for _, s in self.seconds) if self.seconds else None

    @property
    def slowest(self):
        return self.seconds[:SLOWEST]


def summarise(results, sync_records=None):
    """[AssignmentSummary] of ``results`` [SubmissionResult], in the course's order of
    assignments (others after, by name); ``sync_records`` {assignment: [SyncRow]}."""
    by_assignment = defaultdict(list)
    for result in results:
        by_assignment[result.assignment].append(result)
    order = [a for a in ASSIGNMENTS if a in by_assignment] + sorted(set(by_assignment) - set(ASSIGNMENTS))
    return [summarise_assignment(a, by_assignment[a], (sync_records or {}).get(a)) for a in order]


def summarise_assignment(name, results, sync_rows=None):
    graded = [r for r in results if r.status == GRADED]
    totals = [r.score for r in graded]
    timed = sorted(((r.student, r.seconds) for r in results if r.seconds is not None), key=lambda p: -p[1])
    return AssignmentSummary(
        name=name, max_score=_max_score(name, results), submissions=len(results), totals=totals,
        quartiles=tuple(float(q) for q in np.percentile(totals, [25, 50, 75])) if totals else None,
        items=_items(name, graded), mistakes=_mistakes(graded), unexplained=_unexplained(graded),
        ungradeable=sorted((r for r in results if r.status != GRADED), key=lambda r: r.student),
        tampering=None if sync_rows is None else _tampering(sync_rows),
        seconds=timed, unrecorded=len(results) - len(timed))


def _max_score(name, results):
    if name in ASSIGNMENTS:
        return float(sum(g.points for g in ASSIGNMENTS[name]))
    return max((r.max_score for r in results), default=0.0)


def _item_points(name, graded):
    """{item: points} in the course's order, or as the checks give them for an unknown assignment."""
    if name in ASSIGNMENTS:
        return {g.name: float(g.points) for g in ASSIGNMENTS[name]}
    points = {}
    for result in graded:
        for test in result.tests:
            points[test.item] = points.get(test.item, 0.0) + test.max_score / len(graded)
    return points


def _items(name, graded):
    summaries = []
    for item, points in _item_points(name, graded).items():
        scores = [r.item_scores().get(item, 0.0) for r in graded]
        counts = Counter(round(s, 3) for s in scores)
        summaries.append(ItemSummary(
            item, points, float(np.mean(scores)) if scores else 0.0,
            sum(s >= points - FULL for s in scores) / len(scores) if scores else 0.0,
            dict(sorted(counts.items()))))
    return summaries


def _mistakes(graded):
    """MistakeSummary of every diagnosed mistake id, most common first."""
    students, labels = defaultdict(set), {}
    for result in graded:
        for test in result.tests:
            if test.mistake and test.status != "passed":
                key = (test.item, test.mistake["id"])
                students[key].add(result.student)
                labels.setdefault(key, test.mistake.get("label", ""))
    rows = [MistakeSummary(mistake_id, labels[(item, mistake_id)], item, sorted(names), len(names) / len(graded))
            for (item, mistake_id), names in students.items()]
    return sorted(rows, key=lambda m: (-m.count, m.item, m.id))


def _unexplained(graded):
    """UnexplainedFailure of the checks failed most often with no diagnosis, at most UNEXPLAINED."""
    students, examples, items = defaultdict(set), {}, {}
    for result in graded:
        for test in result.tests:
            if test.status == "failed" and not test.mistake:
                students[test.name].add(result.student)
                examples.setdefault(test.name, test.output)
                items[test.name] = test.item
    rows = [UnexplainedFailure(check, items[check], sorted(names), len(names) / len(graded), examples[check])
            for check, names in students.items()]
    return sorted(rows, key=lambda u: (-u.count, u.check))[:UNEXPLAINED]


def _tampering(rows):
    """[(student, items, in-kernel total, sandbox total)] of the rows nbgrader-sync flagged."""
    return [(row.student, row.tampered_items, sum(s or 0.0 for s in row.in_kernel.values()), sum(row.sandbox.values()))
            for row in rows if row.tampered_items]

"""What a regrade changed: two gradings of the same submissions, compared in the result model.

``compare(old, new)`` takes two lists of SubmissionResult (keyed by student and assignment)
and gives a GradingDiff: every submission whose total, an item's score, its status, or the
verdict of a check changed, with each changed item (old -> new) and each check whose verdict
flipped (passed <-> not passed; only checks of the same name on both sides are compared, so a
check added or removed is seen in the scores, not named). Submissions in only one of the two
are listed apart. ``python -m autograder diff OLD_OUT NEW_OUT`` prints it (``lines``) and writes
``NEW_OUT/diff.csv`` (``write_csv``); ``nbgrader-sync --dry-run`` prints it too, with the
gradebook's auto scores as the old side.
"""
import csv
from dataclasses import dataclass, field

from autograder.reports.render import number
from autograder.scores.results import GRADED

SAME = 1e-6  # scores closer than this are equal
CSV_COLUMNS = ("student", "assignment", "item", "old_score", "new_score", "change", "note")


@dataclass
class FlippedCheck:
    """A check whose verdict changed: its statuses, and the new output (empty when it now passes)."""

    name: str
    old_status: str
    new_status: str
    message: str


@dataclass
class ItemChange:
    """An item whose score changed, or whose checks flipped; a score is None where the side has no such item."""

    item: str
    old: float
    new: float
    flipped: list = field(default_factory=list)


@dataclass
class SubmissionChange:
    """One submission of both gradings, and what changed in it."""

    old: object  # SubmissionResult
    new: object  # SubmissionResult
    items: list

    @property
    def key(self):
        return self.new.student, self.new.assignment

    @property
    def change(self):
        return round(self.new.score - self.old.score, 6)


@dataclass
class GradingDiff:
    """``changed`` [SubmissionChange] by student and assignment; ``only_old``/``only_new`` [SubmissionResult]."""

    changed: list
    only_old: list
    only_new: list
    compared: int

    @property
    def up(self):
        return [c for c in self.changed if c.change > SAME]

    @property
    def down(self):
        return [c for c in self.changed if c.change < -SAME]

    def summary(self):
        """The summary line: it begins with the number of changed submissions."""
        line = f"{len(self.changed)} changed: {len(self.up)} up, {len(self.down)} down"
        if self.changed:
            largest = max(self.changed, key=lambda c: (abs(c.change), c.key))
            line += (f", largest change {largest.new.student} {largest.new.assignment} "
                     f"{number(largest.old.score)} → {number(largest.new.score)} ({largest.change:+g})")
        line += f"; {self.compared} submission(s) in both"
        if self.only_old or self.only_new:
            line += f", {len(self.only_old)} only in the old grading, {len(self.only_new)} only in the new"
        return line


def compare(old_results, new_results):
    """The GradingDiff from ``old_results`` to ``new_results`` [SubmissionResult]."""
    old = {(r.student, r.assignment): r for r in old_results}
    new = {(r.student, r.assignment): r for r in new_results}
    changed = []
    for key in sorted(old.keys() & new.keys()):
        items = item_changes(old[key], new[key])
        if items or old[key].status != new[key].status or abs(new[key].score - old[key].score) > SAME:
            changed.append(SubmissionChange(old[key], new[key], items))
    return GradingDiff(changed, [old[k] for k in sorted(old.keys() - new.keys())],
                       [new[k] for k in sorted(new.keys() - old.keys())], len(old.keys() & new.keys()))


def item_changes(old, new):
    """[ItemChange] of the items whose score changed or whose checks flipped, in the new order."""
    old_scores, new_scores = old.item_scores(), new.item_scores()
    flips = flipped_checks(old, new)
    changes = []
    for item in [*new_scores, *(i for i in old_scores if i not in new_scores)]:
        before, after = old_scores.get(item), new_scores.get(item)
        moved = before is None or after is None or abs(after - before) > SAME
        if moved or flips.get(item):
            changes.append(ItemChange(item, before, after, flips.get(item, [])))
    return changes


def flipped_checks(old, new):
    """{item: [FlippedCheck]} of the checks of the same name, both graded, whose verdict changed."""
    if old.status != GRADED or new.status != GRADED:
        return {}
    before = {t.name: t for t in old.tests}
    flips = {}
    for test in new.tests:
        was = before.get(test.name)
        if was is not None and (was.status == "passed") != (test.status == "passed"):
            message = "" if test.status == "passed" else test.output
            flips.setdefault(test.item, []).append(FlippedCheck(test.name, was.status, test.status, message))
    return flips


def _score(x):
    return "-" if x is None else number(x)


def _one_line(text, width=160):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def lines(diff, old_label="old", new_label="new"):
    """The diff as text lines: each changed submission, its items and flipped checks, then the summary."""
    out = []
    for c in diff.changed:
        status = f"  [{c.old.status} → {c.new.status}]" if c.old.status != c.new.status else ""
        out.append(f"{c.new.student}  {c.new.assignment}  {number(c.old.score)} → {number(c.new.score)}  "
                   f"({c.change:+g}){status}")
        if c.old.status != c.new.status and c.new.status != GRADED:
            out.append(f"    {_one_line(c.new.output)}")
        for item in c.items:
            out.append(f"    {item.item}: {_score(item.old)} → {_score(item.new)}")
            for flip in item.flipped:
                said = f": {_one_line(flip.message)}" if flip.message else ""
                out.append(f"      {flip.name}: {flip.old_status} → {flip.new_status}{said}")
    for label, results in ((old_label, diff.only_old), (new_label, diff.only_new)):
        for r in results:
            out.append(f"only in {label}: {r.student}  {r.assignment}  {number(r.score)} ({r.status})")
    out.append(diff.summary())
    return out


def write_csv(diff, path):
    """diff.csv: per changed submission a row for its total (item empty) and one per changed item;
    a row per submission found in one grading only."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for c in diff.changed:
            note = f"status {c.old.status} → {c.new.status}" if c.old.status != c.new.status else ""
            writer.writerow([c.new.student, c.new.assignment, "", number(c.old.score), number(c.new.score),
                             f"{c.change:+g}", note])
            for item in c.items:
                change = "" if item.old is None or item.new is None else f"{round(item.new - item.old, 6):+g}"
                flips = "; ".join(f"{f.name}: {f.old_status} → {f.new_status}" + (f": {f.message}" if f.message else "")
                                  for f in item.flipped)
                writer.writerow([c.new.student, c.new.assignment, item.item, _score(item.old), _score(item.new),
                                 change, flips])
        for side, results in (("old", diff.only_old), ("new", diff.only_new)):
            for r in results:
                old, new = (number(r.score), "") if side == "old" else ("", number(r.score))
                writer.writerow([r.student, r.assignment, "", old, new, "", f"only in the {side} grading"])

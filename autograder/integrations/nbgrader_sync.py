"""Re-grade nbgrader's submissions in the sandbox and make the gradebook hold those scores.

nbgrader runs the hidden tests inside the student's kernel, where a student can patch numpy,
IPython or our checks. This command grades every ``submitted/<student>/<assignment>/`` notebook
again with ``grade_notebook`` (the sandbox), then for each graded name sets the auto score of
its test cell (``check-<name>``) in the gradebook. It never touches manual scores or comments.

It also reports, per student, the in-kernel score nbgrader had recorded, the sandbox score,
and why a submission could not be graded (nbgrader crashed on it, or the sandbox did). The
in-kernel scores are kept in ``<course>/autograder_sync/<assignment>.json``, so running the
command again changes nothing and still lists the same possible tampering.
"""
import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.course import ASSIGNMENTS
from autograder.grade import grade_notebook
from autograder.scores.results import GRADED

TOLERANCE = 1e-6


@dataclass
class SyncRow:
    """One student's submission of the assignment, before and after the sync."""

    student: str
    status: str  # the sandbox's: graded, unreadable, crashed, timeout, ...
    reason: str  # a sentence when not graded, else ""
    in_kernel: dict = field(default_factory=dict)  # item -> nbgrader's auto score (None if none)
    sandbox: dict = field(default_factory=dict)  # item -> the sandbox's score

    @property
    def tampered_items(self):
        """Items whose in-kernel score was higher than the sandbox's."""
        return [item for item, score in self.in_kernel.items()
                if score is not None and score > self.sandbox.get(item, 0.0) + TOLERANCE]

    @property
    def nbgrader_failed(self):
        """nbgrader recorded no auto score at all: its autograde crashed on this submission."""
        return all(score is None for score in self.in_kernel.values())


def submissions(course_dir, assignment):
    """(student, notebook path) of every submission of ``assignment``, sorted by student."""
    found = []
    for folder in sorted((Path(course_dir) / "submitted").glob(f"*/{assignment}")):
        notebook = folder / f"{assignment}.ipynb"
        found.append((folder.parent.name, notebook))
    return found


def previous_sync(path):
    """{student: {item: {"in_kernel": x, "sandbox": y}}} from the last run, if any."""
    if not path.exists():
        return {}
    rows = json.loads(path.read_text())
    return {row["student"]: {item: {"in_kernel": row["in_kernel"].get(item), "sandbox": score}
                             for item, score in row["sandbox"].items()} for row in rows}


def in_kernel_score(current, remembered):
    """nbgrader's own score for an item: the gradebook's, unless that is our last sandbox score."""
    if remembered and current is not None and abs(current - remembered["sandbox"]) <= TOLERANCE:
        return remembered["in_kernel"]
    return current


def sync_assignment(course_dir, assignment, db_url=None, isolation=None):
    """Re-grade and write the gradebook; returns the SyncRows (and saves the sync record)."""
    course_dir = Path(course_dir).resolve()
    db_url = db_url or f"sqlite:///{course_dir / 'gradebook.db'}"
    record = course_dir / "autograder_sync" / f"{assignment}.json"
    remembered = previous_sync(record)
    items = [g.name for g in ASSIGNMENTS[assignment]]
    rows = []
    with Gradebook(db_url) as gradebook:
        for student, notebook in submissions(course_dir, assignment):
            result = grade_notebook(notebook, assignment, student, isolation=isolation)
            sandbox = {item: result.item_scores().get(item, 0.0) for item in items}
            row = SyncRow(student, result.status, result.output if result.status != GRADED else "",
                          sandbox=sandbox)
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(assignment, student)
            for item in items:
                grade = gradebook.find_grade("check-" + item.replace(".", "_"), assignment, assignment, student)
                row.in_kernel[item] = in_kernel_score(grade.auto_score, remembered.get(student, {}).get(item))
                grade.auto_score = sandbox[item]
                # An ungradeable submission stays "needs manual grade": a status, not a silent 0.
                grade.needs_manual_grade = result.status != GRADED
            try:
                submitted = gradebook.find_submission_notebook(assignment, assignment, student)
                submitted.flagged = bool(row.tampered_items) or result.status != GRADED
            except MissingEntry:
                pass
            gradebook.db.commit()
            rows.append(row)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    write_report(rows, record.with_suffix(".csv"))
    return rows


def write_report(rows, path):
    """CSV for the instructor: one row per student, with scores, status and reason."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "status", "in_kernel_score", "sandbox_score", "possible_tampering", "reason"])
        for row in rows:
            kernel = sum(s or 0.0 for s in row.in_kernel.values())
            writer.writerow([row.student, row.status, "" if row.nbgrader_failed else f"{kernel:g}",
                             f"{sum(row.sandbox.values()):g}", " ".join(row.tampered_items), row.reason])


def summary(rows):
    """What the command prints: a table, then the tampering list and the ungradeable ones."""
    lines = ["student  status  nbgrader (in kernel) -> sandbox"]
    for row in rows:
        kernel = "failed" if row.nbgrader_failed else f"{sum(s or 0.0 for s in row.in_kernel.values()):g}"
        lines.append(f"{row.student}  {row.status}  {kernel} -> {sum(row.sandbox.values()):g}")
    tampered = [r for r in rows if r.tampered_items]
    lines.append("Possible tampering (in-kernel score higher than the sandbox's): " +
                 (", ".join(f"{r.student} ({', '.join(r.tampered_items)})" for r in tampered) or "none"))
    for row in rows:
        if row.status != GRADED:
            lines.append(f"Not graded: {row.student}: {row.status}: {row.reason}")
        elif row.nbgrader_failed:
            lines.append(f"nbgrader's autograde failed on {row.student}; the sandbox graded it.")
    return "\n".join(lines)

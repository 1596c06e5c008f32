"""Re-grade nbgrader's submissions in the sandbox and make the gradebook hold those scores.

nbgrader runs the hidden tests inside the student's kernel, where a student can patch numpy,
IPython or our checks. This command grades every ``submitted/<student>/<assignment>/`` notebook
again with ``grade_notebook`` (the sandbox), then for each graded name sets the auto score of
its test cell (``check-<name>``) in the gradebook. It never touches manual scores or comments.

It also reports, per student, the in-kernel score nbgrader had recorded, the sandbox score,
and why a submission could not be graded (nbgrader crashed on it, or the sandbox did). The
in-kernel scores are kept in ``<course>/autograder_sync/<assignment>.json``, so running the
command again changes nothing and still lists the same possible tampering.

``--dry-run`` (``dry_run``) grades the same way and prints what the sync would change, as the
grading diff of ``autograder.reports.grading_diff``: the gradebook's current auto scores ->
the sandbox's. It opens an SQLite gradebook read-only, registers no course, and writes no
record.
"""
import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.course import ASSIGNMENTS
from autograder.grade import grade_notebook
from autograder.reports.grading_diff import compare
from autograder.scores.results import GRADED, SubmissionResult, TestResult

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


def record_path(course_dir, assignment):
    """Where the sync of ``assignment`` keeps its record: ``<course>/autograder_sync/<assignment>.json``."""
    return Path(course_dir) / "autograder_sync" / f"{assignment}.json"


def read_record(path):
    """The SyncRows of a saved record (the class report lists their possible tampering)."""
    return [SyncRow(**row) for row in json.loads(Path(path).read_text())]


def grade_cell(item):
    """The nbgrader test cell of a graded item: ``check-<name>``, a method's dot as "_"."""
    return "check-" + item.replace(".", "_")


def default_db_url(course_dir):
    return f"sqlite:///{Path(course_dir) / 'gradebook.db'}"


class GradebookMissing(FileNotFoundError):
    """The dry run found no gradebook to compare with."""


def read_only_url(db_url):
    """``db_url`` opened read-only when it is an SQLite file (GradebookMissing when there is none);
    any other database as given (the dry run never commits to it)."""
    if not db_url.startswith("sqlite:///"):
        return db_url
    path = Path(db_url[len("sqlite:///"):])
    if not path.is_file():
        raise GradebookMissing(f"no gradebook at {path}: run `nbgrader autograde` first, or give --db URL")
    return f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"


def gradebook_result(student, assignment, scores):
    """The gradebook's auto scores {item: score or None} as a SubmissionResult: one entry per
    item that has a score, named "<item>: auto score in the gradebook"."""
    points = {g.name: float(g.points) for g in ASSIGNMENTS[assignment]}
    tests = [TestResult(f"{item}: auto score in the gradebook", item, float(score), points[item], "",
                        "passed" if score >= points[item] - TOLERANCE else "failed")
             for item, score in scores.items() if score is not None]
    return SubmissionResult(student, assignment, "gradebook.db", tests=tests, max_score=sum(points.values()))


def dry_run(course_dir, assignment, db_url=None, isolation=None):
    """The GradingDiff from the gradebook's current auto scores to what the sync would write; writes nothing."""
    from nbgrader.api import Gradebook, MissingEntry

    course_dir = Path(course_dir).resolve()
    url = read_only_url(db_url or default_db_url(course_dir))
    items = [g.name for g in ASSIGNMENTS[assignment]]
    current, regraded = [], []
    with Gradebook(url, course_id="") as gradebook:  # course_id "": register no course
        for student, notebook in submissions(course_dir, assignment):
            scores = {}
            for item in items:
                try:
                    scores[item] = gradebook.find_grade(grade_cell(item), assignment, assignment, student).auto_score
                except MissingEntry:
                    scores[item] = None
            current.append(gradebook_result(student, assignment, scores))
            regraded.append(grade_notebook(notebook, assignment, student, isolation=isolation))
        gradebook.db.rollback()
    return compare(current, regraded)


def sync_assignment(course_dir, assignment, db_url=None, isolation=None):
    """Re-grade and write the gradebook; returns the SyncRows (and saves the sync record)."""
    from nbgrader.api import Gradebook, MissingEntry  # nbgrader's API takes seconds to import

    course_dir = Path(course_dir).resolve()
    db_url = db_url or default_db_url(course_dir)
    record = record_path(course_dir, assignment)
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
                grade = gradebook.find_grade(grade_cell(item), assignment, assignment, student)
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

"""Copied work: how alike the students' own code is, pair by pair, for a person to weigh.

    python -m autograder similarity SUBMITTED --out DIR [--assignment NAME] [--graded OUT]
                                               [--threshold T]

Each assignment is compared on its own, in five steps, one module each:

1. ``written``: what each student wrote: their solution regions and added cells, without
   the release's own code (release/<assignment>/<assignment>.ipynb);
2. ``tokens``: that code as normalised tokens: the student's names, numbers, strings,
   comments and layout do not count;
3. ``winnow``: fingerprints of those tokens by winnowing, per function or cell, so that the
   order of functions and cells does not count either;
4. ``mistakes``: with ``--graded OUT`` (a folder of ``grade --out``), each student's failed
   checks and their diagnoses;
5. ``pairs``: pairs that share a rare fingerprint or mistake, found through an inverted index,
   scored 0..1 with what they share weighted by how few students have it.

``report`` writes DIR/similarity.csv (every pair scored), DIR/similarity.html (the pairs over
the threshold, each with a page of the two students' code side by side) and the one-line
summary. Nothing here reads or changes a score.
"""
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from autograder.course import ROOT, notebook_name
from autograder.integrations.similarity.mistakes import graded_mistakes
from autograder.integrations.similarity.pairs import Student, score_pairs
from autograder.integrations.similarity.winnow import student_fingerprints
from autograder.integrations.similarity.written import Release, written_cells
from autograder.notebook.code_cells import UnreadableNotebook, read_notebook

THRESHOLD = 0.55  # measured on synthetic classes: see the README, "Copied work: the similarity check"
VERDICT = "evidence for a person to weigh, not a verdict; no score changed"


def add_arguments(parser):
    parser.add_argument("paths", nargs="+", help="folders in nbgrader's submitted/<student>/<assignment>/ "
                                                 "layout, or notebooks (the student is the folder that holds one)")
    parser.add_argument("--out", default="similarity", help="folder for similarity.csv and similarity.html")
    parser.add_argument("--assignment", help="compare this assignment only (default: each assignment found, "
                                             "on its own; a notebook named otherwise counts as this one)")
    parser.add_argument("--graded", metavar="OUT", help="a folder written by `grade --out OUT`: shared failed "
                                                        "checks with the same diagnosis count as evidence")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"list pairs scoring at least this in similarity.html (default {THRESHOLD})")
    return parser


@dataclass
class ClassSummary:
    """What the index page says of one assignment."""

    students: int
    pairs: int
    graded: str


def run(submissions, out, assignment=None, graded=None, threshold=THRESHOLD, warn=None):
    """Compare ``submissions`` [(student, assignment or None, notebook path)] (as
    ``find_submissions`` finds them) and write the reports in ``out``; returns the summary line.
    What is skipped, and why, is said on ``warn`` (default: stderr)."""
    from autograder.integrations.similarity import report  # Jinja2: not imported by every command line

    warn = warn or sys.stderr
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, classes = [], {}
    for name, notebooks in sorted(by_assignment(submissions, assignment).items()):
        release_path = ROOT / "release" / name / notebook_name(name)
        if not release_path.is_file():
            print(f"skipped {len(notebooks)} notebook(s) of {name!r}: there is no {release_path}, so its given "
                  "code cannot be told from the students'. Pass --assignment NAME if they are of a course "
                  "assignment.", file=warn)
            continue
        students = class_of(notebooks, Release.of(read_notebook(release_path)), name, graded, warn)
        pairs = score_pairs(students)
        rows += [(name, pair) for pair in pairs]
        with_results = sum(s.graded for s in students)
        classes[name] = ClassSummary(len(students), len(pairs), f"{with_results} of {len(students)}" if graded
                                     else "not used (no --graded)")
    rows.sort(key=lambda row: (-row[1].score, row[0], row[1].a.name, row[1].b.name))
    report.write_csv(rows, out / "similarity.csv")
    flagged = report.write_html(classes, rows, threshold, out)
    students = sum(c.students for c in classes.values())
    return (f"similarity: {students} submission(s) of {len(classes)} assignment(s), {len(rows)} pair(s) share "
            f"something rare, {len(flagged)} over {threshold:g}: {out / 'similarity.html'} ({VERDICT})")


def by_assignment(submissions, only=None):
    """{assignment: {student: notebook}}: a notebook found in nbgrader's layout keeps its
    assignment (and is left out when ``only`` names another); a plain notebook is of ``only``,
    else of its file name. A student id used twice in one assignment gets the file's name."""
    found = defaultdict(dict)
    for student, assignment, notebook in submissions:
        if assignment is not None and only is not None and assignment != only:
            continue
        name = assignment or only or Path(notebook).stem
        key = student if student not in found[name] else f"{student}/{Path(notebook).name}"
        found[name][key] = Path(notebook)
    return found


def class_of(notebooks, release, assignment, graded, warn):
    """Student of each readable notebook ({student: path}), fingerprinted against ``release``."""
    students = []
    for name, path in sorted(notebooks.items()):
        try:
            cells = written_cells(read_notebook(path), release)
        except UnreadableNotebook as err:
            print(f"skipped {path}: {err}", file=warn)
            continue
        mistakes = graded_mistakes(graded, name, assignment) if graded else None
        students.append(Student(name, student_fingerprints(cells, release), mistakes or {}, cells,
                                graded=mistakes is not None))
    return students


def main(args, submissions):
    """The command, from parsed ``args`` and the found ``submissions``; returns its exit status."""
    if not submissions:
        print(f"no notebooks found in {' '.join(args.paths)}", file=sys.stderr)
        return 1
    print(run(submissions, args.out, args.assignment, args.graded, args.threshold))
    return 0

"""Command line of the kit.

    python -m autograder grade NOTEBOOK --results FILE     (or many notebooks, or a folder)
    python -m autograder nbgrader-sync ASSIGNMENT          (sandbox scores into nbgrader's gradebook)
    python -m autograder gradescope ASSIGNMENT             (autograder.zip for Gradescope)
    python -m autograder check NOTEBOOK                    (a student's public checks)
    python -m autograder similarity SUBMITTED --out DIR    (copied work: pairs to look at)
    python -m autograder report OUT                        (the class report of a graded folder)
    python -m autograder diff OLD_OUT NEW_OUT              (what a regrade changed)
    python -m autograder audit ASSIGNMENT --out DIR        (mutants of the reference: do the checks catch them?)
"""
import os

# One BLAS thread per grader process: the checks' matrices are small, and with several workers
# OpenBLAS's own threads would fight them for the cores (set before numpy is imported).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from autograder.integrations.batch import Job, SharedResultFolder, check_result_folders, grade_batch  # noqa: E402
from autograder.integrations.dask_cluster import ClusterError  # noqa: E402
from autograder.course import notebook_name  # noqa: E402
from autograder.reports.feedback import write_feedback  # noqa: E402
from autograder.grade import grade_notebook  # noqa: E402
from autograder.reports.formats import summary_table, write_gradescope_json, write_grades_csv  # noqa: E402
from autograder.sandbox.session import isolation_available, warn_if_not_isolated  # noqa: E402


def find_submissions(paths):
    """(student, assignment or None, notebook) for each notebook named or found.

    A folder is read in nbgrader's layout submitted/<student>/<assignment>/<notebook>.ipynb,
    where a student may hand in other notebooks beside the assignment's: when the folder holds
    <assignment>.ipynb, only that one is graded. A file's student is the name of the folder
    that holds it.
    """
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            for folder in sorted({n.parent for n in path.glob("*/*/*.ipynb") if ".ipynb_checkpoints" not in n.parts}):
                notebooks = sorted(folder.glob("*.ipynb"))
                own = folder / notebook_name(folder.name)
                for notebook in [own] if own in notebooks else notebooks:
                    found.append((folder.parent.name, folder.name, notebook))
        else:
            found.append((path.resolve().parent.name, None, path))
    return found


def grade_command(args):
    if args.scheduler and args.results:
        sys.exit("--scheduler grades a batch: use --out, not --results")
    isolation = None if args.scheduler else isolation_available()  # on a cluster, each worker checks its own
    if not args.scheduler:
        warn_if_not_isolated(isolation, args.require_sandbox)
    submissions = find_submissions(args.paths)
    if not submissions:
        sys.exit(f"no notebooks found in {' '.join(args.paths)}")
    if args.results and len(submissions) > 1:
        sys.exit("--results names one file: give one notebook, or use --out for many")
    if args.results:  # one notebook, one results file
        student, assignment, notebook = submissions[0]
        results = [grade_notebook(notebook, args.assignment or assignment, student, isolation=isolation)]
        write_gradescope_json(results[0], Path(args.results))
        if args.feedback:
            write_feedback(results[0], Path(args.feedback))
    else:
        jobs = [Job(student, args.assignment or assignment, notebook) for student, assignment, notebook in submissions]
        try:
            check_result_folders(jobs, args.out)  # before anything is graded
        except SharedResultFolder as err:
            sys.exit(f"refusing to grade: {err}")
        try:
            results, reused = grade_batch(jobs, args.out, args.workers, isolation, args.regrade,
                                          scheduler=args.scheduler, require_isolation=args.require_sandbox)
        except ClusterError as err:
            sys.exit(f"grading on the cluster stopped: {err}. What was graded is saved: run the same command "
                     "again to grade the rest.")
        write_grades_csv(results, Path(args.out) / "grades.csv")
    if not args.quiet:
        print(summary_table(results))
        if not args.results:
            if reused:
                print(f"{reused} submission(s) unchanged since the last run: their results were kept.")
            out = Path(args.out)  # no "graded//<student>" when OUT ends with a slash
            print(f"Results in {out / '<student>' / '<assignment>'}/ (results.json, feedback.md, feedback.html) "
                  f"and {out / 'grades.csv'}")


def sync_command(args):
    from autograder.integrations.nbgrader_sync import GradebookMissing, dry_run, summary, sync_assignment

    isolation = isolation_available()
    warn_if_not_isolated(isolation, args.require_sandbox)
    if args.dry_run:
        from autograder.reports.grading_diff import lines

        try:
            diff = dry_run(args.course_dir, args.assignment, args.db, isolation)
        except GradebookMissing as err:
            sys.exit(str(err))
        print("\n".join(lines(diff, "the gradebook", "the sandbox")))
        print("Dry run: the gradebook and the sync record were not changed.")
        return
    rows = sync_assignment(args.course_dir, args.assignment, args.db, isolation)
    print(summary(rows))
    print(f"Record in {args.course_dir}/autograder_sync/{args.assignment}.csv")


def report_command(args):
    from autograder.reports.class_report import summary_lines, write_report

    try:
        summaries, unreadable, paths = write_report(Path(args.out), args.course_dir)
    except FileNotFoundError as err:
        sys.exit(str(err))
    print("\n".join(summary_lines(summaries, unreadable, paths)))


def diff_command(args):
    from autograder.reports.graded_folder import read_graded
    from autograder.reports.grading_diff import compare, lines, write_csv

    try:
        old, new = read_graded(args.old_out), read_graded(args.new_out)
    except FileNotFoundError as err:
        sys.exit(str(err))
    diff = compare(old.results, new.results)
    for folder, why in [*old.unreadable, *new.unreadable]:
        print(f"unreadable, left out: {folder}: {why}", file=sys.stderr)
    print("\n".join(lines(diff, str(args.old_out), str(args.new_out))))
    path = Path(args.new_out) / "diff.csv"
    write_csv(diff, path)
    print(f"Wrote {path}")


def gradescope_command(args):
    from autograder.integrations.gradescope import build_zip

    print(f"Wrote {build_zip(args.assignment, Path(args.out), args.hide_hidden_until_due)}")


def audit_command(args):
    from autograder.integrations import audit

    isolation = isolation_available()
    warn_if_not_isolated(isolation, False)
    return audit.main(args, isolation)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade notebooks in the sandbox")
    grade.add_argument("paths", nargs="+", help="notebooks, or folders in nbgrader's submitted/ layout")
    grade.add_argument("--results", help="results.json to write (one notebook only)")
    grade.add_argument("--out", default="graded", help="folder for per-submission results and grades.csv")
    grade.add_argument("--assignment", help="assignment name (default: the notebook's file name)")
    grade.add_argument("--require-sandbox", action="store_true",
                       help="refuse to grade when student code cannot be isolated")
    grade.add_argument("--quiet", action="store_true", help="print no summary table")
    grade.add_argument("--feedback", help="with --results: also write feedback.md and feedback.html here")
    grade.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                       help="worker processes grading in parallel (default: one per CPU this process may use, "
                            "each kept to its CPU)")
    grade.add_argument("--scheduler", metavar="tcp://HOST:8786",
                       help="grade on this Dask cluster instead of local workers (needs the 'cluster' extra)")
    grade.add_argument("--regrade", action="store_true",
                       help="grade every submission again, even those unchanged since the last run")
    sync = commands.add_parser("nbgrader-sync", help="re-grade nbgrader submissions in the sandbox and "
                               "write those scores into the gradebook")
    sync.add_argument("assignment")
    sync.add_argument("--course-dir", default=".", help="the nbgrader course folder (default: here)")
    sync.add_argument("--db", help="gradebook URL (default: sqlite:///COURSE_DIR/gradebook.db)")
    sync.add_argument("--require-sandbox", action="store_true",
                      help="refuse to grade when student code cannot be isolated")
    sync.add_argument("--dry-run", action="store_true",
                      help="print how the gradebook's auto scores would change, and write nothing")
    report = commands.add_parser("report", help="the class report of a graded folder: OUT/report.html and "
                                 "OUT/report.md")
    report.add_argument("out", metavar="OUT", help="a folder written by `grade ... --out OUT`")
    report.add_argument("--course-dir", default=".",
                        help="the nbgrader course folder whose autograder_sync/ records list possible tampering "
                             "(default: here)")
    diff = commands.add_parser("diff", help="what changed between two gradings of the same submissions; "
                               "writes NEW_OUT/diff.csv")
    diff.add_argument("old_out", metavar="OLD_OUT")
    diff.add_argument("new_out", metavar="NEW_OUT")
    gradescope = commands.add_parser("gradescope", help="write autograder.zip for Gradescope")
    gradescope.add_argument("assignment")
    gradescope.add_argument("--out", default="autograder.zip", help="zip file, or folder for autograder.zip")
    gradescope.add_argument("--hide-hidden-until-due", action="store_true",
                            help="students see the hidden tests' names and results only after the due date")
    from autograder.integrations import self_check

    self_check.add_arguments(commands.add_parser("check", help="run the public (visible) checks of a notebook"))
    from autograder.integrations import similarity

    similarity.add_arguments(commands.add_parser("similarity", help="how alike the students' own code is, pair "
                                                 "by pair: evidence for a person to weigh, not a verdict"))
    from autograder.integrations import audit

    audit.add_arguments(commands.add_parser("audit", help="grade mutants of the reference solution: every "
                                            "mistake should cost its own item, and only it"))
    args = parser.parse_args(argv)
    if args.command == "nbgrader-sync":
        sync_command(args)
    elif args.command == "gradescope":
        gradescope_command(args)
    elif args.command == "report":
        report_command(args)
    elif args.command == "diff":
        diff_command(args)
    elif args.command == "check":
        sys.exit(self_check.run(args))
    elif args.command == "audit":
        sys.exit(audit_command(args))
    elif args.command == "similarity":
        sys.exit(similarity.main(args, find_submissions(args.paths)))
    else:
        grade_command(args)


if __name__ == "__main__":
    main()

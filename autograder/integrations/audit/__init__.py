"""The mutation audit: do the hidden checks catch the mistakes a student can make?

    python -m autograder audit ASSIGNMENT [--item NAME] [--workers N] [--out DIR] [--per-item K]

Apart from grading (it grades made-up submissions, and changes no score), in five steps:

1. ``mutants``: the reference solution's solution regions (``solutions``) changed in one place
   each by AST operators: an operator swapped, a sign, sum/mean, an axis, a ``.T``, two
   arguments, a constant, a term dropped, an index off by one, log/log1p, exp(z)/exp(-z);
2. ``submissions``: each mutant as a student's notebook, the source with that cell replaced;
3. ``equivalence``: mutants that answer as the reference on many inputs drawn as the spec
   says are set aside (their code runs in a child process, ``mutant_process``, never here);
4. every mutant graded as a student's submission, in the sandbox, by the batch grader
   (``--workers``; DIR/graded/ keeps the results, so a rerun grades only what changed), and
   ``classify``-ed: killed (diagnosed or not), survived, collateral or equivalent;
5. ``report``: the table per item, DIR/audit.json, and the diff of every survivor and collateral.

The command exits 0 only when no mutant survived and none cost points on another item.
"""
import sys
import time
from pathlib import Path

from autograder.course import ASSIGNMENTS
from autograder.integrations.audit import report
from autograder.integrations.audit.classify import COLLATERAL, SURVIVED, classify
from autograder.integrations.audit.equivalence import equivalence, item_specs
from autograder.integrations.audit.mutants import mutants_of
from autograder.integrations.audit.submissions import write_mutant_notebooks
from autograder.integrations.batch import Job, grade_batch
from autograder.notebook.code_cells import read_notebook
from autograder.notebook.program import source_notebook


def add_arguments(parser):
    parser.add_argument("assignment", help="the assignment whose hidden checks are audited")
    parser.add_argument("--item", action="append", metavar="NAME",
                        help="audit only the mutants of this graded item (may be given more than once)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes grading the mutants (default 1)")
    parser.add_argument("--out", help="folder for audit.json, diffs/, the mutants and their grades "
                                      "(default: build/audit/ASSIGNMENT)")
    parser.add_argument("--per-item", type=int, metavar="K",
                        help="only K mutants of each item, spread evenly over its code (a quick sample)")
    return parser


def sample(mutants, per_item):
    """``per_item`` mutants of each item, spread evenly over its list (all when it has fewer)."""
    by_item = {}
    for mutant in mutants:
        by_item.setdefault(mutant.items[0], []).append(mutant)
    kept = set()
    for found in by_item.values():
        n = len(found)
        picks = range(n) if per_item >= n else {round(k * (n - 1) / max(per_item - 1, 1)) for k in range(per_item)}
        kept |= {found[i].id for i in picks}
    return [m for m in mutants if m.id in kept]


def judged_on_behaviour(assignment):
    """The items judged on what their answer does: they take no input (their answer is one
    constant, such as the XOR weights) and their spec has neither ``value`` nor ``numeric``.
    (An item that takes inputs but has no value check is a hole, not another right answer.)"""
    return {name for name, item in item_specs(assignment).items()
            if not item.args and item.value is None and item.numeric is None}


def run(assignment, out, items=None, workers=1, per_item=None, isolation=None):
    """Audit ``assignment``'s hidden checks; writes ``out``/audit.json and returns its data."""
    started = time.monotonic()
    out = Path(out)
    graded = [g.name for g in ASSIGNMENTS[assignment]]
    unknown = set(items or ()) - set(graded)
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))}: not a graded name of {assignment} ({', '.join(graded)})")
    mutants = mutants_of(assignment, source_notebook(assignment), graded)
    if items:
        mutants = [m for m in mutants if set(m.items) & set(items)]
    if per_item:
        mutants = sample(mutants, per_item)
    paths = write_mutant_notebooks(mutants, out / "mutants")
    equivalent = equivalence(assignment, mutants, {i: read_notebook(p) for i, p in paths.items()})
    jobs = [Job(m.id, assignment, paths[m.id]) for m in mutants]
    results, _ = grade_batch(jobs, out / "graded", workers, isolation)
    behaviour = judged_on_behaviour(assignment)
    verdicts = {m.id: classify(m, r, equivalent[m.id], behaviour) for m, r in zip(mutants, results)}
    return report.write(out, assignment, mutants, verdicts, time.monotonic() - started)


def main(args, isolation=None):
    """The command, from parsed ``args``; returns its exit status."""
    if args.assignment not in ASSIGNMENTS:
        print(f"{args.assignment!r} is not an assignment of the course ({', '.join(ASSIGNMENTS)})", file=sys.stderr)
        return 2
    out = Path(args.out or Path("build") / "audit" / args.assignment)
    try:
        data = run(args.assignment, out, args.item, args.workers, args.per_item, isolation)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    print(report.table(data, out))
    print(f"Written: {out / 'audit.json'}")
    total = data["total"]
    return 0 if total[SURVIVED] == 0 and total[COLLATERAL] == 0 else 1

"""Cost of the class report (python -m autograder report OUT) on a class of 1,000 submissions.

    .venv/bin/python benchmarks/report_speed.py [--n 1000] [--repeat 3] [--keep DIR]

The class is made from saved results, not graded: a few real gradings (per assignment the
reference notebook, two single-bug mutants of the grading corpus and the untouched release,
graded once by ``python -m autograder grade --out``) are replicated, with varied scores, into
N synthetic submissions spread over the three assignments, written as a batch writes them
(``batch.save``: result.json, results.json, feedback). In each copy every failed check of the
seed keeps its outcome, and each passed value check fails with probability 0.15, carrying one
of four made-up mistakes of its item 70 % of the time (else none: an unexplained failure); a
grading time is drawn from a log-normal around the seed's; 1 % are made unreadable. Building
the class is not timed. Then the command is run as a user runs it, start-up included, and its
wall time printed (the best and the median of --repeat runs) beside the target: under 10 s for
1,000 submissions. The exit status is 0 whatever the figures: this is a report.
"""
import argparse
import copy
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from autograder.course import ASSIGNMENTS  # noqa: E402
from autograder.integrations.batch import load_saved, save  # noqa: E402
from submissions import release_submission, submission  # noqa: E402

TARGET = 10.0
MUTANTS = {"logistic_regression": ("gradient-sum-not-mean", "loss-arguments-swapped"),
           "hidden_layer": ("times-N", "negated"),
           "digits_mlp": ("cross-entropy-sum-not-mean", "linear-gW-transposed")}


def seed_gradings(folder):
    """Real gradings of a few notebooks per assignment: [SubmissionResult]."""
    import importlib

    submitted, out = folder / "submitted", folder / "graded"
    for assignment, mutants in MUTANTS.items():
        submission(submitted, assignment, student="reference")
        release_submission(submitted, assignment, student="release")
        corpus = importlib.import_module(f"test_corpus_{assignment}")
        for name in mutants:
            submission(submitted, assignment, replace=corpus.MUTANTS[name][2], student=name)
    subprocess.run([sys.executable, "-m", "autograder", "grade", submitted, "--out", out, "--quiet"], cwd=ROOT,
                   check=True)
    return [load_saved(p.parent) for p in sorted(out.glob("*/*/result.json"))]


def varied(seed, student, rng):
    """A copy of ``seed`` for ``student`` with scores, mistakes and grading time varied as the docstring says."""
    result = copy.deepcopy(seed)
    result.student = student
    result.seconds = round((seed.seconds or 0.2) * rng.lognormvariate(0, 0.3), 3)
    if rng.random() < 0.01:
        result.status, result.output, result.tests = "unreadable", "The notebook is not valid JSON.", []
        return result
    for test in result.tests:
        if test.status == "passed" and "matches" in test.name and rng.random() < 0.15:
            test.status, test.score = "failed", 0.0
            test.output = f"Synthetic failure of {test.name}."
            kind = rng.randrange(4)
            test.mistake = {"id": f"{test.item}.made-up-{kind}", "label": f"made-up mistake {kind}"} \
                if rng.random() < 0.7 else None
    return result


def build(out, n, seeds, rng):
    by_assignment = {a: [s for s in seeds if s.assignment == a] for a in ASSIGNMENTS}
    for i in range(n):
        assignment = list(ASSIGNMENTS)[i % len(ASSIGNMENTS)]
        result = varied(rng.choice(by_assignment[assignment]), f"student{i:04d}", rng)
        save(Path(out) / result.student / assignment, "synthetic", result)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="build the class in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-speed-") as tmp:
        folder = Path(args.keep or tmp)
        seeds = seed_gradings(folder / "seeds")
        out = folder / "class"
        started = time.perf_counter()
        build(out, args.n, seeds, random.Random(0))
        print(f"built {args.n} synthetic submissions from {len(seeds)} real gradings in "
              f"{time.perf_counter() - started:.1f} s (not part of the figure)")
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "autograder", "report", out], cwd=folder, check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        size = (out / "report.html").stat().st_size
        print(f"report of {args.n} submissions: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
              f"over {args.repeat} run(s) (target under {TARGET:g} s); report.html {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()

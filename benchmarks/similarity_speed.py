"""Cost and quality of the similarity check (python -m autograder similarity).

    .venv/bin/python benchmarks/similarity_speed.py [--sizes 50 200 500] [--assignment digits_mlp]
    .venv/bin/python benchmarks/similarity_speed.py --quality [--seeds 8]
    .venv/bin/python benchmarks/similarity_speed.py --copydetect DIR [--seeds 8]

Speed (the default). For each size N, a synthetic class of N students of one assignment
(default digits_mlp, the largest notebook) is written in nbgrader's submitted/ layout, with
made-up grading results, by ``synthetic_class`` of tests/test_similarity.py: N - 6 independent
students, four planted copies of three of them and two textbook-only students. The command
is run on it as a user runs it,

    python -m autograder similarity <tmp>/submitted --out <tmp>/out --graded <tmp>/graded

and its wall time, start-up included, is printed with the number of pairs scored out of all
N(N-1)/2, and the target: 500 students in under 60 s. Building the class is not timed.

--quality: for --seeds synthetic classes of each assignment (32 independent students, planted
copies, two textbook-only students), whether every planted pair ranks above every independent
pair, the lowest planted and highest independent score, the textbook pair's score, and
precision and recall at the default threshold, with grading results and without.

--copydetect DIR: the same classes scored by copydetect (https://github.com/blingenf/copydetect),
imported from DIR (e.g. a wheel unpacked there: ``pip download copydetect --no-deps`` then
unzip; it needs numpy, jinja2, pygments, matplotlib, and tqdm, which a stub stands in for when
it is missing), beside ours: on whole notebooks with the release as its boilerplate (how it
is meant to be used) and on our extraction of each student's own code, at its default noise
threshold (k = 25 characters, window 1) and at k = 15, ranking pairs by the larger of its two
similarities or by their mean. The exit status is 0 whatever the figures: this is a report.
"""
import argparse
import importlib.util
import io
import itertools
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from autograder.course import ASSIGNMENTS  # noqa: E402
from autograder.integrations.similarity import THRESHOLD, written  # noqa: E402
from autograder.integrations.similarity.mistakes import mistakes  # noqa: E402
from autograder.integrations.similarity.pairs import Student, score_pairs  # noqa: E402
from autograder.integrations.similarity.winnow import student_fingerprints  # noqa: E402
from autograder.notebook.code_cells import checked_cell, code_cells, read_notebook  # noqa: E402
from test_similarity import synthetic_class  # noqa: E402

TARGET_SECONDS = 60


def speed(assignment, sizes):
    print(f"similarity check, {assignment}, one class per size (wall time of the command, start-up included)")
    print(f"{'students':>8}  {'seconds':>8}  {'pairs scored':>12}  {'of all pairs':>12}")
    results = {}
    for n in sizes:
        made = synthetic_class(assignment, independent=n - 6, originals=3, seed=n, distinct=False)
        with tempfile.TemporaryDirectory() as tmp:
            submitted = made.write(Path(tmp) / "submitted", graded=Path(tmp) / "graded")
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "autograder", "similarity", str(submitted), "--out",
                            f"{tmp}/out", "--graded", f"{tmp}/graded"], cwd=ROOT, check=True, capture_output=True)
            seconds = time.monotonic() - started
            with open(f"{tmp}/out/similarity.csv") as f:
                scored = sum(1 for _ in f) - 1
        results[n] = seconds
        count = len(made.notebooks)
        print(f"{count:>8}  {seconds:>8.1f}  {scored:>12}  {count * (count - 1) // 2:>12}")
    largest = max(sizes)
    verdict = "PASS" if results[largest] < TARGET_SECONDS else "FAIL"
    print(f"{verdict}: {largest} students in {results[largest]:.1f} s (target: under {TARGET_SECONDS} s)")


# --- quality on synthetic classes -------------------------------------------------------------

def own_scores(made, release, graded):
    """{frozenset pair: score} of the kit's check on a synthetic class."""
    students = []
    for name, nb in made.notebooks.items():
        cells = written.written_cells({"cells": [checked_cell(c) for c in nb["cells"]]}, release)
        failed = {"tests": [{"name": n, "output": o, "status": "failed"} for n, o in made.mistakes[name]]}
        students.append(Student(name, student_fingerprints(cells, release), mistakes(failed) if graded else {},
                                cells))
    return {frozenset((p.a.name, p.b.name)): p.score for p in score_pairs(students)}


def figures(made, scores, threshold):
    """(lowest planted, highest independent, textbook pair, every planted above, TP, FP, FN)."""
    everyone = list(made.notebooks)
    independent = [frozenset(p) for p in itertools.combinations(everyone, 2) if frozenset(p) not in made.planted]
    planted = [scores.get(p, 0.0) for p in made.planted]
    others = [scores.get(p, 0.0) for p in independent]
    flagged = {p for p, s in scores.items() if s >= threshold}
    return (min(planted), max(others), scores.get(frozenset(made.textbook_pair), 0.0), min(planted) > max(others),
            len(flagged & made.planted), len(flagged - made.planted), len(made.planted - flagged))


def releases():
    return {a: written.Release.of(read_notebook(ROOT / "release" / a / f"{a}.ipynb")) for a in ASSIGNMENTS}


def quality(seeds, threshold=THRESHOLD):
    release = releases()
    print(f"quality on synthetic classes, seeds 0..{seeds - 1}, threshold {threshold}")
    print(f"{'assignment':20s} {'results':>8s} {'planted min':>11s} {'indep max':>9s} {'textbook':>8s} "
          f"{'ranked':>7s} {'precision':>9s} {'recall':>6s}")
    for graded in (True, False):
        total = [0, 0, 0]
        for assignment in ASSIGNMENTS:
            rows = [figures(made, own_scores(made, release[assignment], graded), threshold)
                    for made in (synthetic_class(assignment, seed=s) for s in range(seeds))]
            tp, fp, fn = (sum(r[i] for r in rows) for i in (4, 5, 6))
            total = [total[0] + tp, total[1] + fp, total[2] + fn]
            print(f"{assignment:20s} {'used' if graded else 'none':>8s} {min(r[0] for r in rows):11.3f} "
                  f"{max(r[1] for r in rows):9.3f} {max(r[2] for r in rows):8.3f} "
                  f"{sum(r[3] for r in rows):>4d}/{len(rows):<2d} {tp / max(1, tp + fp):9.3f} "
                  f"{tp / max(1, tp + fn):6.3f}")
        tp, fp, fn = total
        print(f"{'all':20s} {'used' if graded else 'none':>8s} {'':11s} {'':9s} {'':8s} {'':7s} "
              f"{tp / max(1, tp + fp):9.3f} {tp / max(1, tp + fn):6.3f}   ({tp} of {tp + fn} planted pairs flagged, "
              f"{fp} independent)")


# --- copydetect beside ours -------------------------------------------------------------------

def import_copydetect(folder):
    sys.path.insert(0, str(folder))
    if importlib.util.find_spec("tqdm") is None:  # copydetect only draws progress bars with it
        sys.modules["tqdm"] = types.SimpleNamespace(tqdm=lambda iterable=None, *a, **k: iterable)
    from copydetect.detector import CodeFingerprint, compare_files
    return CodeFingerprint, compare_files


def own_code(notebook, release):
    """A student's own lines (our extraction), cell after cell, as one text."""
    return "\n\n".join("\n".join(c.source.splitlines()[i - 1] for i in sorted(c.own_lines))
                       for c in written.written_cells(notebook, release))


def copydetect_scores(texts, boilerplate, k, fingerprint, compare):
    """({frozenset pair: the larger of copydetect's two similarities}, {...: their mean}), its
    boilerplate removed."""
    boiler = fingerprint("boilerplate.py", k, 1, fp=io.StringIO(boilerplate)).hashes
    prints = {n: fingerprint(f"{n}.py", k, 1, boilerplate=list(boiler), fp=io.StringIO(t)) for n, t in texts.items()}
    larger, mean = {}, {}
    for a, b in itertools.combinations(sorted(prints), 2):
        _, (s1, s2), _ = compare(prints[a], prints[b])
        larger[frozenset((a, b))], mean[frozenset((a, b))] = max(s1, s2), (s1 + s2) / 2
    return larger, mean


def compare_copydetect(folder, seeds):
    fingerprint, compare = import_copydetect(folder)
    release = releases()
    rows = {}
    for assignment in ASSIGNMENTS:
        release_nb = read_notebook(ROOT / "release" / assignment / f"{assignment}.ipynb")
        boilerplate = "\n\n".join(c.source for c in code_cells(release_nb))
        for seed in range(seeds):
            made = synthetic_class(assignment, seed=seed)
            notebooks = {n: {"cells": [checked_cell(c) for c in nb["cells"]]} for n, nb in made.notebooks.items()}
            whole = {n: "\n\n".join(c.source for c in code_cells(nb) if not c.is_test) for n, nb in notebooks.items()}
            own = {n: own_code(nb, release[assignment]) for n, nb in notebooks.items()}
            started = time.monotonic()
            scores = own_scores(made, release[assignment], graded=False)
            rows.setdefault(("ours (no grading results)", "own code"), []).append(
                (figures(made, scores, THRESHOLD), time.monotonic() - started, made, scores))
            for k in (25, 15):
                for label, texts in (("whole notebook", whole), ("own code", own)):
                    started = time.monotonic()
                    larger, mean = copydetect_scores(texts, boilerplate, k, fingerprint, compare)
                    seconds = time.monotonic() - started
                    for how, scores in (("larger", larger), ("mean", mean)):
                        rows.setdefault((f"copydetect k={k}, {how}", label), []).append(
                            (figures(made, scores, THRESHOLD), seconds, made, scores))
    print(f"copydetect beside ours: {len(ASSIGNMENTS)} assignments x {seeds} synthetic classes")
    print(f"{'method':28s} {'input':15s} {'ranked':>7s} {'planted min':>11s} {'indep max':>9s} "
          f"{'indep max*':>10s} {'textbook':>8s} {'AUC':>7s} {'s/class':>7s}")
    for (method, given), found in rows.items():
        ranked = sum(f[0][3] for f in found)
        # * without the textbook pair: the ranking among pairs that differ somewhere
        others = max(max(s for p, s in scores.items() if p not in made.planted and p != frozenset(made.textbook_pair))
                     for _, _, made, scores in found)
        auc = sum(_auc(made, scores) for _, _, made, scores in found) / len(found)
        print(f"{method:28s} {given:15s} {ranked:>4d}/{len(found):<2d} {min(f[0][0] for f in found):11.3f} "
              f"{max(f[0][1] for f in found):9.3f} {others:10.3f} {max(f[0][2] for f in found):8.3f} {auc:7.4f} "
              f"{sum(f[1] for f in found) / len(found):7.2f}")


def _auc(made, scores):
    """The chance that a planted pair scores above an independent one (ties count half)."""
    everyone = list(made.notebooks)
    others = [scores.get(frozenset(p), 0.0) for p in itertools.combinations(everyone, 2)
              if frozenset(p) not in made.planted]
    planted = [scores.get(p, 0.0) for p in made.planted]
    return sum((p > o) + 0.5 * (p == o) for p in planted for o in others) / (len(planted) * len(others))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--assignment", default="digits_mlp", choices=list(ASSIGNMENTS))
    parser.add_argument("--quality", action="store_true", help="precision and recall on synthetic classes")
    parser.add_argument("--copydetect", metavar="DIR", help="compare with copydetect, imported from DIR")
    parser.add_argument("--seeds", type=int, default=8, help="synthetic classes per assignment (quality, copydetect)")
    args = parser.parse_args()
    if args.quality:
        quality(args.seeds)
    elif args.copydetect:
        compare_copydetect(args.copydetect, args.seeds)
    else:
        speed(args.assignment, args.sizes)


if __name__ == "__main__":
    main()

"""Grading cost of the kit against `nbgrader autograde`, on the same submissions, in one run.

    .venv/bin/python benchmarks/grading_speed.py --n 10 [--workers 2] [--assignments ...]

For each assignment it makes N submissions (the reference solutions, as N students), grades
them with `nbgrader autograde` in a temporary course and with `python -m autograder grade`,
and prints submissions per second, mean seconds per submission, peak memory of one process,
and the ratios. Speed claims live here, never in the tests.
"""
import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def make_course(folder, assignment, n):
    """A course folder with the kit's config and N submitted copies of the reference notebook."""
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(ROOT / "autograder", folder / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "source", folder / "source")
    notebook = ROOT / "source" / assignment / f"{assignment}.ipynb"
    for i in range(n):
        target = folder / "submitted" / f"s{i:04d}" / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(notebook, target)


def timed(command, cwd):
    """(wall seconds, peak resident MB of the largest child process so far)."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def bench(assignment, n, workers):
    with tempfile.TemporaryDirectory(prefix="nnkit-bench-") as tmp:
        course = Path(tmp)
        make_course(course, assignment, n)
        env_path = {"PATH": f"{BIN}:/usr/bin:/bin"}
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"], cwd=course,
                       check=True, capture_output=True, env=env_path)
        nbgrader_wall, nbgrader_mem = timed([str(BIN / "nbgrader"), "autograde", assignment, "--create"], course)
        ours_wall, ours_mem = timed([sys.executable, "-m", "autograder", "grade", str(course / "submitted"),
                                     "--out", str(course / "graded"), "--workers", str(workers), "--quiet",
                                     "--regrade"], ROOT)
        scores = [json.loads(p.read_text())["score"] for p in (course / "graded").rglob("results.json")]
        assert len(scores) == n and len(set(scores)) == 1, scores
    return {"assignment": assignment, "n": n, "nbgrader_s": nbgrader_wall, "ours_s": ours_wall,
            "nbgrader_mem": nbgrader_mem, "ours_mem": ours_mem}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignments", nargs="+", default=["logistic_regression", "hidden_layer", "digits_mlp"])
    args = parser.parse_args()
    print(f"{'assignment':20} {'N':>4} {'nbgrader sub/s':>15} {'ours sub/s':>11} {'nbgrader s/sub':>15} "
          f"{'ours s/sub':>11} {'speed-up':>9}")
    for assignment in args.assignments:
        r = bench(assignment, args.n, args.workers)
        print(f"{assignment:20} {r['n']:>4} {r['n'] / r['nbgrader_s']:>15.2f} {r['n'] / r['ours_s']:>11.2f} "
              f"{r['nbgrader_s'] / r['n']:>15.2f} {r['ours_s'] / r['n']:>11.2f} {r['nbgrader_s'] / r['ours_s']:>8.1f}x",
              flush=True)
    print("peak resident memory of one child process (MB), all runs: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()

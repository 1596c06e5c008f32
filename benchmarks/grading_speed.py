"""Grading cost of the kit against `nbgrader autograde`, on the same submissions, in one run.

    .venv/bin/python benchmarks/grading_speed.py [--n 10] [--workers 2] [--assignments A ...]
                                                 [--skip-nbgrader] [--repeat 3]
    .venv/bin/python benchmarks/grading_speed.py --scaling 10 100 1000 [--nbgrader-scaling 10 20]
                                                 [--scaling-assignment A] [--assignments]

What is run. For each assignment A, a temporary nbgrader course gets N copies of the reference
notebook source/A/A.ipynb, as N students (submitted/s0000/A/A.ipynb, ...). nbgrader grades them
with `nbgrader generate_assignment A` then `nbgrader autograde A --create`, in that course. The
kit grades the same submitted/ folder, from the repository root, with

    python -m autograder grade <course>/submitted --out DIR --workers W --quiet --regrade

with --workers 1 and with --workers W (default 2), alternately, --repeat times each (default
3): one run on a shared 2-core machine varies by 10 % or more. For each worker count the run
with the median throughput after start-up is the one reported, and every run's throughput is
printed ("sub/s, every run").

What is printed, for each assignment, side by side:
- wall seconds of each command, start-up included, and submissions per second = N / wall;
- median seconds per submission. Each run writes one file per submission, one after another:
  nbgrader autograded/<student>/A/A.ipynb, the kit (with --workers 1) DIR/<student>/A/result.json.
  Sorted by modification time, the gap between two consecutive files is the time one submission
  took. The first file is dropped (its time holds the start-up); the median of the gaps is
  reported, so N must be at least 2;
- speed-up: nbgrader's wall / the kit's wall with W workers (and with 1 worker), same N;
- W workers / 1 worker: the kit's throughput with W workers over its throughput with 1, after
  start-up: each run's result.json files are sorted by modification time, the first W (one per
  worker, which carry the start-up: imports, a warm sandbox per worker) are left out, and the
  rate is the rest over the time from the W-th to the last. The wall-time ratio, start-up
  included, is printed beside it;
- peak memory per worker, in MB. While a command runs, a thread walks /proc every 0.5 s and
  finds the command's descendants from the ppid field of /proc/<pid>/stat. The grader's direct
  children that are forks of it (same command line) are its workers; with --workers 1 it grades
  in its main process, which is then the one worker. A worker's memory is the sum, over it and
  its whole subtree (bwrap, bwrap, the sandboxed warm runner, the submission processes that
  runner forks), of Pss from /proc/<pid>/smaps_rollup, or VmRSS from /proc/<pid>/status where
  that cannot be read. Reported: the largest worker's total, maximum over time (and over every
  run of the kit, for the PASS/FAIL line). The same sampler
  gives the peak of the whole process tree, for the kit and for nbgrader (with its kernels).
  The sampling takes CPU from the command it measures (a few ms a sample); its own CPU time is
  printed as a share of the wall time ("sampler CPU, % of wall", of one core).

Every run of the kit is checked: N results.json files, all with the same score.

--scaling N1 N2 ... makes max(N) submissions of --scaling-assignment (default
logistic_regression) once, grades the first N students with the kit (W workers) for each N, and
prints N, wall seconds, submissions per second, seconds per submission (wall / N) and peak MB
per worker: how the cost grows with N. --nbgrader-scaling N1 ... times nbgrader at those N too
(each in a course of its own; about 7 s a submission), in the same table. `--assignments` with
no names skips the per-assignment comparison, to run only the scaling study.

At the end, one PASS/FAIL line per target: speed-up >= 20x for logistic_regression and
hidden_layer, >= 10x for digits_mlp (the kit with W workers), W workers / 1 worker >= 1.7,
peak memory per worker < 300 MB. The exit status is 0 whatever the figures: this is a report.
Speed claims live here, never in the tests.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from autograder.course import ASSIGNMENTS as COURSE  # noqa: E402

ASSIGNMENTS = list(COURSE)  # the folders of source/

SPEED_UP_TARGETS = {"logistic_regression": 20.0, "hidden_layer": 20.0, "digits_mlp": 10.0}
WORKER_SCALING_TARGET = 1.7
MEMORY_TARGET_MB = 300.0
SAMPLE_SECONDS = 0.5


# The temporary course ------------------------------------------------------------------------

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


def generate_assignment(course, assignment):
    """`nbgrader generate_assignment`, which autograde needs first (not timed)."""
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"], cwd=course,
                   check=True, capture_output=True, env={"PATH": f"{BIN}:/usr/bin:/bin"})


def first_students(course, n):
    """A folder in the submitted/ layout holding symbolic links to the first n students."""
    folder = course / f"submitted-first-{n}"
    folder.mkdir()
    for student in sorted((course / "submitted").iterdir())[:n]:
        (folder / student.name).symlink_to(student, target_is_directory=True)
    return folder


# Memory of a process tree, from /proc ---------------------------------------------------------

def parent_ids():
    """{pid: ppid} of every process now running."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # it has just exited
            continue
        fields_after_name = stat[stat.rindex(")") + 2:].split()  # the name may hold spaces and ")"
        parents[int(entry)] = int(fields_after_name[1])  # state, ppid, ...
    return parents


def children_by_parent(parents):
    """{ppid: [pid, ...]} from {pid: ppid}."""
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    return children


def subtree(pid, children):
    """pid and all its descendants."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        waiting.extend(children.get(current, []))
    return found


def memory_kb(pid):
    """Proportional set size of a process in kB; its resident size if that cannot be read; 0 if gone."""
    for path, label in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(label):
                    return int(line.split()[1])
        except OSError:
            pass
    return 0


def command_line(pid):
    """The raw command line of a process, b"" if it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class MemorySampler:
    """Samples, every SAMPLE_SECONDS in a thread, the memory of a command's process tree.

    ``peak_worker_mb``: largest total of one worker and its subtree, maximum over time (None if
    no worker was ever seen). Workers are the root's direct children that are forks of it (same
    command line), or the root itself when ``root_is_worker``. ``peak_tree_mb``: the whole tree.
    ``cpu_seconds``: the CPU time the sampling itself took, which the measured command lost.
    """

    def __init__(self, root_pid, root_is_worker):
        self.root_pid, self.root_is_worker = root_pid, root_is_worker
        self.peak_worker_mb, self.peak_tree_mb, self.cpu_seconds = None, 0.0, 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join()

    def run(self):
        started = time.thread_time()
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(SAMPLE_SECONDS)
        self.cpu_seconds = time.thread_time() - started

    def workers(self, children):
        if self.root_is_worker:
            return [self.root_pid]
        # read at every sample: just after exec, and once a process is exiting, it reads as b""
        root_command = command_line(self.root_pid)
        if not root_command:
            return []
        return [pid for pid in children.get(self.root_pid, []) if command_line(pid) == root_command]

    def sample(self):
        children = children_by_parent(parent_ids())
        memory = {pid: memory_kb(pid) for pid in subtree(self.root_pid, children)}
        self.peak_tree_mb = max(self.peak_tree_mb, sum(memory.values()) / 1024)
        for worker in self.workers(children):
            worker_mb = sum(memory.get(pid, 0) for pid in subtree(worker, children)) / 1024
            self.peak_worker_mb = max(self.peak_worker_mb or 0.0, worker_mb)


# Timed runs ------------------------------------------------------------------------------------

@dataclass
class Run:
    """One timed command: wall seconds, peak memory (MB), CPU seconds its memory sampler took."""

    wall: float
    peak_worker_mb: float | None
    peak_tree_mb: float
    sampler_cpu: float


def run_sampled(command, cwd, root_is_worker):
    """Run a command to its end while sampling its memory; SystemExit if it fails."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(process.pid, root_is_worker)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.monotonic() - started
    sampler.stop()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return Run(wall, sampler.peak_worker_mb, sampler.peak_tree_mb, sampler.cpu_seconds)


def nbgrader_autograde(course, assignment):
    """`nbgrader autograde` of every student in the course; the whole tree counts as one process."""
    return run_sampled([str(BIN / "nbgrader"), "autograde", assignment, "--create"], course, root_is_worker=True)


def grade_with_kit(submitted, out, workers):
    """`python -m autograder grade` of a submitted/ folder, from the repository root."""
    command = [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out),
               "--workers", str(workers), "--quiet", "--regrade"]
    return run_sampled(command, ROOT, root_is_worker=workers <= 1)


def common_score(out, n):
    """The score every one of the N results.json files under ``out`` holds; SystemExit if not so."""
    scores = [json.loads(path.read_text())["score"] for path in Path(out).rglob("results.json")]
    if len(scores) != n or len(set(scores)) != 1:
        raise SystemExit(f"expected {n} results.json with one score under {out}, found scores {scores}")
    return scores[0]


def median_gap_seconds(files):
    """Median gap between consecutive modification times of files written one after another.

    The first file is only the end of the start-up, so it starts the first gap; None for fewer
    than two files.
    """
    times = sorted(path.stat().st_mtime for path in files)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    return statistics.median(gaps) if gaps else None


def steady_rate(files, workers):
    """Submissions per second once every worker is warm: from the moment the last worker
    finished its first submission to the last file, ``workers`` files (the start-up) left out.
    None when there are too few files."""
    times = sorted(path.stat().st_mtime for path in files)
    if len(times) <= workers or times[-1] <= times[workers - 1]:
        return None
    return (len(times) - workers) / (times[-1] - times[workers - 1])


# The comparison, per assignment --------------------------------------------------------------

@dataclass
class KitRun:
    """One run of the kit: its Run, its throughput after start-up and its median gap (s/sub)."""

    run: Run
    steady: float | None
    median: float | None


def kit_runs(course, assignment, n, counts, repeat):
    """{workers: [KitRun]}: the kit graded the same submissions ``repeat`` times with each count
    of workers in ``counts``, the counts alternating (1, W, 1, W, ...) so that a slow spell of
    the machine falls on both. SystemExit if any run gives another score."""
    runs, scores = {w: [] for w in counts}, set()
    for attempt in range(repeat):
        for workers in counts:
            out = course / f"graded-{workers}-{attempt}"
            run = grade_with_kit(course / "submitted", out, workers)
            scores.add(common_score(out, n))
            if len(scores) > 1:
                raise SystemExit(f"{assignment}: the kit's runs gave different scores {sorted(scores)}")
            files = list(out.glob(f"*/{assignment}/result.json"))
            runs[workers].append(KitRun(run, steady_rate(files, workers), median_gap_seconds(files)))
            shutil.rmtree(out)
    return runs, scores.pop()


def middle(runs):
    """The run with the median throughput after start-up (the upper one of an even count)."""
    return sorted(runs, key=lambda r: r.steady or 0.0)[len(runs) // 2]


@dataclass
class Comparison:
    """nbgrader and the kit on the same N submissions of one assignment."""

    assignment: str
    n: int
    workers: int
    score: float
    nbgrader: Run | None
    nbgrader_median: float | None
    one_worker_runs: list
    many_workers_runs: list

    @property
    def one_worker(self):
        return middle(self.one_worker_runs).run

    @property
    def many_workers(self):
        return middle(self.many_workers_runs).run

    def speed_up(self, ours):
        return None if self.nbgrader is None else self.nbgrader.wall / ours.wall

    def worker_scaling(self):
        """Median throughput of W workers over median throughput of 1, after start-up (wall
        times, start-up included, if not measured)."""
        one, many = middle(self.one_worker_runs), middle(self.many_workers_runs)
        if one.steady and many.steady:
            return many.steady / one.steady
        return one.run.wall / many.run.wall

    def peak_worker_mb(self):
        """The largest worker of every run of the kit; None if no sample saw a worker."""
        peaks = [r.run.peak_worker_mb for r in self.one_worker_runs + self.many_workers_runs
                 if r.run.peak_worker_mb is not None]
        return max(peaks, default=None)


def compare(assignment, n, workers, skip_nbgrader, repeat):
    """Grade N copies of the assignment's reference with nbgrader (once) and with the kit (1 and
    W workers, ``repeat`` times each)."""
    with tempfile.TemporaryDirectory(prefix="nnkit-bench-") as tmp:
        course = Path(tmp)
        make_course(course, assignment, n)
        nbgrader, nbgrader_median = None, None
        if not skip_nbgrader:
            generate_assignment(course, assignment)
            nbgrader = nbgrader_autograde(course, assignment)
            autograded = list((course / "autograded").glob(f"*/{assignment}/{assignment}.ipynb"))
            if len(autograded) != n:
                raise SystemExit(f"nbgrader autograded {len(autograded)} of {n} submissions")
            nbgrader_median = median_gap_seconds(autograded)
        runs, score = kit_runs(course, assignment, n, [1, workers] if workers > 1 else [1], repeat)
    return Comparison(assignment, n, workers, score, nbgrader, nbgrader_median, runs[1], runs[workers])


def figure(value, digits=2):
    """A number for a table, or '-' when it was not measured."""
    return "-" if value is None else f"{value:.{digits}f}"


def print_comparison(c):
    one, many = middle(c.one_worker_runs), middle(c.many_workers_runs)
    columns, runs, medians, steadies = ["ours, 1 worker"], [one.run], [one.median], [one.steady]
    if c.workers > 1:
        columns, runs, medians = [*columns, f"ours, {c.workers} workers"], [*runs, many.run], [*medians, None]
        steadies.append(many.steady)
    if c.nbgrader is not None:
        columns, runs, medians = ["nbgrader", *columns], [c.nbgrader, *runs], [c.nbgrader_median, *medians]
        steadies.insert(0, None)
    rows = [
        ("wall seconds", [figure(run.wall) for run in runs]),
        ("submissions / second", [figure(c.n / run.wall) for run in runs]),
        ("median s / submission", [figure(median) for median in medians]),
        ("sub/s after start-up", [figure(steady) for steady in steadies]),
        ("peak MB per worker", ["-" if run is c.nbgrader else figure(run.peak_worker_mb, 0) for run in runs]),
        ("sub/s, every run", ["-"] * (c.nbgrader is not None) + [
            " ".join(figure(r.steady, 1) for r in kit) for kit in [c.one_worker_runs, c.many_workers_runs][:c.workers]]),
        ("peak MB, whole tree", [figure(run.peak_tree_mb, 0) for run in runs]),
        ("sampler CPU, % of wall", [figure(100 * run.sampler_cpu / run.wall, 1) for run in runs]),
    ]
    print(f"\n{c.assignment}: N = {c.n} submissions, every one scored {c.score}; the kit's run with the median "
          f"throughput of {len(c.one_worker_runs)} is shown")
    print(f"  {'':24}" + "".join(f"{name:>18}" for name in columns))
    for label, cells in rows:
        print(f"  {label:24}" + "".join(f"{cell:>18}" for cell in cells))
    if c.nbgrader is not None:
        print(f"  speed-up over nbgrader (its wall / ours): {c.speed_up(c.many_workers):.1f}x with "
              f"{c.workers} workers, {c.speed_up(c.one_worker):.1f}x with 1 worker")
    if c.workers > 1:
        print(f"  {c.workers} workers / 1 worker (throughput after start-up): {c.worker_scaling():.2f}x; "
              f"wall time, start-up included: {c.one_worker.wall / c.many_workers.wall:.2f}x")
    sys.stdout.flush()


# The scaling study ----------------------------------------------------------------------------

@dataclass
class ScalingRow:
    """The kit (and nbgrader, when asked) on the first N submissions."""

    n: int
    ours: Run
    nbgrader: Run | None


def nbgrader_at(assignment, n):
    """nbgrader autograde of N submissions, in a course of its own."""
    with tempfile.TemporaryDirectory(prefix="nnkit-bench-nbgrader-") as tmp:
        course = Path(tmp)
        make_course(course, assignment, n)
        generate_assignment(course, assignment)
        return nbgrader_autograde(course, assignment)


def scaling_study(assignment, ours_ns, nbgrader_ns, workers):
    """ScalingRows for every N asked: the kit on the first N of max(N) submissions."""
    ns = sorted(set(ours_ns) | set(nbgrader_ns))
    rows = []
    with tempfile.TemporaryDirectory(prefix="nnkit-bench-scaling-") as tmp:
        course = Path(tmp)
        make_course(course, assignment, max(ns))
        for n in ns:
            out = course / f"graded-first-{n}"
            ours = grade_with_kit(first_students(course, n), out, workers)
            common_score(out, n)
            nbgrader = nbgrader_at(assignment, n) if n in nbgrader_ns else None
            rows.append(ScalingRow(n, ours, nbgrader))
            print(f"  scaling: N = {n} done", file=sys.stderr, flush=True)
    return rows


def print_scaling(assignment, workers, rows):
    print(f"\nscaling, {assignment}, ours with {workers} workers (s/sub = wall / N)")
    print(f"  {'N':>6} {'wall s':>9} {'sub/s':>8} {'s/sub':>8} {'MB/worker':>10}   "
          f"{'nbgrader wall s':>15} {'sub/s':>8} {'s/sub':>8} {'speed-up':>9}")
    for row in rows:
        ours = f"{row.n:>6} {row.ours.wall:>9.2f} {row.n / row.ours.wall:>8.2f} {row.ours.wall / row.n:>8.3f} " \
               f"{figure(row.ours.peak_worker_mb, 0):>10}"
        theirs = f"{'-':>15} {'-':>8} {'-':>8} {'-':>9}"
        if row.nbgrader is not None:
            theirs = f"{row.nbgrader.wall:>15.2f} {row.n / row.nbgrader.wall:>8.2f} " \
                     f"{row.nbgrader.wall / row.n:>8.3f} {row.nbgrader.wall / row.ours.wall:>8.1f}x"
        print(f"  {ours}   {theirs}")


# Targets ------------------------------------------------------------------------------------------

def verdict(passed):
    return "SKIP" if passed is None else ("PASS" if passed else "FAIL")


def target_lines(comparisons, scaling_rows, workers):
    """(verdict, target, measured) for every target of every measured run."""
    lines = []
    for c in comparisons:
        goal = SPEED_UP_TARGETS.get(c.assignment)
        if goal is not None:
            speed_up = c.speed_up(c.many_workers)
            measured = "nbgrader not run" if speed_up is None else f"{speed_up:.1f}x"
            lines.append((verdict(None if speed_up is None else speed_up >= goal),
                          f"speed-up over nbgrader >= {goal:.0f}x, {c.assignment} (ours: {workers} worker(s))", measured))
    for c in comparisons:
        if workers > 1:
            lines.append((verdict(c.worker_scaling() >= WORKER_SCALING_TARGET),
                          f"{workers} workers / 1 worker >= {WORKER_SCALING_TARGET}, {c.assignment}",
                          f"{c.worker_scaling():.2f}x"))
    memory = [(c.assignment, c.peak_worker_mb()) for c in comparisons]
    memory += [(f"scaling N = {row.n}", row.ours.peak_worker_mb) for row in scaling_rows]
    for name, peak in memory:
        lines.append((verdict(None if peak is None else peak < MEMORY_TARGET_MB),
                      f"peak memory per worker < {MEMORY_TARGET_MB:.0f} MB, {name}",
                      "no worker sampled" if peak is None else f"{peak:.0f} MB"))
    return lines


def print_targets(lines):
    print("\ntargets")
    width = max((len(target) for _, target, _ in lines), default=0)
    for result, target, measured in lines:
        print(f"  {result}  {target:{width}}  {measured}")


# Command line -------------------------------------------------------------------------------------

def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10, help="submissions per assignment (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the kit's parallel run (default 2)")
    parser.add_argument("--assignments", nargs="*", choices=ASSIGNMENTS, default=ASSIGNMENTS,
                        help="assignments to compare (default all; none: only the scaling study)")
    parser.add_argument("--skip-nbgrader", action="store_true", help="time only the kit; no speed-up")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the kit per worker count, alternating; the median is reported (default 3)")
    parser.add_argument("--scaling", nargs="+", type=int, default=[], metavar="N",
                        help="numbers of submissions for the kit's scaling study")
    parser.add_argument("--scaling-assignment", choices=ASSIGNMENTS, default="logistic_regression")
    parser.add_argument("--nbgrader-scaling", nargs="+", type=int, default=[], metavar="N",
                        help="numbers of submissions at which to time nbgrader too in the scaling study")
    return parser.parse_args()


def main():
    args = parse_arguments()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    comparisons = []
    for assignment in args.assignments:
        comparisons.append(compare(assignment, args.n, args.workers, args.skip_nbgrader, args.repeat))
        print_comparison(comparisons[-1])
    scaling_rows = []
    if args.scaling or args.nbgrader_scaling:
        scaling_rows = scaling_study(args.scaling_assignment, args.scaling, args.nbgrader_scaling, args.workers)
        print_scaling(args.scaling_assignment, args.workers, scaling_rows)
    print_targets(target_lines(comparisons, scaling_rows, args.workers))


if __name__ == "__main__":
    main()

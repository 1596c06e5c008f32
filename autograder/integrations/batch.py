"""Grade many submissions: in parallel worker processes, resumable, with progress on a terminal.

Each submission's results are written as soon as it is graded, under
``OUT/<student>/<assignment>/``: ``results.json`` (Gradescope), ``feedback.md``/``.html``, and
``result.json`` (the full result, with the seconds its grading took, and a fingerprint of the
notebook and of the grader). A batch
run again, after an interruption or on new submissions, reuses every result whose fingerprint
still matches and grades only what is missing or changed. Results are the same with 1 or N
workers, or on a Dask cluster: each worker runs ``grade_notebook``, the same as a serial run.
"""
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

from autograder.reports.feedback import write_feedback
from autograder.grade import ROOT, grade_notebook
from autograder.reports.formats import write_gradescope_json
from autograder.scores.results import GRADED, SubmissionResult

SAVED = "result.json"


@dataclass(frozen=True)
class Job:
    """One submission to grade: ``assignment`` None means "from the notebook's file name"."""

    student: str
    assignment: str
    notebook: Path

    @property
    def resolved_assignment(self):
        return self.assignment or Path(self.notebook).stem


def grader_fingerprint(assignment):
    """Hash of everything that decides a grade: the hidden suite, the reference and the source."""
    digest = hashlib.sha256()
    files = sorted([*(ROOT / "autograder").rglob("*.py"),
                    *(ROOT / "reference").glob("*.py"), *(ROOT / "source" / assignment).glob("*.ipynb")])
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(job, grader):
    """Hash of a submission's bytes, its student and assignment, and the grader's fingerprint."""
    try:
        content = Path(job.notebook).read_bytes()
    except OSError:
        content = b""
    return hashlib.sha256(b"\0".join([content, job.student.encode(), job.resolved_assignment.encode(),
                                      grader.encode()])).hexdigest()


def result_folder(out, job):
    return Path(out) / job.student / job.resolved_assignment


class SharedResultFolder(ValueError):
    """Two notebooks of one batch would be graded into one results folder."""


def shared_result_folders(jobs, out):
    """{results folder: [notebooks]} of every folder that more than one notebook would write."""
    notebooks = {}  # {folder: {real path: notebook}}: one file named twice is one notebook
    for job in jobs:
        notebooks.setdefault(result_folder(out, job), {}).setdefault(os.path.realpath(job.notebook), Path(job.notebook))
    return {folder: list(found.values()) for folder, found in notebooks.items() if len(found) > 1}


def check_result_folders(jobs, out):
    """Raise SharedResultFolder, naming the notebooks, when one's results would overwrite another's."""
    shared = shared_result_folders(jobs, out)
    if shared:
        lines = [f"  {folder}/: {', '.join(map(str, notebooks))}" for folder, notebooks in shared.items()]
        raise SharedResultFolder(
            "these notebooks are of one student and assignment, and one's results would overwrite the "
            "other's:\n" + "\n".join(lines) + "\nGive one notebook per student and assignment (the student "
            "is the folder that holds the notebook; --assignment sets the assignment of all of them). "
            "Nothing was graded.")


def load_saved(folder, key=None):
    """The SubmissionResult saved in ``folder``/result.json if its fingerprint is ``key`` (any
    fingerprint when ``key`` is None: the reports read a graded folder so), else None; None too
    when there is none or it cannot be read."""
    try:
        saved = json.loads((Path(folder) / SAVED).read_text())
        if key is not None and saved["fingerprint"] != key:
            return None
        return SubmissionResult.from_dict(saved["result"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save(folder, key, result):
    """Write every report of ``result``; result.json last, so a half-written set is regraded."""
    folder.mkdir(parents=True, exist_ok=True)
    write_gradescope_json(result, folder / "results.json")
    write_feedback(result, folder)
    partial = folder / (SAVED + ".part")
    partial.write_text(json.dumps({"fingerprint": key, "result": asdict(result)}))
    os.replace(partial, folder / SAVED)


class Progress:
    """A one-line progress bar with counts and an ETA, drawn only on a terminal."""

    def __init__(self, total, reused, stream=sys.stderr):
        self.total, self.done, self.ungradeable = total, reused, 0
        self.stream, self.started, self.first = stream, time.monotonic(), reused
        self.enabled = hasattr(stream, "isatty") and stream.isatty()

    def update(self, result):
        self.done += 1
        self.ungradeable += result.status != GRADED
        self.draw()

    def draw(self):
        if not self.enabled:
            return
        graded_now = self.done - self.first
        left = self.total - self.done
        eta = (time.monotonic() - self.started) / graded_now * left if graded_now else 0.0
        filled = int(30 * self.done / self.total) if self.total else 30
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} graded, "
                          f"{self.ungradeable} ungradeable, ETA {int(eta) // 60}:{int(eta) % 60:02d} ")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def cpus_for(workers):
    """A CPU of its own for each of ``workers`` local worker processes when they are as many as
    the CPUs this process may use (the default), so that the workers fill them; else None, and
    the scheduler places them (one worker may use every CPU, fewer leave some to spare)."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus if 1 < workers == len(cpus) else None


def pin_to_a_cpu(free_cpus):
    """Pool initializer: keep this worker, and the sandbox it will start, on one CPU of ``free_cpus``.

    A worker is a chain of processes that wait for each other: the grader, the submission's
    process, the fork that answers a batch. Free to move, a fork that was just made can wait
    for milliseconds behind the other worker's grader while the CPU its parent left sits
    idle (seen with perf sched on a 2-CPU VM: 2 workers kept 1.8 cores busy, pinned 2.0).
    """
    os.sched_setaffinity(0, {free_cpus.get()})


def process_pool(workers):
    """A pool of ``workers`` forked processes, each on a CPU of its own when they fill the CPUs."""
    context = get_context("fork")  # each worker starts warm, with numpy, pytest and the suite already imported
    cpus = cpus_for(workers)
    if cpus is None:
        return ProcessPoolExecutor(workers, mp_context=context)
    free_cpus = context.SimpleQueue()
    for cpu in cpus:
        free_cpus.put(cpu)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=pin_to_a_cpu, initargs=(free_cpus,))


def grade_batch(jobs, out, workers=1, isolation=None, regrade=False, stream=sys.stderr, scheduler=None,
                require_isolation=False):
    """SubmissionResults of ``jobs`` in order, and how many were reused from an earlier run.

    Submissions are graded by ``workers`` local processes, or on the Dask cluster whose
    scheduler is at ``scheduler`` (see autograder.integrations.dask_cluster). Raises SharedResultFolder, before
    grading anything, when two notebooks would write one results folder.
    """
    check_result_folders(jobs, out)
    graders = {a: grader_fingerprint(a) for a in {j.resolved_assignment for j in jobs}}
    keys = [fingerprint(job, graders[job.resolved_assignment]) for job in jobs]
    results = [None if regrade else load_saved(result_folder(out, job), key) for job, key in zip(jobs, keys)]
    # one assignment after another: a worker's warm sandbox serves one assignment at a time
    pending = sorted((i for i, result in enumerate(results) if result is None),
                     key=lambda i: jobs[i].resolved_assignment)
    progress = Progress(len(jobs), len(jobs) - len(pending), stream)
    progress.draw()

    def finish(index, result):
        save(result_folder(out, jobs[index]), keys[index], result)
        results[index] = result
        progress.update(result)

    try:
        if scheduler:
            from autograder.integrations.dask_cluster import grade_on_cluster

            grade_on_cluster([(i, jobs[i]) for i in pending], graders, scheduler, require_isolation, finish)
        elif workers <= 1:
            for i in pending:
                finish(i, grade_notebook(jobs[i].notebook, jobs[i].assignment, jobs[i].student, isolation=isolation))
        else:
            with process_pool(workers) as pool:
                futures = {pool.submit(grade_notebook, jobs[i].notebook, jobs[i].assignment, jobs[i].student,
                                       isolation=isolation): i for i in pending}
                for future in as_completed(futures):
                    finish(futures[future], future.result())
    finally:
        progress.close()
    return results, len(jobs) - len(pending)

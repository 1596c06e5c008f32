"""Grading on a Dask cluster: the same sandboxed grading, fanned out to Dask workers.

    python -m autograder grade submitted/ --out graded --scheduler tcp://scheduler-host:8786

Each task carries the notebook's bytes, so the workers need no shared file system, only
the kit installed with its sandbox tools (bubblewrap, as root). A worker grades exactly as
a local worker does (``grade_notebook``, in its own warm sandbox per thread), and a task
refuses to run on a worker whose grader differs from the one that submitted it, so a
cluster can never mix two versions of the hidden tests. Results are saved locally, as
they arrive, exactly as a local batch saves them. Dask is needed only here.
"""
import tempfile
from pathlib import Path

from autograder.grade import grade_notebook
from autograder.sandbox.session import isolation_available


class ClusterError(Exception):
    """The cluster cannot grade (unreachable, wrong grader version, no sandbox); the message says why."""


def grade_on_worker(student, assignment, name, content, grader, require_isolation):
    """Runs on a Dask worker: the SubmissionResult of one notebook given as bytes.

    ``grader`` is the submitting side's grader fingerprint of the assignment.
    """
    from autograder.integrations.batch import grader_fingerprint

    resolved = assignment or Path(name).stem
    if grader_fingerprint(resolved) != grader:
        raise ClusterError("a Dask worker runs a different version of the kit (hidden tests, reference or "
                           "source notebooks differ): install the same version on every worker")
    isolation = isolation_available()
    if require_isolation and isolation != "bwrap":
        raise ClusterError("a Dask worker cannot isolate student code (bubblewrap missing, or the worker "
                           "is not root), and --require-sandbox was given")
    with tempfile.TemporaryDirectory(prefix="nnkit-task-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return grade_notebook(path, assignment, student, isolation=isolation)


def grade_on_cluster(jobs, graders, scheduler, require_isolation, finish):
    """Grade ``jobs`` [(index, Job)] on the Dask cluster at ``scheduler``; ``finish(index, result)``
    is called here, in the submitting process, as each result arrives.

    ``graders`` {assignment: grader fingerprint}.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ClusterError("--scheduler needs Dask's distributed package: "
                           "pip install -c requirements.lock -e '.[cluster]'") from None
    try:
        client = Client(scheduler, timeout=10)
    except OSError as err:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({err})") from None
    with client:
        futures = {}
        for index, job in jobs:
            try:
                content = Path(job.notebook).read_bytes()
            except OSError:  # unreadable here: grade it here, where the error is
                finish(index, grade_notebook(job.notebook, job.assignment, job.student))
                continue
            future = client.submit(grade_on_worker, job.student, job.assignment, Path(job.notebook).name, content,
                                   graders[job.resolved_assignment], require_isolation, pure=False, retries=1)
            futures[future] = index, job
        for future in as_completed(futures):
            index, job = futures[future]
            try:
                result = future.result()
            except ClusterError:
                raise
            except Exception as err:  # the worker itself failed (lost, killed): the batch can resume later
                raise ClusterError(f"a Dask worker failed while grading {job.notebook} "
                                   f"({type(err).__name__}: {err})") from None
            result.notebook = str(job.notebook)  # the worker graded a copy
            finish(index, result)

"""Grading a class: parallel workers give the serial results, a batch resumes, progress shows on a tty."""
import json
import multiprocessing
import os
import pty
import shutil
import signal
import re
import subprocess
import sys
import time

import pytest

from autograder.integrations.batch import Job, SharedResultFolder, check_result_folders, cpus_for, grade_batch, process_pool
from autograder.grade import grade_notebook
from conftest import ROOT
from submissions import mutate, release_submission, submission

A = "logistic_regression"


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    """submitted/<student>/logistic_regression/: correct, buggy, stubbed and broken notebooks."""
    submitted = tmp_path_factory.mktemp("class") / "submitted"
    submission(submitted, A, student="ada")
    submission(submitted, A, student="ben", replace=mutate(
        A, "gradient-solution", ("error.T @ inputs / inputs.shape[0]", "error.T @ inputs")))
    release_submission(submitted, A, student="cy")
    broken = submitted / "dee" / A / f"{A}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [')
    return submitted


def jobs_of(submitted):
    return [Job(p.parent.parent.name, A, p) for p in sorted(submitted.glob(f"*/{A}/{A}.ipynb"))]


def saved_files(out):
    """{relative path: contents} of every report a batch wrote, the grading time (result.json's
    "seconds", which the class report shows) blanked: it is the one thing a rerun changes."""
    return {str(p.relative_to(out)): re.sub(r'"seconds": [^,}]+', '"seconds": null', p.read_text())
            for p in sorted(out.rglob("*")) if p.is_file()}


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, **kwargs)


def test_one_worker_two_workers_and_a_serial_run_give_identical_results(small_class, tmp_path):
    serial = [grade_notebook(job.notebook, job.assignment, job.student) for job in jobs_of(small_class)]
    one, _ = grade_batch(jobs_of(small_class), tmp_path / "one", workers=1)
    two, _ = grade_batch(jobs_of(small_class), tmp_path / "two", workers=2)
    assert one == serial and two == serial
    assert [r.score for r in serial] == [10.0, 7.0, 0.0, 0.0]  # ben: a wrong gradient earns none of its 3
    assert saved_files(tmp_path / "one") == saved_files(tmp_path / "two")


@pytest.fixture(scope="module")
def dask_scheduler():
    """A real Dask cluster on loopback: a scheduler and two worker processes of one thread each."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, memory_limit="4GiB") as cluster:
        yield cluster.scheduler_address


BOTH_WORKERS_BUSY = None  # a Barrier of all the pool's workers, inherited by its forks


def cpus_of_a_busy_worker():
    """This worker's CPUs and those of a program it starts (as it starts its sandbox), once every
    other worker is busy too: the pool cannot give two of these calls to one worker."""
    BOTH_WORKERS_BUSY.wait(timeout=60)
    child = subprocess.run(["grep", "Cpus_allowed_list", "/proc/self/status"], capture_output=True, text=True)
    return os.getpid(), sorted(os.sched_getaffinity(0)), child.stdout.split()[-1]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_each_local_worker_and_its_sandbox_keep_to_a_cpu_of_their_own():
    """With one worker per CPU (the default), as on the 2-CPU CI machine."""
    global BOTH_WORKERS_BUSY
    cpus = len(os.sched_getaffinity(0))
    BOTH_WORKERS_BUSY = multiprocessing.get_context("fork").Barrier(cpus)
    with process_pool(cpus) as pool:
        seen = [f.result(timeout=90) for f in [pool.submit(cpus_of_a_busy_worker) for _ in range(cpus)]]
    assert len({pid for pid, _, _ in seen}) == cpus, seen
    assert all(len(own) == 1 and child == str(own[0]) for _, own, child in seen), seen
    assert sorted(own[0] for _, own, _ in seen) == sorted(os.sched_getaffinity(0)), seen
    # one worker, or more or fewer workers than CPUs: the scheduler decides
    assert cpus_for(1) is None and cpus_for(cpus + 1) is None and (cpus == 2 or cpus_for(cpus - 1) is None)


def test_a_dask_cluster_gives_the_results_of_a_local_run(small_class, tmp_path, dask_scheduler):
    serial = [grade_notebook(job.notebook, job.assignment, job.student) for job in jobs_of(small_class)]
    on_dask, _ = grade_batch(jobs_of(small_class), tmp_path / "dask", scheduler=dask_scheduler)
    local, _ = grade_batch(jobs_of(small_class), tmp_path / "local", workers=2)
    assert on_dask == serial == local
    assert saved_files(tmp_path / "dask") == saved_files(tmp_path / "local")
    by_cli = cli(small_class, "--out", tmp_path / "cli", "--scheduler", dask_scheduler, "--require-sandbox")
    assert by_cli.returncode == 0, by_cli.stderr
    assert saved_files(tmp_path / "cli") == {**saved_files(tmp_path / "local"),
                                             "grades.csv": (tmp_path / "cli" / "grades.csv").read_text()}


def test_a_dask_worker_with_another_grader_version_refuses(small_class, tmp_path, dask_scheduler):
    from autograder.integrations import dask_cluster as cluster
    from autograder.integrations.dask_cluster import ClusterError

    jobs = [(0, jobs_of(small_class)[0])]
    with pytest.raises(ClusterError, match="different version of the kit"):
        cluster.grade_on_cluster(jobs, {A: "0" * 64}, dask_scheduler, False, lambda *_: None)


def test_an_unreachable_scheduler_is_a_clear_error(small_class, tmp_path):
    pytest.importorskip("distributed")
    done = cli(small_class, "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert done.returncode != 0 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr


def test_a_second_run_grades_only_what_is_missing_or_changed(small_class, tmp_path):
    out = tmp_path / "graded"
    first, reused = grade_batch(jobs_of(small_class), out, workers=2)
    assert reused == 0
    (out / "cy" / A / "result.json").unlink()  # lost
    ada = small_class / "ada" / A / f"{A}.ipynb"
    original = ada.read_text()
    try:
        ada.write_text(original.replace("Logistic regression", "Logistic  regression", 1))  # resubmitted
        again, reused = grade_batch(jobs_of(small_class), out, workers=2)
    finally:
        ada.write_text(original)
    assert reused == 2 and again == first


def test_an_interrupted_batch_loses_nothing_already_graded(small_class, tmp_path):
    out = tmp_path / "graded"
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(small_class), "--out", str(out),
                                "--workers", "1", "--quiet"], cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(out.rglob("result.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # killed mid-batch, workers and sandboxes with it
    process.wait()
    finished = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    assert 1 <= len(finished) < 4
    resumed = cli(small_class, "--out", out, "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} submission(s) unchanged since the last run" in resumed.stdout
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    scores = {p.parent.parent.name: json.loads(p.read_text())["score"] for p in out.rglob("results.json")}
    assert scores == {"ada": 10.0, "ben": 7.0, "cy": 0.0, "dee": 0.0}


def test_the_progress_bar_shows_on_a_terminal_only(small_class, tmp_path):
    piped = cli(small_class, "--out", tmp_path / "piped", "--workers", "2", "--quiet")
    assert piped.returncode == 0 and "ETA" not in piped.stderr + piped.stdout
    main, secondary = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(small_class), "--out",
                           str(tmp_path / "tty"), "--workers", "2", "--quiet"], cwd=ROOT, stdin=secondary,
                          stdout=secondary, stderr=secondary, timeout=600)
    os.close(secondary)
    screen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.close(main)
    assert done.returncode == 0
    text = screen.decode(errors="replace")
    assert "4/4 graded, 1 ungradeable" in text and "ETA" in text and "\r[" in text


def test_two_notebooks_of_one_student_and_assignment_are_refused_up_front(small_class, tmp_path):
    """`grade alice/hw2.ipynb alice/other.ipynb --assignment A` would write both to OUT/alice/A/."""
    alice = tmp_path / "alice"
    alice.mkdir()
    for name in ("hw2.ipynb", "other.ipynb"):
        shutil.copy(small_class / "ada" / A / f"{A}.ipynb", alice / name)
    shutil.copytree(small_class / "ben", tmp_path / "ben")
    out = tmp_path / "graded"
    done = cli(alice / "hw2.ipynb", alice / "other.ipynb", tmp_path / "ben" / A / f"{A}.ipynb",
               "--out", f"{out}/", "--assignment", A)
    assert done.returncode != 0
    assert f"{out}/alice/{A}/: {alice / 'hw2.ipynb'}, {alice / 'other.ipynb'}" in done.stderr, done.stderr
    assert "Nothing was graded" in done.stderr and str(tmp_path / "ben") not in done.stderr
    assert not out.exists()  # nothing graded, not even ben's
    with pytest.raises(SharedResultFolder, match="hw2.ipynb, .*other.ipynb"):  # the API refuses too
        grade_batch([Job("alice", A, alice / "hw2.ipynb"), Job("alice", A, alice / "other.ipynb")], out)
    # nbgrader's layout: a scratch notebook beside submitted/<student>/<assignment>/<assignment>.ipynb
    # is not graded; two notebooks of which neither is the assignment's are refused the same way
    shutil.copy(alice / "hw2.ipynb", tmp_path / "ben" / A / "scratch.ipynb")
    done = cli(tmp_path / "ben" / "..", "--out", out, "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*/results.json")) == [f"ben/{A}/results.json"]
    shutil.rmtree(out)
    (tmp_path / "ben" / A / f"{A}.ipynb").rename(tmp_path / "ben" / A / "mine.ipynb")
    done = cli(tmp_path, "--out", out)
    assert done.returncode != 0 and f"{out}/ben/{A}/: " in done.stderr and not out.exists()
    # one notebook named twice is one submission, not a clash
    twice = [Job("alice", A, alice / "hw2.ipynb"), Job("alice", A, alice / ".." / "alice" / "hw2.ipynb")]
    assert check_result_folders(twice, out) is None


def test_the_summary_names_the_results_folder_without_a_double_slash(small_class, tmp_path):
    done = cli(small_class / "dee" / A / f"{A}.ipynb", "--out", f"{tmp_path / 'graded'}/")  # unreadable: quick
    assert done.returncode == 0, done.stderr
    assert f"Results in {tmp_path / 'graded'}/<student>/<assignment>/ " in done.stdout
    assert f"and {tmp_path / 'graded'}/grades.csv" in done.stdout and "//" not in done.stdout

"""Hostile submissions: loops, memory and fork bombs, floods of output, huge answers.

Each is graded with small limits. The grader must come back with a result (graded with 0
on the hostile item, or ungradeable with a sentence saying why) in bounded time. Of the
sandbox's uid (one per grader thread) only the warm runner may be left, ready for the next
submission, with an empty home folder; once it is stopped, no process and no folder remain.
"""
import os
import tempfile
import time

import pytest

from autograder.grade import grade_notebook
from autograder.sandbox.session import Limits
from autograder.sandbox.sandbox import current_sandbox, sandbox_uid, stop_sandboxes
from submissions import cell_source, code, release_submission, report

A = "logistic_regression"
HONEST = {"logistic-solution": cell_source(A, "logistic-solution")}
HONEST_POINTS = 2.0
LIMITS = Limits(notebook_seconds=10, call_seconds=3, submission_seconds=40)
TIME_BOUND = 60.0  # a guard against hangs, not a speed claim




def sandbox_processes():
    """Live, non-zombie processes running as this grader process's sandbox uid."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").split()[:1] != ["Z"] and int(fields["Uid"].split()[0]) == sandbox_uid():
            found.append(int(entry))
    return found




def sandbox_cgroups():
    """The cgroups of this grader's sandboxes that exist now."""
    from autograder.sandbox.budget import CGROUP_PREFIX, _parent_folders

    found = _parent_folders()
    return [] if found is None else [c for parent in found[1] for c in parent.glob(f"{CGROUP_PREFIX}{os.getpid()}-*")]


def settled(done, seconds=5.0):
    """The sandbox's processes once ``done()`` holds, or after ``seconds``: the kernel may need
    a moment to reap a dead namespace."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)
    return sandbox_processes()


def grade_hostile(tmp_path, hostile_cells=(), replace=None, most=HONEST_POINTS, before_stop=None, limits=LIMITS):
    """Grade a release notebook (logistic honest) plus ``hostile_cells``; check the aftermath:
    no process, folder, mount or cgroup of the sandbox is left, and the score is at most ``most``.
    ``before_stop(runner)`` looks at the warm runner before it is stopped."""
    path = release_submission(tmp_path, A, replace={**HONEST, **(replace or {})}, append=list(hostile_cells))
    scratch_root = tmp_path / "scratch"
    scratch_root.mkdir()
    stop_sandboxes()
    assert settled(lambda: not sandbox_processes()) == [], "a sandbox of this grader was already running"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(scratch_root))  # the sandbox's scratch goes here
        started = time.monotonic()
        result = grade_notebook(path, limits=limits)
        elapsed = time.monotonic() - started
    assert elapsed < TIME_BOUND, f"grading took {elapsed:.0f} s\n{report(result)}"
    runner = current_sandbox()
    if before_stop is not None:
        before_stop(runner)
    left = settled(lambda: len(sandbox_processes()) <= (1 if runner.alive() else 0))
    if runner.alive():  # the runner survived the submission: it is all that is left, and its home is empty
        assert len(left) == 1 and b"serve" in open(f"/proc/{left[0]}/cmdline", "rb").read(), \
            f"processes of the sandbox (uid {sandbox_uid()}) left behind: {left}"
        assert sorted(p.name for p in runner.home.iterdir()) == [], "files left in the sandbox's home"
    stop_sandboxes()
    left = settled(lambda: not sandbox_processes())
    assert left == [], f"processes of the sandbox (uid {sandbox_uid()}) left behind: {left}"
    scratch = sorted(p.name for p in scratch_root.iterdir())
    assert scratch == [], f"sandbox scratch folders left behind: {scratch}"
    with open("/proc/self/mountinfo") as f:
        assert str(scratch_root) not in f.read(), "the sandbox's tmpfs is still mounted"
    if runner.cgroup is None and runner.folder is None:  # stopped: its cgroup went with it
        assert not sandbox_cgroups(), f"sandbox cgroups left behind: {sandbox_cgroups()}"
    assert result.score <= most + 1e-9, report(result)
    if result.status != "graded":
        assert result.score == 0 and result.output.endswith("."), report(result)
    return result


def item_output(result, item):
    return " ".join(t.output for t in result.tests if t.item == item and t.status == "failed")


def graded_with_zero_on(result, item):
    assert result.status == "graded", report(result)
    assert result.item_scores()[item] == 0, report(result)
    assert result.item_scores()["logistic"] == pytest.approx(HONEST_POINTS), report(result)


# --- infinite loops ---------------------------------------------------------------------------

IGNORE_SIGNALS = "import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n    signal.signal(s, signal.SIG_IGN)\n"


def test_infinite_loop_in_a_graded_function(tmp_path):
    result = grade_hostile(tmp_path, replace={"gradient-solution": IGNORE_SIGNALS + code("""
        def gradient(w, x, t):
            while True:
                pass
    """)})
    graded_with_zero_on(result, "gradient")
    assert "did not finish" in item_output(result, "gradient")


def test_infinite_loop_at_the_top_level(tmp_path):
    result = grade_hostile(tmp_path, [IGNORE_SIGNALS + "while True:\n    pass\n"])
    assert result.status == "timeout", report(result)
    assert "did not finish in time" in result.output and "code cell" in result.output


def test_sleeping_forever_in_every_graded_function_respects_the_submission_limit(tmp_path):
    result = grade_hostile(tmp_path, replace={
        "loss-solution": "import time\ndef loss(y, t):\n    time.sleep(1000)\n",
        "gradient-solution": "def gradient(w, x, t):\n    time.sleep(1000)\n",
        "delta_w-solution": "def delta_w(w_k, x, t, learning_rate):\n    time.sleep(1000)\n",
        "xor_feature_weights-solution": "def xor_feature_weights():\n    time.sleep(1000)\n"})
    assert result.status == "graded", report(result)
    assert result.score == pytest.approx(HONEST_POINTS)


# --- memory -----------------------------------------------------------------------------------

def test_memory_bomb_at_the_top_level(tmp_path):
    result = grade_hostile(tmp_path, ["big = np.ones((50 * 2**30) // 8)\n"])
    assert result.status == "graded", report(result)  # MemoryError in a cell: the cell fails, like in Jupyter
    assert result.score == pytest.approx(HONEST_POINTS)


def test_memory_bomb_in_a_graded_function(tmp_path):
    result = grade_hostile(tmp_path, replace={"gradient-solution": code("""
        def gradient(w, x, t):
            return np.ones((50 * 2**30) // 8)
    """)})
    graded_with_zero_on(result, "gradient")
    assert "MemoryError" in item_output(result, "gradient")


EIGHT_CHILDREN_OF_600_MB = code("""
    import os, time
    children = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            block = bytearray(600 * 2**20)
            for i in range(0, len(block), 4096):
                block[i] = 1  # really used, not only reserved
            time.sleep(120)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
""")


# Filling 2 GiB page by page takes this machine seconds, more on a loaded CI machine: time
# enough for the memory budget, not the notebook's wall time, to stop it.
FILLING_MEMORY_LIMITS = Limits(notebook_seconds=50, call_seconds=3, submission_seconds=60)


def available_memory():
    with open("/proc/meminfo") as f:
        return int(dict(line.split(":") for line in f)["MemAvailable"].split()[0]) << 10


def test_eight_children_of_600_MB_are_stopped_by_the_sandboxs_budget_not_by_the_machine(tmp_path):
    """4.8 GB in all, each child well under any per-process limit, on a machine that has the
    memory: only a budget of the whole sandbox (2 GiB by default) stops it, and its cgroup
    counts the kill. The grader and the next submission are unharmed."""
    assert Limits().memory_bytes == 2 << 30
    assert available_memory() > 8 * 600 * 2**20 + (2 << 30), "this machine could not hold the 8 children"
    kills = []
    result = grade_hostile(tmp_path, [EIGHT_CHILDREN_OF_600_MB], before_stop=lambda r: kills.append(r.oom_kills()),
                           limits=FILLING_MEMORY_LIMITS)
    assert result.status == "memory" and result.score == 0, report(result)
    assert "more than the 2 GiB of memory that all its processes may use together" in result.output
    assert "code cell" in result.output
    assert kills[0] >= 1  # the sandbox's own cgroup stopped it, and its runner lived on
    (tmp_path / "next").mkdir()
    after = grade_hostile(tmp_path / "next", [])
    assert after.status == "graded" and after.score == pytest.approx(HONEST_POINTS), report(after)


def test_sixty_four_files_of_8_MiB_overflow_the_sandboxs_disk_inside_the_sandbox(tmp_path):
    """512 MiB into the home and /tmp: the writes past the 256 MiB budget fail with ENOSPC in
    the student's code (this loss is right only if they did), and nothing is left after."""
    honest_loss = cell_source(A, "loss-solution").replace("def loss(", "def honest_loss(")
    disk_filler = honest_loss + "\n" + code("""
        import errno, os
        def loss(y, t):
            refused = 0
            for i in range(64):
                try:
                    with open(os.path.join("." if i % 2 else "/tmp", f"blob{i}"), "wb") as f:
                        f.write(b"x" * (8 << 20))
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    refused += 1
            if refused == 0:
                raise RuntimeError("the disk has no budget")
            return honest_loss(y, t)
    """)
    result = grade_hostile(tmp_path, replace={"loss-solution": disk_filler}, most=2 * HONEST_POINTS)
    assert result.status == "graded", report(result)
    assert result.item_scores()["loss"] == pytest.approx(2.0), report(result)


def test_growing_list_until_memory_runs_out(tmp_path):
    result = grade_hostile(tmp_path, [code("""
        hoard = []
        while True:
            hoard.append(bytearray(10**7))
    """)])
    assert result.score <= HONEST_POINTS


def test_growing_list_in_a_graded_function(tmp_path):
    result = grade_hostile(tmp_path, replace={"loss-solution": code("""
        def loss(y, t):
            hoard = []
            while True:
                hoard.append(list(range(10**6)))
    """)})
    assert result.item_scores().get("loss", 0) == 0, report(result)


# --- processes --------------------------------------------------------------------------------

def test_fork_bomb_at_the_top_level(tmp_path):
    result = grade_hostile(tmp_path, [code("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """)])
    assert result.status != "graded" and result.score == 0, report(result)


def test_fork_bomb_in_a_graded_function(tmp_path):
    result = grade_hostile(tmp_path, replace={"gradient-solution": code("""
        import os
        def gradient(w, x, t):
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
    """)})
    assert result.item_scores().get("gradient", 0) == 0, report(result)


def test_detached_children_are_killed_with_the_sandbox(tmp_path):
    result = grade_hostile(tmp_path, [code("""
        import subprocess
        for _ in range(5):
            try:
                subprocess.Popen(["sleep", "1000"], start_new_session=True)
                subprocess.Popen(["setsid", "sleep", "1000"])
                subprocess.Popen(["sh", "-c", "trap '' TERM INT HUP; sleep 1000 & sleep 1000"])
            except OSError:
                pass
    """)], replace={"gradient-solution": code("""
        import subprocess
        def gradient(w, x, t):
            subprocess.Popen(["setsid", "sleep", "1000"])
            subprocess.Popen(["sleep", "1000"], start_new_session=True)
            raise NotImplementedError()
    """)})
    assert result.status == "graded", report(result)
    assert result.score == pytest.approx(HONEST_POINTS)


# --- output -----------------------------------------------------------------------------------

def test_gigabytes_of_print_at_the_top_level(tmp_path):
    result = grade_hostile(tmp_path, ['line = "x" * 10**6\nfor _ in range(5000):\n    print(line)\n'])
    # CPython ignores SIGXFSZ: past the output limit a write raises OSError (EFBIG), which
    # ends the cell like any error; the student process may also be stopped as a whole.
    if result.status == "graded":
        assert result.score == pytest.approx(HONEST_POINTS), report(result)
    else:
        assert result.status == "output" and "output" in result.output, report(result)


def test_gigabytes_of_os_write_at_the_top_level(tmp_path):
    result = grade_hostile(tmp_path, [code("""
        import os
        block = b"y" * 2**20
        for _ in range(5000):
            os.write(1, block)
            os.write(2, block)
    """)])
    # CPython ignores SIGXFSZ: past the output limit a write raises OSError (EFBIG), which
    # ends the cell like any error; the student process may also be stopped as a whole.
    if result.status == "graded":
        assert result.score == pytest.approx(HONEST_POINTS), report(result)
    else:
        assert result.status == "output" and "output" in result.output, report(result)


def test_gigabytes_of_print_in_a_graded_function(tmp_path):
    result = grade_hostile(tmp_path, replace={"gradient-solution": code("""
        def gradient(w, x, t):
            line = "z" * 10**6
            for _ in range(5000):
                print(line)
            return (nn(x, w) - t).T @ np.asarray(x, dtype=float) / len(x)
    """)})
    assert result.item_scores().get("gradient", 0) == 0 or result.status != "graded", report(result)
    text = item_output(result, "gradient") + result.output
    assert "output" in text or "print" in text or "File too large" in text, report(result)


# --- huge answers -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [10**9 // 8, 4 * 10**7, 10**10], ids=["1GB", "320MB", "80GB"])
def test_huge_returned_array(tmp_path, size):
    result = grade_hostile(tmp_path, replace={"gradient-solution": code(f"""
        def gradient(w, x, t):
            return np.zeros({size})
    """)})
    graded_with_zero_on(result, "gradient")
    assert item_output(result, "gradient"), report(result)


def test_restarted_sandbox_leaves_no_scratch_folder(tmp_path):
    """A graded function that kills the student process makes the grader restart it for
    the next check; every restart must clean up after itself (see grade_hostile)."""
    result = grade_hostile(tmp_path, replace={"loss-solution": code("""
        import os, signal
        def loss(y, t):
            os.kill(os.getppid(), signal.SIGKILL)  # the runner: the batch's parent
    """)})
    assert result.status == "graded", report(result)
    assert "killed" in item_output(result, "loss") or "ended" in item_output(result, "loss"), report(result)

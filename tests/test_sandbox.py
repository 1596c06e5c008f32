"""The student process is isolated and limited: checked from inside it, through real calls."""
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox.session import Limits, Session, SandboxFailure, isolation_available
from autograder.sandbox.budget import Cgroup
from autograder.sandbox.sandbox import FOLDER_PREFIX, sandbox_uid, stop_sandboxes
from conftest import ROOT

PROBE = '''
import os, socket
def probe():
    found = {"uid": os.getuid(), "euid": os.geteuid(), "pid": os.getpid(),
             "cwd": os.getcwd(), "env": sorted(os.environ)}
    found["sees_repo"] = any(os.path.exists(p) for p in
        ["REPO/reference", "REPO/autograder", "REPO/source", "REPO/tests"])
    found["root_entries"] = sorted(os.listdir("/"))
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        found["network"] = "connected"
    except OSError as err:
        found["network"] = type(err).__name__
    found["processes"] = len([p for p in os.listdir("/proc") if p.isdigit()])
    return found
'''.replace("REPO", str(ROOT))


def answer(sandbox, target):
    result = sandbox.call_batch([{"target": target}])[0]
    assert "ok" in result, result
    return result["ok"]


def probe_with(env_secret, isolation=None):
    os.environ["NNKIT_TEST_SECRET"] = env_secret
    try:
        with Session([PROBE, "import json\ndef report():\n    return json.dumps(probe())"],
                     isolation=isolation) as sandbox:
            return json.loads(answer(sandbox, "report"))
    finally:
        del os.environ["NNKIT_TEST_SECRET"]


def test_this_machine_isolates_with_bubblewrap():
    assert isolation_available() == "bwrap", "bubblewrap isolation is unavailable: run `make env` as root"


def test_student_process_sees_no_repository_no_network_no_grader_and_no_secrets():
    found = probe_with("hunter2")
    assert found["uid"] == found["euid"] == sandbox_uid() != 0
    assert found["sees_repo"] is False
    assert found["network"] in ("OSError", "ConnectionRefusedError") and found["network"] != "connected"
    assert found["processes"] <= 4  # its own PID namespace: the runner, a fork and bwrap's init
    assert "NNKIT_TEST_SECRET" not in found["env"]
    assert found["cwd"] == "/sandbox"


def test_network_is_unreachable_not_just_refused():
    code = ("import socket\ndef net():\n    try:\n        socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
            "        return 1\n    except OSError as err:\n        return err.errno or -1\n")
    with Session([code]) as sandbox:
        errno = answer(sandbox, "net")
    assert errno != 1  # no connection; ENETUNREACH (101) in a fresh network namespace


def test_a_call_that_hangs_is_killed_and_the_sandbox_restarts():
    code = "import time\ndef hang():\n    while True:\n        pass\ndef fine():\n    return 3.0\n"
    with Session([code], Limits(call_seconds=1.0)) as sandbox:
        with pytest.raises(SandboxFailure) as failure:
            sandbox.call_batch([{"target": "hang"}])
        assert failure.value.kind == "timeout"
        assert answer(sandbox, "fine") == 3.0


def test_answers_come_call_by_call_so_a_hang_or_crash_keeps_the_ones_before_it():
    code = ("import os, time\ndef echo(x):\n    return x\ndef hang():\n    time.sleep(60)\n"
            "def crash():\n    os._exit(7)\n")
    with Session([code], Limits(call_seconds=1.0)) as sandbox:
        for failing, kind in (("hang", "timeout"), ("crash", "crashed")):
            with pytest.raises(SandboxFailure) as failure:
                sandbox.call_batch([{"target": "echo", "args": [1.0]}, {"target": "echo", "args": [2.0]},
                                    {"target": failing}, {"target": "echo", "args": [3.0]}])
            assert failure.value.kind == kind
            assert [a["ok"] for a in failure.value.answered] == [1.0, 2.0]
        assert [a["ok"] for a in sandbox.call_batch([{"target": "echo", "args": [4.0]}] * 3)] == [4.0] * 3


def test_state_does_not_leak_between_batches():
    code = "seen = []\ndef remember(x):\n    seen.append(x)\n    return float(len(seen))\n"
    with Session([code]) as sandbox:
        first = sandbox.call_batch([{"target": "remember", "args": [1.0]}, {"target": "remember", "args": [2.0]}])
        again = sandbox.call_batch([{"target": "remember", "args": [3.0]}])
    assert [r["ok"] for r in first] == [1.0, 2.0] and again[0]["ok"] == 1.0


def test_arrays_cross_without_pickle_and_objects_are_refused():
    code = "import numpy as np\nclass Liar:\n    def __eq__(self, other):\n        return True\n" \
           "def liar():\n    return Liar()\ndef arr(x):\n    return x * 2\n"
    with Session([code]) as sandbox:
        liar, arr = sandbox.call_batch([{"target": "liar"}, {"target": "arr", "args": [np.arange(3.0)]}])
    assert "unsendable" in liar
    assert arr["ok"].tolist() == [0.0, 2.0, 4.0]


def grade_cli(notebook, results, env, *flags):
    return subprocess.run([sys.executable, "-m", "autograder", "grade", str(notebook), "--results", str(results),
                           *flags], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


def test_without_isolation_the_grader_warns_and_require_sandbox_refuses(tmp_path):
    notebook = ROOT / "release" / "logistic_regression" / "logistic_regression.ipynb"
    env = {**os.environ, "AUTOGRADER_SANDBOX": "none"}
    refused = grade_cli(notebook, tmp_path / "refused.json", env, "--require-sandbox")
    assert refused.returncode != 0 and "refusing to grade" in refused.stderr
    assert not (tmp_path / "refused.json").exists()
    warned = grade_cli(notebook, tmp_path / "warned.json", env)
    assert warned.returncode == 0 and "NOT ISOLATED" in warned.stderr
    assert json.loads((tmp_path / "warned.json").read_text())["score"] == 0


def test_without_bubblewrap_student_code_runs_as_the_grader_threads_uid():
    """The fallback, as root, drops to this grader thread's unprivileged uid, the one that owns
    the sandbox's home (the uid was once computed in the forked child, whose thread id is its
    own pid: the notebook could not write its output, and nothing was graded)."""
    if os.geteuid() != 0:
        pytest.skip("the fallback drops root only when the grader is root")
    try:
        runnable = subprocess.run([sys.executable, "-c", "pass"], user=100000, group=100000, extra_groups=[],
                                  capture_output=True).returncode == 0
    except PermissionError:
        runnable = False
    if not runnable:
        pytest.skip(f"an unprivileged uid cannot run {sys.executable} here (a private folder above it)")
    with Session(["import os\ndef uid():\n    return float(os.getuid())"], isolation="none") as sandbox:
        assert sandbox.call_batch([{"target": "uid"}])[0]["ok"] == sandbox_uid()


def test_a_sandbox_that_cannot_start_is_the_graders_fault_not_the_students(monkeypatch):
    from autograder import grade as grading
    from autograder.sandbox import sandbox as sandbox_module

    stop_sandboxes()  # this thread's warm runner would serve the submission
    monkeypatch.setattr(sandbox_module.sys, "executable", "/nonexistent/python3")
    result = grading.grade_notebook(ROOT / "source" / "logistic_regression" / "logistic_regression.ipynb")
    assert result.status == "grader error" and result.score == 0
    assert "not your fault" in result.output and "did not start" in result.output


# --- the warm runner: one per grader thread, forking a process per submission ----------------

LEAVE_TRACES = """
import os, time
with open("left-by-the-last-student.txt", "w") as f:
    f.write("my answers")
if os.fork() == 0:  # a daemon that outlives its submission
    os.setsid()
    if os.fork() == 0:
        while True:
            with open("still-here.txt", "w") as f:
                f.write(str(time.time()))
            time.sleep(0.05)
    os._exit(0)
def done():
    return 1.0
"""

LOOK_AROUND = """
import os
def look():
    live = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                state = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            live += state != "Z"
    return {"files": sorted(os.listdir(".")), "processes": live}
"""


def test_nothing_of_one_submission_reaches_the_next():
    with Session([LEAVE_TRACES]) as first:
        assert answer(first, "done") == 1.0
        time.sleep(0.2)  # the daemon is writing
    with Session([LOOK_AROUND]) as second:
        seen = answer(second, "look")
        time.sleep(0.2)
        again = answer(second, "look")
    assert seen["files"] == again["files"] == ["output.log"]
    # bwrap's init, the warm runner, this submission's process and the fork answering: no daemon
    assert seen["processes"] <= 4 and again["processes"] <= 4


def test_a_submission_cannot_read_or_trace_the_warm_runner_it_was_forked_from():
    code = """
import ctypes, os
def pry():
    submission = os.getppid()  # each call runs in a fork of the submission's process
    parent = int(open(f"/proc/{submission}/stat").read().rsplit(")", 1)[1].split()[1])
    found = {"runner": open(f"/proc/{parent}/cmdline", "rb").read().split(b"\\0").count(b"serve")}
    for name in ("mem", "environ", "maps"):
        try:
            with open(f"/proc/{parent}/{name}", "rb") as f:
                f.read(1)
            found[name] = "read"
        except OSError as err:
            found[name] = type(err).__name__
    libc = ctypes.CDLL(None, use_errno=True)
    found["ptrace"] = libc.ptrace(16, parent, 0, 0)  # PTRACE_ATTACH
    return found
"""
    with Session([code]) as sandbox:
        found = answer(sandbox, "pry")
    assert found == {"runner": 1, "mem": "PermissionError", "environ": "PermissionError", "maps": "PermissionError",
                     "ptrace": -1}


def test_killing_the_warm_runner_hurts_no_other_submission():
    runner_killer = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef fine():\n    return 2.0\n"
    with Session([runner_killer], Limits(notebook_seconds=5.0)) as sandbox:
        if not sandbox.runner.alive():  # a runner for these limits
            sandbox.runner.start()
        killed = sandbox.runner.process
        try:  # the namespace is torn down around it: it may or may not get to answer
            sandbox.call_batch([{"target": "fine"}])
        except SandboxFailure as failure:
            assert failure.kind == "crashed"
    with Session(["def fine():\n    return 2.0\n"]) as sandbox:
        assert answer(sandbox, "fine") == 2.0  # the next submission gets a new runner
        assert sandbox.runner.process is not killed and killed.poll() is not None


def test_every_grader_thread_gives_a_submission_the_same_random_numbers_and_string_hashes():
    code = ("import random\nimport numpy as np\n"
            "def draw():\n    return [random.random(), float(np.random.rand()), hash('same order of sets')]\n")
    draws = []

    def grade_in_this_thread():
        with Session([code]) as sandbox:
            draws.append((sandbox_uid(), answer(sandbox, "draw")))

    grade_in_this_thread()
    other = threading.Thread(target=grade_in_this_thread)
    other.start()
    other.join()
    (uid_here, here), (uid_there, there) = draws
    assert uid_here != uid_there  # two runners, two sandbox users
    assert here == there


def test_a_killed_graders_runner_folder_is_removed_by_the_next_grader(tmp_path, monkeypatch):
    import tempfile

    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid names no process now
    orphan = tmp_path / f"{FOLDER_PREFIX}{dead.pid}-abc"
    alive = tmp_path / f"{FOLDER_PREFIX}{os.getppid()}-def"
    for folder in (orphan, alive):
        (folder / "home").mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stop_sandboxes()
    try:
        with Session(["def fine():\n    return 1.0\n"]) as sandbox:
            assert answer(sandbox, "fine") == 1.0
            assert not orphan.exists() and alive.exists()
    finally:
        stop_sandboxes()


# --- budgets: one cgroup (memory, processes) and one tmpfs (disk) per sandbox ----------------

SEE_LIMITS = """
import resource
def limits():
    return [resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_NPROC)[0]]
"""


def own_cgroup_folders():
    """{v1 controller, or "" for v2: the grader's own cgroup folder}, as /proc/self/cgroup and the mounts say."""
    from autograder.sandbox.budget import _mounts, _own_cgroups

    own, folders = _own_cgroups(), {}
    for mount, options in _mounts("cgroup") + _mounts("cgroup2"):
        for controller in ("memory", "pids") if options != [] else []:
            if controller in options and controller in own:
                folders[controller] = Path(mount + own[controller])
    return folders


def mounts_under(folder):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(folder))]


def test_memory_and_processes_are_one_budget_of_the_whole_sandbox_in_a_cgroup_of_the_graders_own():
    stop_sandboxes()
    limits = Limits(memory_bytes=1 << 30, processes=24)
    with Session([SEE_LIMITS], limits) as sandbox:
        address_space, _ = answer(sandbox, "limits")
        cgroup = sandbox.runner.cgroup
        assert cgroup is not None, Cgroup.unavailable
        inside = cgroup.processes()
        runner = sandbox.runner.process.pid
        assert runner in inside and len(inside) >= 3  # bwrap, its init, the runner, this submission
        if cgroup.version == 1:
            memory, pids = cgroup.folders
            assert int((memory / "memory.limit_in_bytes").read_text()) == 1 << 30
            assert int((memory / "memory.memsw.limit_in_bytes").read_text()) == 1 << 30  # no swap
            assert int((pids / "pids.max").read_text()) == 24
            own = own_cgroup_folders()
            assert memory.parent == own["memory"] and pids.parent == own["pids"]
        else:
            assert int((cgroup.folders[0] / "memory.max").read_text()) == 1 << 30
            assert int((cgroup.folders[0] / "pids.max").read_text()) == 24
        assert address_space == resource.RLIM_INFINITY  # no per-process memory limit under a budget
        tmpfs = sandbox.runner.folder / "space"
        assert mounts_under(tmpfs) == [str(tmpfs)]
        assert os.statvfs(tmpfs).f_blocks * os.statvfs(tmpfs).f_frsize == limits.disk_bytes
    stop_sandboxes()
    assert not any(folder.exists() for folder in cgroup.folders)  # removed when the sandbox ends
    assert mounts_under(tmpfs) == []


def test_where_no_cgroup_can_be_made_memory_is_limited_per_process_and_the_grader_says_so(monkeypatch):
    from autograder.sandbox import budget as sandbox_budget
    from autograder.sandbox.session import budgets_missing, warn_if_not_isolated

    stop_sandboxes()
    monkeypatch.setattr(sandbox_budget, "_parent_folders", lambda: None)
    budgets_missing.cache_clear()
    try:
        with pytest.warns(UserWarning, match="NO SANDBOX BUDGET: no cgroup can be made here.*memory is limited "
                                             "per process"):
            warn_if_not_isolated("bwrap", require_isolation=False)
        with Session([SEE_LIMITS]) as sandbox:
            address_space, processes = answer(sandbox, "limits")
            assert sandbox.runner.cgroup is None
        assert address_space == Limits().memory_bytes and processes == Limits().processes
    finally:
        stop_sandboxes()
        budgets_missing.cache_clear()


def test_a_killed_graders_cgroup_is_removed_by_the_next_grader():
    from autograder.sandbox.budget import CGROUP_PREFIX

    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = Cgroup.make(f"{CGROUP_PREFIX}{dead.pid}-1-0", 1 << 30, 8)
    assert orphan is not None, Cgroup.unavailable
    sleeper = subprocess.Popen(["sleep", "60"], preexec_fn=orphan.join)  # what the killed grader left running
    stop_sandboxes()
    try:
        with Session(["def fine():\n    return 1.0\n"]) as sandbox:
            assert answer(sandbox, "fine") == 1.0
        assert not any(folder.exists() for folder in orphan.folders)
        assert sleeper.wait(timeout=5) == -9
    finally:
        sleeper.kill()
        stop_sandboxes()

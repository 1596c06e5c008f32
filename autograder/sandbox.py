"""The student's process: isolated, limited, killed with all its children when done.

Isolation, strongest first:
- ``bwrap``: bubblewrap namespaces (no network, own PIDs, IPC and hostname), a file
  system holding only the Python install and a scratch folder, then ``setpriv`` drops
  to an unprivileged uid with no capabilities. Needs bubblewrap and root.
- ``none``: a plain child process with the same resource limits, as uid 65534 when the
  grader is root. It can read whatever files everyone can read: the grader says so
  loudly, and ``require_isolation`` refuses to grade this way.

The student process of a submission is a fork of a warm runner (see WarmRunner), started
once per grader thread inside the sandbox, with the course's modules imported. The grader
and a student process talk only in ``wire`` frames over two pipes of their own.
"""
import atexit
import json
import multiprocessing.util
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from autograder import wire

HERE = Path(__file__).resolve().parent
# Each grader thread gives its sandboxes a uid of their own, so that the process limit
# (counted per uid) of one grader's student cannot starve another grader's.
SANDBOX_UID_BASE = 100000
SCRATCH_IN_SANDBOX = "/sandbox"
RUNNER_IN_SANDBOX = "/runner"
FOLDER_PREFIX = "nnkit-sandbox-"  # then the grader's pid: /tmp/nnkit-sandbox-<pid>-<random>
RUNNER_START_SECONDS = 60.0  # importing the course's modules, once per grader thread
RUNNER_REPLY_SECONDS = 5.0  # the warm runner answers at once, or it is replaced


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student process and its children."""

    notebook_seconds: float = 60.0  # wall time to run the notebook's cells
    call_seconds: float = 10.0  # wall time of one batch of calls
    submission_seconds: float = 180.0  # wall time of everything for one submission
    cpu_seconds: int = 120  # CPU time of each process
    memory_bytes: int = 2 << 30  # address space of each process
    processes: int = 32  # processes of the sandbox user
    output_bytes: int = 8 << 20  # what the student may print, in all
    answer_bytes: int = 32 << 20  # one answer frame (the returned arrays)
    open_files: int = 64


class SandboxFailure(Exception):
    """The student process failed as a whole: ``kind`` is timeout, crashed, output,
    memory or protocol; the message is a sentence for the student."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def sandbox_uid():
    """The unprivileged uid this grader thread runs its students as (its thread id is its pid
    in a single-threaded process)."""
    return SANDBOX_UID_BASE + threading.get_native_id()


def isolation_available():
    """'bwrap' when bubblewrap can isolate here, else 'none'.

    AUTOGRADER_SANDBOX=none forces the unisolated fallback (to test it, or where bwrap
    misbehaves); the grader still warns, and --require-sandbox still refuses.
    """
    if os.environ.get("AUTOGRADER_SANDBOX") == "none":
        return "none"
    if os.geteuid() != 0 or shutil.which("bwrap") is None or shutil.which("setpriv") is None:
        return "none"
    probe = subprocess.run(["bwrap", "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/", "true"],
                           capture_output=True)
    return "bwrap" if probe.returncode == 0 else "none"


def ancestors(path):
    """/a/b/c -> ['/a', '/a/b']: the folders bwrap must create before binding path."""
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def bwrap_command(folder, python, inner):
    """bubblewrap command line that runs ``inner`` seeing only Python, the runner and a home.

    ``folder`` holds ``runner/`` (read-only at /runner) and ``home/`` (the writable /sandbox).
    """
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
           "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    for system_dir in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.isdir(system_dir) and not os.path.islink(system_dir):
            cmd += ["--ro-bind", system_dir, system_dir]
        elif os.path.islink(system_dir):
            cmd += ["--symlink", os.readlink(system_dir), system_dir]
    # /tmp first: the Python install may live below it, and must be bound on top of it.
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    made = {"/tmp"}
    for prefix in sorted({sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(python))}):
        if prefix.startswith(("/usr/", "/bin/", "/lib")):
            continue
        for parent in ancestors(prefix):
            if parent not in made:
                cmd += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        cmd += ["--ro-bind", prefix, prefix]
    cmd += ["--ro-bind", str(Path(folder) / "runner"), RUNNER_IN_SANDBOX,
            "--bind", str(Path(folder) / "home"), SCRATCH_IN_SANDBOX, "--chdir", SCRATCH_IN_SANDBOX, "--clearenv"]
    for key, value in scrubbed_environment().items():
        cmd += ["--setenv", key, value]
    uid = sandbox_uid()
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    return cmd + ["--"] + drop + ["--"] + inner


def scrubbed_environment():
    """The only environment the student process gets (PYTHONHASHSEED=0: the same set and dict
    order of strings for every submission, in every worker)."""
    return {"PATH": "/usr/bin:/bin", "HOME": SCRATCH_IN_SANDBOX, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


def rlimits(limits):
    """The submission process's resource limits, by ``resource`` constant name."""
    return {"RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_AS": limits.memory_bytes,
            "RLIMIT_FSIZE": limits.output_bytes, "RLIMIT_NOFILE": limits.open_files,
            "RLIMIT_CORE": 0, "RLIMIT_NPROC": limits.processes}


class RunnerLost(Exception):
    """The warm runner did not answer as it should; it has been stopped."""


class WarmRunner:
    """A sandboxed process with the course's modules already imported, that forks one
    process per submission: the fixed cost of a submission is a fork, not a Python start.

    Every process it runs has the sandbox uid of this grader thread, inside one bubblewrap
    namespace. The runner itself is not dumpable, so submissions cannot read or trace it.
    Between submissions ``reset`` kills every process they left and empties the home
    folder, so nothing of one student reaches the next. If anything goes wrong the whole
    namespace is killed and the next submission gets a new runner.
    """

    def __init__(self, isolation, preload=()):
        self.isolation, self.preload = isolation, tuple(preload)
        self.process = self.control = self.folder = None

    @property
    def home(self):
        return self.folder / "home"

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def start(self):
        """Start the runner and wait until its imports are done; RuntimeError if it cannot."""
        self.stop()
        uid = sandbox_uid()
        remove_orphaned_folders()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        (self.folder / "runner").mkdir(mode=0o755)
        for name in ("student_runner.py", "wire.py"):  # readable by the sandbox uid, whatever the kit's modes
            (self.folder / "runner" / name).write_bytes((HERE / name).read_bytes())
            (self.folder / "runner" / name).chmod(0o644)
        self.home.mkdir(mode=0o700)
        if os.geteuid() == 0:
            os.chown(self.home, uid, uid)
            os.chmod(self.folder, 0o755)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        isolated = self.isolation == "bwrap"
        runner = (RUNNER_IN_SANDBOX if isolated else str(self.folder / "runner")) + "/student_runner.py"
        # -s -P: no user site, no script folder on the path; not -I, which would ignore the
        # environment above (it is wholly ours: bwrap --clearenv, or env= below)
        inner = [sys.executable, "-s", "-P", "-B", runner, "serve", str(theirs.fileno()), json.dumps(self.preload),
                 "1" if isolated else "0"]
        with open(self.folder / "runner.log", "wb") as log:
            self.process = subprocess.Popen(
                bwrap_command(self.folder, sys.executable, inner) if isolated else inner,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(theirs.fileno(),), cwd=self.home,
                env={} if isolated else scrubbed_environment(), start_new_session=True,
                preexec_fn=self._limit_runner)
        theirs.close()
        try:
            if self.request(None, timeout=RUNNER_START_SECONDS).get("event") != "warm":
                raise RunnerLost()
        except RunnerLost:
            log = self.log_tail()
            self.stop()
            raise RuntimeError(f"the sandbox did not start; its output: {log}") from None

    def _limit_runner(self):
        """Runs in the child before exec: limits of the runner, and in 'none' mode, drop root."""
        lim = Limits()
        for which, value in ((resource.RLIMIT_NOFILE, lim.open_files), (resource.RLIMIT_CORE, 0),
                             (resource.RLIMIT_NPROC, lim.processes), (resource.RLIMIT_FSIZE, lim.output_bytes)):
            resource.setrlimit(which, (value, value))
        if self.isolation != "bwrap" and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(sandbox_uid())
            os.setuid(sandbox_uid())

    def log_tail(self, size=500):
        """The end of what the runner printed, for the instructor's diagnosis."""
        try:
            return (self.folder / "runner.log").read_bytes()[-size:].decode(errors="replace").strip() or "(none)"
        except (OSError, TypeError):
            return "(none)"

    def request(self, message, fds=(), timeout=RUNNER_REPLY_SECONDS):
        """Send ``message`` (None: only listen) and return the runner's reply; RunnerLost if none comes."""
        try:
            if message is not None:
                socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
            ready, _, _ = select.select([self.control], [], [], timeout)
            data = self.control.recv(1 << 16) if ready else b""
            return json.loads(data)
        except (OSError, ValueError, AttributeError):
            self.stop()
            raise RunnerLost() from None

    def fork_submission(self, limits):
        """A new submission process: (request fd, answer fd) to talk to it."""
        if not self.alive():
            self.start()
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        try:
            self.request({"op": "start", "limits": rlimits(limits)}, fds=(req_r, ans_w))
        except RunnerLost:
            for fd in (req_w, ans_r):
                os.close(fd)
            raise
        finally:
            os.close(req_r)
            os.close(ans_w)
        return req_w, ans_r

    def exit_code(self):
        """How the last submission process ended: its exit code, negative for a signal; None if unknown."""
        try:
            return self.request({"op": "wait", "seconds": 1.0}, timeout=3.0).get("code")
        except RunnerLost:
            return None

    def reset(self):
        """Kill everything the submissions left and empty the home folder; stop the runner if it cannot."""
        if not self.alive():
            return self.stop()
        try:
            clean = self.request({"op": "reset"}).get("event") == "clean"
        except RunnerLost:
            clean = False
        if not clean:
            return self.stop()
        for entry in self.home.iterdir():  # no submission process is left to race with this
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def stop(self):
        """Kill the runner's whole namespace and remove its folder."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def remove_orphaned_folders():
    """Remove the runner folders of grader processes that were killed before they could."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


_RUNNERS = {}  # thread id -> the WarmRunner of that thread of this process
_RUNNERS_LOCK = threading.Lock()


def warm_runner(isolation, preload=()):
    """The warm runner of the calling thread, for this isolation and these modules.

    A thread keeps one runner: asking for other modules replaces it (a batch grades one
    assignment after another, so this is rare, and memory stays that of one runner).
    """
    thread = threading.get_native_id()
    with _RUNNERS_LOCK:
        if not _RUNNERS:
            atexit.register(stop_warm_runners)
            multiprocessing.util.Finalize(None, stop_warm_runners, exitpriority=10)
        runner = _RUNNERS.get(thread)
        if runner is not None and (runner.isolation, runner.preload) != (isolation, tuple(preload)):
            runner.stop()
            runner = None
        if runner is None:
            runner = _RUNNERS[thread] = WarmRunner(isolation, preload)
        return runner


def current_warm_runner():
    """The calling thread's warm runner, or None."""
    return _RUNNERS.get(threading.get_native_id())


def stop_warm_runners():
    """Stop every warm runner of this process (at exit, or when a test wants a clean slate)."""
    with _RUNNERS_LOCK:
        runners = list(_RUNNERS.values())
        _RUNNERS.clear()
    for runner in runners:
        runner.stop()


def _forget_parent_runners():
    """In a forked child: the parent's runners are not ours to use or stop."""
    for runner in _RUNNERS.values():
        if runner.control is not None:
            runner.control.close()
    _RUNNERS.clear()


os.register_at_fork(after_in_child=_forget_parent_runners)


class Sandbox:
    """One submission's student process, holding its code, ready for calls.

    Use as a context manager; ``call_batch`` sends calls and returns their answers.
    After a timeout or crash the process is killed and restarted on the next batch.
    The process is a fork of this thread's warm runner (see WarmRunner).
    """

    def __init__(self, cells, limits=Limits(), isolation=None, preload=()):
        self.cells = list(cells)
        self.limits = limits
        self.isolation = isolation or isolation_available()
        self.runner = warm_runner(self.isolation, preload)
        self.started_at = time.monotonic()
        self.req_w = self.ans_r = None
        self.startup = None  # dict: cell_errors, defined (after a successful start)
        self.fatal = None  # SandboxFailure that makes restarting pointless

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- process life -------------------------------------------------------------------

    def start(self):
        """Run the notebook's cells in a new student process; fills ``startup``."""
        self.kill()  # a restart starts from a clean home folder
        try:
            self.req_w, self.ans_r = self.runner.fork_submission(self.limits)
        except RunnerLost:  # one more try, on a new runner
            self.req_w, self.ans_r = self.runner.fork_submission(self.limits)
        try:
            wire.write_frame(self.req_w, {"cells": self.cells})
        except BrokenPipeError:
            pass  # the process died at once: _await_ready says how
        self.startup = self._await_ready()

    def _await_ready(self):
        """Follow the cells as they run, until the runner says it is ready."""
        deadline = time.monotonic() + self.limits.notebook_seconds
        cell = None
        while True:
            try:
                message = self._read_frame(deadline)
            except SandboxFailure as failure:
                if cell is None:  # died before running any student code: the sandbox itself failed
                    log = self._output_tail()
                    self.kill()
                    raise RuntimeError(f"the sandbox did not start ({failure}); its output: {log}") from None
                failure = SandboxFailure(failure.kind, f"{str(failure).rstrip('.')} while running code cell "
                                         f"{cell + 1} of the notebook.")
                self.kill()
                self.fatal = failure
                raise failure
            if message.get("event") == "cell":
                cell = message["index"]
            elif message.get("event") == "ready":
                return message

    def _output_tail(self, size=500):
        """The end of what the student process (or the runner) printed, for the instructor's diagnosis."""
        try:
            return (self.runner.home / "output.log").read_bytes()[-size:].decode(errors="replace").strip() \
                or self.runner.log_tail(size)
        except (OSError, TypeError):
            return self.runner.log_tail(size)

    def kill(self):
        """Kill the student process and everything it started; empty the home folder."""
        if self.req_w is None:
            return
        for fd in (self.req_w, self.ans_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.req_w = self.ans_r = None
        self.runner.reset()

    def close(self):
        self.kill()

    # --- talking --------------------------------------------------------------------------

    def _read_exact(self, n, deadline):
        data = bytearray()
        while len(data) < n:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.ans_r], [], [], max(left, 0))
            if not ready:
                raise SandboxFailure("timeout", "Your code did not finish in time")
            chunk = os.read(self.ans_r, min(n - len(data), 1 << 20))
            if not chunk:
                raise self._death()
            data += chunk
        return bytes(data)

    def _read_frame(self, deadline):
        size = int.from_bytes(self._read_exact(8, deadline), "big")
        if size > self.limits.answer_bytes:
            raise SandboxFailure("protocol", f"Your code returned {size / 2**20:.0f} MiB of data, more than "
                                 f"the {self.limits.answer_bytes / 2**20:.0f} MiB limit")
        try:
            return wire.unpack(self._read_exact(size, deadline))
        except wire.WireError as err:
            raise SandboxFailure("protocol", f"The answer from your code was unreadable ({err})") from err

    def _death(self):
        """A SandboxFailure saying why the student process ended."""
        code = self.runner.exit_code()
        try:
            output = (self.runner.home / "output.log").stat().st_size
        except (OSError, TypeError):
            output = 0
        # CPython ignores SIGXFSZ: over the limit a write fails, and the process usually dies of that.
        if output >= self.limits.output_bytes:
            return SandboxFailure("output", f"Your code printed more than {self.limits.output_bytes >> 20} MiB "
                                  "of output, the limit")
        if code == -signal.SIGXCPU:
            return SandboxFailure("timeout", "Your code used more CPU time than allowed")
        if code is None or code < 0:
            return SandboxFailure("crashed", f"Your Python process was killed{f' (signal {-code})' if code else ''}: "
                                  "do not kill processes or send signals from the notebook")
        return SandboxFailure("crashed", f"Your Python process exited (status {code}); "
                              "do not call exit(), sys.exit() or os._exit() in the notebook")

    def call_batch(self, calls, timeout=None):
        """Answers (list of dicts) of ``calls``, run together in a fresh fork.

        Each answer has ``ok`` (the value), or ``raised``/``message``/``where``, or
        ``missing`` (name not defined), or ``unsendable``. Raises SandboxFailure when the
        process fails as a whole.
        """
        if self.fatal is not None:
            raise self.fatal
        if time.monotonic() - self.started_at > self.limits.submission_seconds:
            raise SandboxFailure("timeout", "Grading your submission took longer than "
                                 f"{self.limits.submission_seconds:.0f} s in all")
        if self.req_w is None:
            self.start()
        timeout = timeout or self.limits.call_seconds
        try:
            wire.write_frame(self.req_w, {"calls": calls, "timeout": timeout})
            answer = self._read_frame(time.monotonic() + timeout + 2.0)
        except BrokenPipeError:
            failure = self._death()
            self.kill()
            raise failure
        except SandboxFailure:
            self.kill()
            raise
        if answer.get("event") == "batch_failed":
            if answer.get("reason") == "timeout":
                raise SandboxFailure("timeout", f"Your code did not finish within {timeout:g} s")
            raise SandboxFailure("crashed", f"Your code ended its process ({answer.get('reason')})")
        results = answer.get("results") if answer.get("event") == "results" else None
        if not isinstance(results, list) or len(results) != len(calls):
            raise SandboxFailure("protocol", "The answer from your code was malformed")
        return results


def warn_if_not_isolated(isolation, require_isolation):
    """Refuse (require_isolation) or warn loudly when the sandbox cannot isolate."""
    if isolation == "bwrap":
        return
    message = ("NOT ISOLATED: bubblewrap is unavailable (or the grader is not root), so student code "
               "runs as a plain process with resource limits only. It can read files that everyone "
               "can read, including the reference solution. Install bubblewrap and grade as root.")
    if require_isolation:
        raise SystemExit("refusing to grade: " + message)
    warnings.warn(message, stacklevel=2)

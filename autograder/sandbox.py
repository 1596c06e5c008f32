"""The student's process: isolated, limited, killed with all its children when done.

Isolation, strongest first:
- ``bwrap``: bubblewrap namespaces (no network, own PIDs, IPC and hostname), a file
  system holding only the Python install and a scratch folder, then ``setpriv`` drops
  to an unprivileged uid with no capabilities. Needs bubblewrap and root.
- ``none``: a plain child process with the same resource limits, as uid 65534 when the
  grader is root. It can read whatever files everyone can read: the grader says so
  loudly, and ``require_isolation`` refuses to grade this way.

The grader and the student process talk only in ``wire`` frames over two pipes.
"""
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from autograder import wire

HERE = Path(__file__).resolve().parent
# Each grader process gives its sandboxes a uid of their own, so that the process limit
# (counted per uid) of one grader's student cannot starve another grader's.
SANDBOX_UID_BASE = 100000
SCRATCH_IN_SANDBOX = "/sandbox"


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
    """The unprivileged uid this grader process runs its students as."""
    return SANDBOX_UID_BASE + os.getpid()


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


def bwrap_command(scratch, python, inner):
    """bubblewrap command line that runs ``inner`` with only Python and scratch visible."""
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
    cmd += ["--bind", str(scratch), SCRATCH_IN_SANDBOX, "--chdir", SCRATCH_IN_SANDBOX, "--clearenv"]
    for key, value in scrubbed_environment().items():
        cmd += ["--setenv", key, value]
    uid = sandbox_uid()
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    return cmd + ["--"] + drop + ["--"] + inner


def scrubbed_environment():
    """The only environment the student process gets."""
    return {"PATH": "/usr/bin:/bin", "HOME": SCRATCH_IN_SANDBOX, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


class Sandbox:
    """One running student process holding a submission's code, ready for calls.

    Use as a context manager; ``call_batch`` sends calls and returns their answers.
    After a timeout or crash the process is killed and restarted on the next batch.
    """

    def __init__(self, cells, limits=Limits(), isolation=None):
        self.cells = list(cells)
        self.limits = limits
        self.isolation = isolation or isolation_available()
        self.started_at = time.monotonic()
        self.process = None
        self.scratch = None
        self.startup = None  # dict: cell_errors, defined (after a successful start)
        self.fatal = None  # SandboxFailure that makes restarting pointless

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- process life -------------------------------------------------------------------

    def start(self):
        """Run the notebook's cells in a new student process; fills ``startup``."""
        self._remove_scratch()  # a restart starts from a clean folder
        self.scratch = Path(tempfile.mkdtemp(prefix="nnkit-sandbox-"))
        for name in ("student_runner.py", "wire.py"):
            shutil.copy(HERE / name, self.scratch / name)
        (self.scratch / "submission.json").write_text(json.dumps(self.cells))
        output = open(self.scratch / "output.log", "wb")
        if os.geteuid() == 0:
            for path in [self.scratch, *self.scratch.iterdir()]:
                os.chown(path, sandbox_uid(), sandbox_uid())
        req_r, self.req_w = os.pipe()
        self.ans_r, ans_w = os.pipe()
        runner_dir = SCRATCH_IN_SANDBOX if self.isolation == "bwrap" else str(self.scratch)
        inner = [sys.executable, "-I", "-B", f"{runner_dir}/student_runner.py", str(req_r), str(ans_w)]
        cmd = bwrap_command(self.scratch, sys.executable, inner) if self.isolation == "bwrap" else inner
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=output, stderr=output, pass_fds=(req_r, ans_w),
            cwd=self.scratch, env=scrubbed_environment() if self.isolation != "bwrap" else {},
            start_new_session=True, preexec_fn=self._limit_child)
        os.close(req_r)
        os.close(ans_w)
        output.close()
        self.startup = self._await_ready()

    def _limit_child(self):
        """Runs in the child before exec: resource limits, and in 'none' mode, drop root."""
        lim = self.limits
        for which, value in ((resource.RLIMIT_CPU, lim.cpu_seconds), (resource.RLIMIT_AS, lim.memory_bytes),
                             (resource.RLIMIT_FSIZE, lim.output_bytes), (resource.RLIMIT_NOFILE, lim.open_files),
                             (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, lim.processes)):
            resource.setrlimit(which, (value, value))
        if self.isolation != "bwrap" and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(sandbox_uid())
            os.setuid(sandbox_uid())

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
        """The end of what the student process printed, for the instructor's diagnosis."""
        try:
            return (self.scratch / "output.log").read_bytes()[-size:].decode(errors="replace").strip() or "(none)"
        except OSError:
            return "(none)"

    def kill(self):
        """Kill the student process and everything it started."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        for fd in (self.req_w, self.ans_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process = None

    def close(self):
        self.kill()
        self._remove_scratch()

    def _remove_scratch(self):
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

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
        code = self.process.wait()
        if self.isolation == "bwrap" and code > 128:
            code = 128 - code  # bwrap exits 128 + N when its child died of signal N
        output = (self.scratch / "output.log").stat().st_size if self.scratch else 0
        # CPython ignores SIGXFSZ: over the limit a write fails, and the process usually dies of that.
        if output >= self.limits.output_bytes:
            return SandboxFailure("output", f"Your code printed more than {self.limits.output_bytes >> 20} MiB "
                                  "of output, the limit")
        if code == -signal.SIGXCPU:
            return SandboxFailure("timeout", "Your code used more CPU time than allowed")
        if code < 0:
            return SandboxFailure("crashed", f"Your Python process was killed (signal {-code}): "
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
        if self.process is None:
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

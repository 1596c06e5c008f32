"""The student's process of one submission: isolated, limited, killed with all its children when done.

Isolation, strongest first:
- ``bwrap``: bubblewrap namespaces (no network, own PIDs, IPC and hostname), a file
  system holding only the Python install, the runner and a home folder, then ``setpriv``
  drops to an unprivileged uid with no capabilities. Needs bubblewrap and root.
- ``none``: a plain child process with the same resource limits, as the sandbox uid when
  the grader is root.

Either way the sandbox's memory, processes and disk are budgets of the whole sandbox where
the machine allows (one cgroup, one tmpfs: see ``Limits`` and sandbox_budget.py). It can read whatever files everyone can read: the grader says so
  loudly, and ``require_isolation`` refuses to grade this way.

The process is a fork of this grader thread's warm runner (autograder/sandbox/sandbox.py),
which has the course's modules imported. The grader and the student process talk only in
``wire`` frames over two pipes of their own.
"""
import functools
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass

from autograder.checks import stand_ins
from autograder.sandbox import wire
from autograder.sandbox.budget import CGROUP_PREFIX, Cgroup, Tmpfs
from autograder.sandbox.sandbox import SandboxLost, sandbox_of_this_thread

@dataclass(frozen=True)
class Limits:
    """Resource limits of the sandbox: of each submission, and of all its processes together.

    Memory, processes and disk are budgets of the whole sandbox (one cgroup, one tmpfs: see
    sandbox_budget.py). Where no cgroup can be made, memory is limited per process (address
    space) and processes per sandbox uid; where no tmpfs can be mounted, disk is limited per
    file only (``output_bytes``). The grader warns when it falls back (``warn_if_not_isolated``).
    """

    notebook_seconds: float = 60.0  # wall time to run the notebook's cells
    call_seconds: float = 10.0  # wall time of one call (each call of a batch has its own)
    submission_seconds: float = 180.0  # wall time of everything for one submission
    cpu_seconds: int = 120  # CPU time of each process
    memory_bytes: int = 2 << 30  # memory of the whole sandbox, no swap (without a cgroup: of each process)
    processes: int = 32  # processes of the whole sandbox, its runner included (and of its uid)
    disk_bytes: int = 256 << 20  # all the sandbox writes: its home, scratch and /tmp
    output_bytes: int = 8 << 20  # what the student may print, in all; any one file written
    answer_bytes: int = 32 << 20  # one answer frame (the returned arrays)
    open_files: int = 64


class SandboxFailure(Exception):
    """The student process failed as a whole: ``kind`` is timeout, crashed, output,
    memory or protocol; the message is a sentence for the student. ``answered``: the
    answers of a batch's calls before the one that failed (see Session.call_batch)."""

    def __init__(self, kind, message, answered=()):
        super().__init__(message)
        self.kind = kind
        self.answered = list(answered)


def isolation_available():
    """'bwrap' when bubblewrap can isolate here, else 'none'.

    AUTOGRADER_SANDBOX=none forces the unisolated fallback (to test it, or where bwrap
    misbehaves); the grader still warns, and --require-sandbox still refuses.
    """
    if os.environ.get("AUTOGRADER_SANDBOX") == "none":
        return "none"
    return "bwrap" if bubblewrap_works() else "none"


@functools.cache
def bubblewrap_works():
    """Whether bubblewrap can make namespaces here, as root: probed once per process."""
    if os.geteuid() != 0 or shutil.which("bwrap") is None or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(["bwrap", "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/", "true"],
                           capture_output=True)
    return probe.returncode == 0


class Session:
    """One submission's student process, holding its code, ready for calls.

    Use as a context manager; ``call_batch`` sends calls and returns their answers.
    After a timeout or crash the process is killed and restarted on the next batch.
    The process is a fork of this thread's warm runner (see Sandbox).
    """

    def __init__(self, cells, limits=Limits(), isolation=None, preload=()):
        self.cells = list(cells)
        self.limits = limits
        self.isolation = isolation or isolation_available()
        self.runner = sandbox_of_this_thread(self.isolation, preload, limits)
        self.started_at = time.monotonic()
        self.req_w = self.ans_r = None
        self.oom_kills = 0  # the sandbox's count of processes killed for want of memory, at the fork
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
            self.req_w, self.ans_r = self.runner.fork_submission()
        except SandboxLost:  # one more try, on a new runner
            self.req_w, self.ans_r = self.runner.fork_submission()
        self.oom_kills = self.runner.oom_kills()
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
                if message.get("event") == "ready":
                    self._check_memory()
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

    def _check_memory(self):
        """Raise a memory SandboxFailure if the kernel killed a process of this submission
        for going over the sandbox's memory budget (it may have killed only a child)."""
        if self.runner.oom_kills() > self.oom_kills:
            raise SandboxFailure("memory", f"Your code used more than the {self.limits.memory_bytes / 2**30:g} GiB "
                                 "of memory that all its processes may use together, and was stopped")

    def _read_exact(self, n, deadline):
        data = bytearray()
        oom_readable, oom_exceptional = self.runner.oom_watch()
        while len(data) < n:
            left = deadline - time.monotonic()
            ready, _, urgent = select.select([self.ans_r, *oom_readable], [], oom_exceptional, max(left, 0))
            if urgent or any(fd != self.ans_r for fd in ready):
                self._check_memory()  # the kernel killed a process for want of memory: all of it stops
                continue
            if not ready:
                self._check_memory()
                raise SandboxFailure("timeout", "Your code did not finish in time")
            chunk = os.read(self.ans_r, min(n - len(data), 1 << 20))
            if not chunk:
                raise self._death()
            data += chunk
        return bytes(data)

    def _read_frame(self, deadline):
        size = wire.frame_size(self._read_exact(wire.HEADER_BYTES, deadline))
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
            self._check_memory()
        except SandboxFailure as failure:
            return failure
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

    def call_batch(self, calls, timeout=None, stand_in=None):
        """Answers (list of dicts) of ``calls``, run one after another in a fresh fork, each
        within ``timeout`` seconds (default: the per-call limit).

        Each answer has ``ok`` (the value), or ``raised``/``message``/``where``/``function``,
        or ``missing`` (name not defined), or ``unsendable``. Raises SandboxFailure when a call
        ends or hangs the process; its ``answered`` holds the answers of the calls before it.

        A call with ``stand_ins`` needs ``stand_in(request) -> answer dict`` (e.g.
        stand_ins.reference_answer): it answers the requests of the call's stand-ins, within
        the call's time limit. A request for a name the call does not list, or a malformed
        one, is a protocol failure.
        """
        if stand_in is None and any(isinstance(call, dict) and call.get("stand_ins") for call in calls):
            raise ValueError("calls with stand_ins need a stand_in responder")
        if self.fatal is not None:
            raise self.fatal
        if time.monotonic() - self.started_at > self.limits.submission_seconds:
            raise SandboxFailure("timeout", "Grading your submission took longer than "
                                 f"{self.limits.submission_seconds:.0f} s in all")
        if self.req_w is None:
            self.start()
        timeout = timeout or self.limits.call_seconds
        answers = []
        unread_reply = False  # a stand-in's reply the process may not have read: it would be on REQUESTS
        try:
            wire.write_frame(self.req_w, {"calls": calls, "timeout": timeout})
            deadline = time.monotonic() + timeout + 2.0
            while len(answers) < len(calls):
                frame = self._read_frame(deadline)
                if not isinstance(frame, dict):
                    break
                if frame.get("event") == "stand_in":
                    unread_reply = False  # the process asks again: it read the last reply
                    self._answer_stand_in(frame, calls[len(answers)], stand_in, deadline)
                    unread_reply = True
                    continue
                if frame.get("event") != "answer" or not isinstance(frame.get("answer"), dict):
                    break
                unread_reply = False
                answers.append(frame["answer"])
                deadline = time.monotonic() + timeout + 2.0
            self._check_memory()
        except BrokenPipeError:
            failure = self._death()
            self.kill()
            raise SandboxFailure(failure.kind, str(failure), answers) from None
        except SandboxFailure as failure:
            self.kill()
            raise SandboxFailure(failure.kind, str(failure), answers) from None
        except BaseException:  # the grader's own error (a stand-in's responder, say): out of step
            self.kill()
            raise
        if len(answers) == len(calls):
            return answers
        if unread_reply:
            self.kill()  # the next batch must not start with a stand-in's reply on its request pipe
        frame = frame if isinstance(frame, dict) else {}
        if frame.get("event") == "batch_failed" and frame.get("reason") == "timeout":
            raise SandboxFailure("timeout", f"Your code did not finish within {timeout:g} s", answers)
        if frame.get("event") == "batch_failed":
            raise SandboxFailure("crashed", f"Your code ended its process ({frame.get('reason')})", answers)
        self.kill()  # out of step with the process: start afresh
        raise SandboxFailure("protocol", "The answer from your code was malformed", answers)

    def _answer_stand_in(self, request, call, stand_in, deadline):
        """Send the answer of ``stand_in`` to a stand-in's ``request`` made during ``call``,
        on the request pipe, before ``deadline``."""
        if not (isinstance(request.get("name"), str) and request["name"] in (call.get("stand_ins") or ())
                and isinstance(request.get("args"), list) and isinstance(request.get("kwargs"), dict)
                and (request.get("self") is None or isinstance(request.get("self"), dict))):
            raise SandboxFailure("protocol", "The answer from your code was malformed")
        reply = memoryview(stand_ins.reply_frame(stand_in(request), self.limits.answer_bytes))
        os.set_blocking(self.req_w, False)  # a process that does not read must not hang the grader
        try:
            while reply:
                _, writable, _ = select.select([], [self.req_w], [], max(deadline - time.monotonic(), 0))
                if not writable:
                    raise SandboxFailure("timeout", "Your code did not finish in time")
                try:
                    reply = reply[os.write(self.req_w, reply):]
                except BlockingIOError:
                    pass
        finally:
            os.set_blocking(self.req_w, True)


def warn_if_not_isolated(isolation, require_isolation):
    """Refuse (require_isolation) or warn loudly when the sandbox cannot isolate; warn when
    its memory or disk cannot be budgeted as a whole."""
    if isolation != "bwrap":
        message = ("NOT ISOLATED: bubblewrap is unavailable (or the grader is not root), so student code "
                   "runs as a plain process with resource limits only. It can read files that everyone "
                   "can read, including the reference solution. Install bubblewrap and grade as root.")
        if require_isolation:
            raise SystemExit("refusing to grade: " + message)
        warnings.warn(message, stacklevel=2)
    missing = budgets_missing()
    if missing:
        warnings.warn(f"NO SANDBOX BUDGET: {missing}. Grade as root on a machine with cgroups and tmpfs.",
                      stacklevel=2)


@functools.cache
def budgets_missing():
    """Why the sandbox's memory and processes (one cgroup) or its disk (one tmpfs) cannot be
    limited as a whole here, with what holds instead; "" when both can. Probed once per process."""
    probe = f"{CGROUP_PREFIX}{os.getpid()}-probe"
    reasons = []
    cgroup = Cgroup.make(probe, Limits.memory_bytes, Limits.processes)
    if cgroup is None:
        reasons.append(f"{Cgroup.unavailable}, so memory is limited per process and processes per uid")
    else:
        cgroup.remove()
    with tempfile.TemporaryDirectory() as folder:
        tmpfs = Tmpfs.make(folder, 1 << 20)
        if tmpfs is None:
            reasons.append(f"{Tmpfs.unavailable}, so disk is limited per file only "
                           f"({Limits.output_bytes >> 20} MiB each)")
        else:
            tmpfs.remove()
    return "; ".join(reasons)

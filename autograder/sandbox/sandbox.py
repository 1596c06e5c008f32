"""The sandbox: one warm, isolated Python per grader thread, which forks each submission.

It starts once, imports what the assignment's graded code imports (numpy; the plotting
libraries are lazy, see autograder/notebook/lazy_imports.py), and then serves submissions: each is a fork of it
(a few ms), run by ``inside/submission.py``. ``Session`` (autograder/sandbox/session.py) asks for a
submission process and talks to it; this module only starts, forks, resets and stops.

Isolation (``bwrap``): bubblewrap namespaces (no network, own PIDs, IPC and hostname), a
file system holding only the Python install, the runner (read-only at /runner), a home
folder (/sandbox) and /tmp, then ``setpriv`` drops to an unprivileged uid with no
capabilities. Without bubblewrap (``none``), a plain child process, as that uid when the
grader is root.

Budgets (budget.py): the runner and everything it forks share one cgroup (memory
and processes) and one tmpfs (the home and /tmp). Where neither can be made, each process
keeps its own limits instead (``process_limits``).
"""
import atexit
import functools
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
from pathlib import Path

from autograder.sandbox.budget import CGROUP_PREFIX, Cgroup, Tmpfs, remove_orphaned_cgroups, unmount

HERE = Path(__file__).resolve().parent
# The programs inside the sandbox (inside/) and the wire format they speak, copied into its /runner.
INSIDE_PROGRAMS = (HERE / "wire.py", *(HERE / "inside" / f"{name}.py"
                                       for name in ("calls", "ipython_shell", "submission", "warm_server")))
# Each grader thread gives its sandboxes a uid of their own, so that the process limit
# (counted per uid) of one grader's student cannot starve another grader's.
SANDBOX_UID_BASE = 100000
SCRATCH_IN_SANDBOX = "/sandbox"
RUNNER_IN_SANDBOX = "/runner"
FOLDER_PREFIX = "nnkit-sandbox-"  # then the grader's pid: /tmp/nnkit-sandbox-<pid>-<random>
RUNNER_START_SECONDS = 60.0  # importing the course's modules, once per grader thread
RUNNER_REPLY_SECONDS = 5.0  # the warm runner answers at once, or it is replaced
_CGROUPS_MADE = iter(range(1 << 62))  # a new name for every runner's cgroup


def process_limits(limits, cgroup):
    """{RLIMIT_ name: value} of every process of a sandbox with ``limits`` (sandbox.Limits).

    Memory is the cgroup's, for the whole sandbox; only without one is it limited per
    process (address space). CPU time is a submission's own: see ``submission_limits``.
    """
    rlimits = {"RLIMIT_NOFILE": limits.open_files, "RLIMIT_CORE": 0, "RLIMIT_NPROC": limits.processes,
               "RLIMIT_FSIZE": limits.output_bytes}
    if cgroup is None:
        rlimits["RLIMIT_AS"] = limits.memory_bytes
    return rlimits


def sandbox_uid():
    """The unprivileged uid this grader thread runs its students as (its thread id is its pid
    in a single-threaded process)."""
    return SANDBOX_UID_BASE + threading.get_native_id()


def ancestors(path):
    """/a/b/c -> ['/a', '/a/b']: the folders bwrap must create before binding path."""
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def bwrap_command(folder, python, inner):
    """bubblewrap command line that runs ``inner`` seeing only Python, the runner and a home.

    ``folder`` holds ``runner/`` (read-only at /runner) and ``space/`` (the sandbox's tmpfs),
    which holds ``home/`` (the writable /sandbox) and ``tmp/`` (its /tmp).
    """
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
           "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    for system_dir in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.isdir(system_dir) and not os.path.islink(system_dir):
            cmd += ["--ro-bind", system_dir, system_dir]
        elif os.path.islink(system_dir):
            cmd += ["--symlink", os.readlink(system_dir), system_dir]
    # /tmp first: the Python install may live below it, and must be bound on top of it.
    cmd += ["--proc", "/proc", "--dev", "/dev", "--bind", str(Path(folder) / "space" / "tmp"), "/tmp"]
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
            "--bind", str(Path(folder) / "space" / "home"), SCRATCH_IN_SANDBOX, "--chdir", SCRATCH_IN_SANDBOX, "--clearenv"]
    for key, value in scrubbed_environment().items():
        cmd += ["--setenv", key, value]
    uid = sandbox_uid()
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    return cmd + ["--"] + drop + ["--"] + inner


def python_folders_in_tmp(python):
    """The top-level entries of /tmp that hold the Python install (bwrap binds it there, read-only):
    emptying the sandbox's /tmp leaves them."""
    prefixes = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(python))}
    return {Path(p).parts[2] for p in prefixes if len(Path(p).parts) > 2 and Path(p).parts[1] == "tmp"}


def scrubbed_environment(tmp="/tmp", home=SCRATCH_IN_SANDBOX):
    """The only environment the student process gets (PYTHONHASHSEED=0: the same set and dict
    order of strings for every submission, in every worker)."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": tmp, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


class SandboxLost(Exception):
    """The warm runner did not answer as it should; it has been stopped."""


class Sandbox:
    """A sandboxed process with the course's modules already imported, that forks one
    process per submission: the fixed cost of a submission is a fork, not a Python start.

    Every process it runs has the sandbox uid of this grader thread, inside one bubblewrap
    namespace, one cgroup and one tmpfs (its budgets, from ``limits``: a sandbox.Limits).
    The runner itself is not dumpable, so submissions cannot read or trace it.
    Between submissions ``reset`` kills every process they left and empties the home
    folder and /tmp, so nothing of one student reaches the next. If anything goes wrong the
    whole namespace is killed and the next submission gets a new runner.
    """

    def __init__(self, isolation, preload, limits):
        self.isolation, self.preload, self.limits = isolation, tuple(preload), limits
        self.process = self.control = self.folder = self.cgroup = self.tmpfs = None

    @property
    def home(self):
        return self.folder / "space" / "home"

    @property
    def tmp(self):
        return self.folder / "space" / "tmp"

    def oom_kills(self):
        """Processes of this sandbox killed for want of memory, so far (0 without a cgroup)."""
        return self.cgroup.oom_kills() if self.cgroup else 0

    def oom_watch(self):
        """([readable], [exceptional]) file descriptors that select() reports on such a kill."""
        return self.cgroup.oom_watch if self.cgroup else ([], [])

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def start(self):
        """Start the runner and wait until its imports are done; RuntimeError if it cannot."""
        self.stop()
        uid = sandbox_uid()
        remove_orphaned_folders()
        remove_orphaned_cgroups()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        (self.folder / "runner").mkdir(mode=0o755)
        for path in INSIDE_PROGRAMS:  # readable by the sandbox uid, whatever the kit's modes
            (self.folder / "runner" / path.name).write_bytes(path.read_bytes())
            (self.folder / "runner" / path.name).chmod(0o644)
        (self.folder / "space").mkdir(mode=0o755)
        self.tmpfs = Tmpfs.make(self.folder / "space", self.limits.disk_bytes)
        self.home.mkdir(mode=0o700)
        self.tmp.mkdir()
        self.tmp.chmod(0o1777)
        if os.geteuid() == 0:
            os.chown(self.home, uid, uid)
            os.chmod(self.folder, 0o755)
        self.cgroup = Cgroup.make(f"{CGROUP_PREFIX}{os.getpid()}-{threading.get_native_id()}-{next(_CGROUPS_MADE)}",
                                  self.limits.memory_bytes, self.limits.processes)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        isolated = self.isolation == "bwrap"
        runner = (RUNNER_IN_SANDBOX if isolated else str(self.folder / "runner")) + "/warm_server.py"
        # -s -P: no user site, no script folder on the path; not -I, which would ignore the
        # environment above (it is wholly ours: bwrap --clearenv, or env= below)
        inner = [sys.executable, "-s", "-P", "-B", runner, "serve", str(theirs.fileno()), json.dumps(self.preload),
                 "1" if isolated else "0"]
        with open(self.folder / "runner.log", "wb") as log:
            self.process = subprocess.Popen(
                bwrap_command(self.folder, sys.executable, inner) if isolated else inner,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(theirs.fileno(),), cwd=self.home,
                env={} if isolated else scrubbed_environment(str(self.tmp), str(self.home)), start_new_session=True,
                preexec_fn=functools.partial(self._limit_runner, uid))  # this thread's uid, not the child's
        theirs.close()
        try:
            if self.request(None, timeout=RUNNER_START_SECONDS).get("event") != "warm":
                raise SandboxLost()
        except SandboxLost:
            log = self.log_tail()
            self.stop()
            raise RuntimeError(f"the sandbox did not start; its output: {log}") from None

    def _limit_runner(self, uid):
        """Runs in the child before exec: join the cgroup, set the sandbox's limits on the
        runner (so on all it forks), and in 'none' mode, drop root to ``uid``, the grader
        thread's (sandbox_uid() here would be the child's own: its thread id is its pid)."""
        if self.cgroup is not None:
            self.cgroup.join()
        for name, value in process_limits(self.limits, self.cgroup).items():
            resource.setrlimit(getattr(resource, name), (value, value))
        if self.isolation != "bwrap" and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    def log_tail(self, size=500):
        """The end of what the runner printed, for the instructor's diagnosis."""
        try:
            return (self.folder / "runner.log").read_bytes()[-size:].decode(errors="replace").strip() or "(none)"
        except (OSError, TypeError):
            return "(none)"

    def request(self, message, fds=(), timeout=RUNNER_REPLY_SECONDS):
        """Send ``message`` (None: only listen) and return the runner's reply; SandboxLost if none comes."""
        try:
            if message is not None:
                socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
            ready, _, _ = select.select([self.control], [], [], timeout)
            data = self.control.recv(1 << 16) if ready else b""
            return json.loads(data)
        except (OSError, ValueError, AttributeError):
            self.stop()
            raise SandboxLost() from None

    def fork_submission(self):
        """A new submission process, within the runner's limits and its own CPU time: (request
        fd, answer fd) to talk to it."""
        if not self.alive():
            self.start()
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        limits = {**process_limits(self.limits, self.cgroup), "RLIMIT_CPU": self.limits.cpu_seconds}
        try:
            self.request({"op": "start", "limits": limits}, fds=(req_r, ans_w))
        except SandboxLost:
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
        except SandboxLost:
            return None

    def reset(self):
        """Kill everything the submissions left and empty the home folder and /tmp; stop the
        runner if it cannot."""
        if not self.alive():
            return self.stop()
        try:
            clean = self.request({"op": "reset"}).get("event") == "clean"
        except SandboxLost:
            clean = False
        if not clean:
            return self.stop()
        keep = python_folders_in_tmp(sys.executable)  # mount points of the sandbox's Python
        entries = [*self.home.iterdir(), *(e for e in self.tmp.iterdir() if e.name not in keep)]
        for entry in entries:  # no submission process is left to race with this
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def stop(self):
        """Kill the runner's whole namespace, remove its cgroup, unmount its tmpfs and remove its folder."""
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
        if self.cgroup is not None:  # kills what the namespace's end has not killed yet
            self.cgroup.remove()
            self.cgroup = None
        if self.tmpfs is not None:
            self.tmpfs.remove()
            self.tmpfs = None
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
            unmount(folder / "space")
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


_RUNNERS = {}  # thread id -> the Sandbox of that thread of this process
_RUNNERS_LOCK = threading.Lock()


def sandbox_of_this_thread(isolation, preload, limits):
    """The warm runner of the calling thread, for this isolation, these modules and these
    ``limits`` (a sandbox.Limits).

    A thread keeps one runner: asking for other modules or limits replaces it (a batch
    grades one assignment after another, so this is rare, and memory stays that of one runner).
    """
    thread = threading.get_native_id()
    with _RUNNERS_LOCK:
        if not _RUNNERS:
            atexit.register(stop_sandboxes)
            multiprocessing.util.Finalize(None, stop_sandboxes, exitpriority=10)
        runner = _RUNNERS.get(thread)
        if runner is not None and (runner.isolation, runner.preload, runner.limits) != (isolation, tuple(preload),
                                                                                          limits):
            runner.stop()
            runner = None
        if runner is None:
            runner = _RUNNERS[thread] = Sandbox(isolation, preload, limits)
        return runner


def current_sandbox():
    """The calling thread's warm runner, or None."""
    return _RUNNERS.get(threading.get_native_id())


def stop_sandboxes():
    """Stop every warm runner of this process (at exit, or when a test wants a clean slate)."""
    with _RUNNERS_LOCK:
        runners = list(_RUNNERS.values())
        _RUNNERS.clear()
    for runner in runners:
        runner.stop()


def _forget_parent_sandboxes():
    """In a forked child: the parent's runners are not ours to use or stop."""
    for runner in _RUNNERS.values():
        if runner.control is not None:
            runner.control.close()
    _RUNNERS.clear()


os.register_at_fork(after_in_child=_forget_parent_sandboxes)

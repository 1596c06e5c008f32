"""The warm server: the sandbox's first process. It imports the course's modules once, then
forks one submission process per submission (submission.py) and cleans up after each.

Usage: warm_server.py serve CONTROL_FD PRELOAD_JSON OWN_NAMESPACE.
"""
import gc
import importlib
import json
import os
import select
import signal
import sys
import time

if __package__:  # imported by the grader (autograder.integrations.in_kernel runs calls the same way)
    from autograder.sandbox.inside.submission import become_submission, set_dumpable
else:  # a script in the sandbox, beside its copies of wire.py, calls.py and submission.py; -P leaves that folder off the path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from submission import become_submission, set_dumpable  # noqa: E402


def live_processes():
    """PIDs of the other live (non-zombie) processes this process can see, but init."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, os.getpid()):
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            found.append(int(entry))
    return found


def reap(statuses):
    """Collect ended children into ``statuses`` {pid: exit code, negative for a signal}."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def kill_submissions(children, own_namespace, statuses):
    """Kill every process the submissions left: in our own PID namespace that is everything
    but this runner and init; without one, each submission's process group."""
    deadline = time.monotonic() + 1.0  # killed processes are gone in a few ms, while a grader waits
    while True:
        if own_namespace:
            try:
                os.kill(-1, signal.SIGKILL)  # Linux spares the caller (and init)
            except ProcessLookupError:
                pass
        else:
            for pid in children:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        reap(statuses)
        left = live_processes() if own_namespace else [p for p in children if p not in statuses]
        if not left:
            return True
        if time.monotonic() > deadline:
            return False
        wait_until_one_ends(left, 0.01)


def wait_until_one_ends(pids, seconds):
    """Sleep until one of the processes ``pids`` ends (a pidfd turns readable), at most ``seconds``."""
    fds = []
    for pid in pids:
        try:
            fds.append(os.pidfd_open(pid))
        except OSError:  # gone already
            return
    try:
        select.select(fds, [], [], seconds)
    finally:
        for fd in fds:
            os.close(fd)


def wait_for(pid, statuses, seconds):
    """Exit code of child ``pid`` once it ends, or None if it still runs after ``seconds``."""
    deadline = time.monotonic() + seconds
    while pid not in statuses and time.monotonic() < deadline:
        reap(statuses)
        if pid not in statuses:
            wait_until_one_ends([pid], max(0.0, deadline - time.monotonic()))
    return statuses.get(pid)


def serve(control_fd, preload, own_namespace):
    """The warm runner: import ``preload`` once, then fork one process per submission.

    Requests come on a SOCK_SEQPACKET socket, one JSON message each:
    - {"op": "start", "limits": {...}} with two file descriptors (requests, answers):
      fork a submission process on them; answers {"event": "started"}.
    - {"op": "wait", "seconds": s}: the exit code of the last submission process.
    - {"op": "reset"}: kill everything the submissions left; answers {"event": "clean"}.
    """
    import socket

    if "numpy" in preload:  # every submission seeds numpy.random, which numpy does not import itself
        preload = [*preload, "numpy.random"]
    for module in preload:
        try:
            importlib.import_module(module)
        except Exception:  # a module that does not import is the notebook's problem, not ours
            pass
    set_dumpable(False)  # submissions run as our uid: they must not read or trace this process
    gc.freeze()  # a fork's garbage collector then leaves these objects (and their pages) alone
    control = socket.socket(fileno=control_fd)
    children, statuses, last = [], {}, None

    def reply(message):
        control.send(json.dumps(message).encode())

    reply({"event": "warm", "modules": sorted(sys.modules)})
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 2)
        except OSError:
            return
        if not data:
            return  # the grader closed its end
        message = json.loads(data)
        if message["op"] == "start":
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    become_submission(fds[0], fds[1], control, message["limits"])
                finally:
                    os._exit(0)
            for fd in fds:
                os.close(fd)
            children.append(pid)
            last = pid
            reply({"event": "started"})
        elif message["op"] == "wait":
            reply({"event": "ended", "code": wait_for(last, statuses, message["seconds"])})
        elif message["op"] == "reset":
            clean = kill_submissions(children, own_namespace, statuses)
            children, statuses = [], {}
            reply({"event": "clean" if clean else "unclean"})


def main():
    """runner.py serve CONTROL_FD PRELOAD_JSON OWN_NAMESPACE"""
    _, control_fd, preload, own_namespace = sys.argv[1:5]
    serve(int(control_fd), json.loads(preload), own_namespace == "1")


if __name__ == "__main__":
    main()

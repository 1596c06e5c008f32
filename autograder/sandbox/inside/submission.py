"""One submission's process, forked by the warm server: it runs the notebook's code cells,
then answers the grader's batches of calls.

Each batch of calls runs in a fresh fork of the post-notebook state, so nothing a call changes
(globals, patched modules, stashed arguments) reaches the next batch; its answers come one frame
per call, so a call that hangs or crashes loses only its own answer and the ones after it. The
grader trusts none of this: it reads only values in the ``wire`` format, and enforces every
limit itself.
"""
import builtins
import functools
import gc
import importlib
import linecache
import os
import select
import signal
import sys
import time
import types

if __package__:  # imported by the grader (autograder.integrations.in_kernel runs calls the same way)
    from autograder.sandbox import wire
    from autograder.sandbox.inside.calls import error_summary, run_call
    from autograder.sandbox.inside.ipython_shell import ZMQInteractiveShell
else:  # a script in the sandbox, beside its wire.py, calls.py, ipython_shell.py; -P leaves that folder off the path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire  # noqa: E402
    from calls import error_summary, run_call  # noqa: E402
    from ipython_shell import ZMQInteractiveShell  # noqa: E402

REQUESTS, ANSWERS = None, None  # file descriptors of the submission being served
RANDOM_STATE = None  # the random module's state after the notebook ran (a fork reseeds it)
STAND_IN_REQUESTS = None  # in a batch fork whose calls have stand-ins: the pipe their requests go out on
EXITING = []  # pids of batch forks that answered and are still being torn down


class LazyModule(types.ModuleType):
    """What ``name = __lazy_module__(module, name, top)`` binds (see autograder/notebook/lazy_imports.py):
    the module is imported at its first attribute access, and then takes the name's place.
    ``top``: the name stands for the module's top-level package (``import a.b`` binds ``a``)."""

    def __init__(self, namespace, module, name, top):
        super().__init__(module)
        self.__dict__["_lazy"] = (namespace, module, name, top)

    def _load(self):
        namespace, module, name, top = self.__dict__["_lazy"]
        importlib.import_module(module)
        loaded = sys.modules[module.partition(".")[0] if top else module]
        if namespace.get(name) is self:
            namespace[name] = loaded
        return loaded

    def __getattr__(self, attribute):
        return getattr(self._load(), attribute)

    def __setattr__(self, attribute, value):
        setattr(self._load(), attribute, value)

    def __dir__(self):
        return dir(self._load())


def read_request():
    """The next request from the grader, or None when it closed the pipe."""
    return wire.read_frame(REQUESTS)


def ask_the_grader(request):
    """The grader's reply to the stand-in request ``request`` (frame bytes): sent on the batch's
    stand-in pipe, answered on REQUESTS, which no one else reads while a batch runs."""
    wire.write_all(STAND_IN_REQUESTS, request)
    reply = wire.read_frame(REQUESTS)
    if reply is None:  # the grader is gone
        os._exit(0)
    return reply


def run_cells(cells, namespace):
    """Execute each cell like Jupyter does: an error is recorded and the next cell runs."""
    errors = []
    for index, source in enumerate(cells):
        wire.write_frame(ANSWERS, {"event": "cell", "index": index})
        name = f"<cell {index}>"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # for error lines
        try:
            exec(compile(source, name, "exec"), namespace)
        except BaseException as err:  # SystemExit too: a cell may not end the grading
            errors.append({"cell": index, **error_summary(err)})
    return errors


def run_batch(namespace, calls, timeout):
    """Run ``calls`` one after another in a forked child, each within ``timeout`` seconds.

    The child writes one answer frame per call; each is relayed as soon as it is whole, so
    the grader keeps every answer given before a call hangs or crashes the child. Then a
    ``batch_failed`` frame says how the child failed.

    When calls have stand-ins, the child sends their requests on a second pipe; they are
    relayed whole, not counted as answers, after every answer the child wrote before them
    (the answer pipe is drained first: an answer frame is all written before the child can
    make its next call), and the grader's reply comes to the child on REQUESTS.
    """
    global STAND_IN_REQUESTS
    while EXITING:  # the forks of earlier batches, which answered and are exiting
        os.waitpid(EXITING.pop(), 0)
    read_end, write_end = os.pipe()
    ask_end = asked_end = None
    if any(isinstance(call, dict) and call.get("stand_ins") for call in calls):
        ask_end, asked_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        if ask_end is not None:
            os.close(ask_end)
            STAND_IN_REQUESTS = asked_end
        if RANDOM_STATE is not None:  # Python reseeds `random` in every fork: give back the notebook's state
            import random

            random.setstate(RANDOM_STATE)
        for call in calls:
            wire.write_frame(write_end, {"event": "answer", "answer": run_call(namespace, call, ask_the_grader)})
        os.close(write_end)  # the answers are complete now, not when this process is torn down
        os._exit(0)
    os.close(write_end)
    watched = [read_end]
    if ask_end is not None:
        os.close(asked_end)
        watched.append(ask_end)
    data, asks, relayed, deadline_hit = bytearray(), bytearray(), 0, False
    deadline = time.monotonic() + timeout  # for the call being run, its stand-ins' answers included
    while relayed < len(calls):
        ready, _, _ = select.select(watched, [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            deadline_hit = True
            break
        if read_end not in ready:  # a stand-in request, and every answer before it relayed
            chunk = os.read(ask_end, 1 << 20)
            if not chunk:
                watched.remove(ask_end)
                continue
            asks += chunk
            while (size := wire.frame_end(asks)) is not None:
                wire.write_all(ANSWERS, bytes(asks[:size]))
                del asks[:size]
            continue
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        data += chunk
        while relayed < len(calls):
            size = wire.frame_end(data)
            if size is None:
                break
            os.write(ANSWERS, bytes(data[:size]))  # a whole frame: pass it on
            del data[:size]
            relayed += 1
            deadline = time.monotonic() + timeout
    os.close(read_end)
    if ask_end is not None:
        os.close(ask_end)
    if relayed == len(calls):
        if data or asks:  # more than its answers: nothing more is read from it
            os.kill(pid, signal.SIGKILL)
        EXITING.append(pid)  # it may still be exiting: reaped before the next batch, not waited for now
        return
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if deadline_hit:
        return wire.write_frame(ANSWERS, {"event": "batch_failed", "reason": "timeout"})
    reason = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
    wire.write_frame(ANSWERS, {"event": "batch_failed", "reason": reason})


def set_dumpable(flag):
    """prctl(PR_SET_DUMPABLE): a process that is not dumpable cannot be ptraced or have its
    memory read through /proc by other processes of the same uid."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(4, int(flag), 0, 0, 0)  # PR_SET_DUMPABLE


def set_limits(limits):
    """Set this process's resource limits to ``limits`` {name: value}. The runner was started
    with the same sandbox limits (autograder/sandbox/sandbox.py, process_limits), so none is above its hard limit."""
    import resource

    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def volunteer_for_the_oom_killer():
    """When the sandbox's memory runs out, the kernel kills a submission's process (the
    biggest), never the warm runner: every process of a submission has the highest
    oom_score_adj (raising it needs no privilege), and its children inherit it."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def become_submission(request_fd, answer_fd, control, limits):
    """In a fresh fork of the warm runner: become one submission's process and serve it.

    Its own session, its own output file, the submission's limits, and the same random
    seeds for every submission, so a grade never depends on which worker ran it.
    """
    global REQUESTS, ANSWERS, RANDOM_STATE
    control.close()
    os.setsid()
    set_dumpable(True)
    volunteer_for_the_oom_killer()
    output = os.open("output.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    set_limits(limits)
    import random

    random.seed(0)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(0)
    REQUESTS, ANSWERS = request_fd, answer_fd
    cells = read_request()["cells"]
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    namespace["__lazy_module__"] = functools.partial(LazyModule, namespace)
    namespace["get_ipython"] = ZMQInteractiveShell(namespace).get_ipython  # what the notebook's magics call
    errors = run_cells(cells, namespace)
    defined = sorted(k for k in namespace if not k.startswith("__"))
    RANDOM_STATE = random.getstate()
    gc.freeze()  # each batch's fork starts from this state: keep its collector off these pages
    wire.write_frame(ANSWERS, {"event": "ready", "cell_errors": errors, "defined": defined})
    while True:
        request = read_request()
        if request is None:
            return
        run_batch(namespace, request["calls"], request["timeout"])

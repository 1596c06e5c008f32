"""The program that runs inside the sandbox, as the student's process.

It runs the submission's code cells, then answers the grader's calls. Each batch of calls
runs in a fresh fork of the post-notebook state, so nothing a call changes (globals,
patched modules, stashed arguments) reaches the next batch; its answers come one frame per
call, so a call that hangs or crashes loses only its own answer and the ones after it. The
grader trusts none of this: it reads only values in the ``wire`` format, and enforces every
limit itself.

It starts warm: ``serve`` imports the course's modules once, then forks one process per
submission (see ``serve``), which runs the cells and answers that submission's batches.

A call may carry stand-ins (``"stand_ins": ["logistic"]``): for that call, those graded names
are rebound to functions that ask the grader, which answers with the course's reference
solution (see ``stand_ins_installed``), so a caller is judged on its own code, never on the
bugs of the graded functions it calls.

Usage: runner.py serve CONTROL_FD PRELOAD_JSON OWN_NAMESPACE.
"""
import builtins
import contextlib
import functools
import gc
import importlib
import json
import linecache
import os
import select
import signal
import sys
import time
import traceback
import types

if __package__:  # imported by the grader (autograder.in_kernel runs calls the same way)
    from autograder import wire
else:  # a script in the sandbox, beside its copy of wire.py; -P leaves that folder off the path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire  # noqa: E402

REQUESTS, ANSWERS = None, None  # file descriptors of the submission being served
RANDOM_STATE = None  # the random module's state after the notebook ran (a fork reseeds it)
STAND_IN_REQUESTS = None  # in a batch fork whose calls have stand-ins: the pipe their requests go out on
EXITING = []  # pids of batch forks that answered and are still being torn down


class LazyModule(types.ModuleType):
    """What ``name = __lazy_module__(module, name, top)`` binds (see autograder/lazy_imports.py):
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


def error_summary(err):
    """Exception type, message, the line in the student's cell where it was raised, and the
    innermost function of the student's it was raised in (``function``: "logistic",
    "LinearUpdate.backward"; "" at a cell's top level). A stand-in that could not answer
    adds its graded name (``stand_in``)."""
    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.startswith("<cell"):
            where = f"{frame.filename[1:-1]}, line {frame.lineno}: {(frame.line or '').strip()}"
            break
    function, tb = "", err.__traceback__
    while tb is not None:  # outermost first: the last frame of a cell is the innermost
        code = tb.tb_frame.f_code
        if code.co_filename.startswith("<cell"):
            function = "" if code.co_name == "<module>" else code.co_qualname
        tb = tb.tb_next
    summary = {"raised": type(err).__name__, "message": str(err)[:500], "where": where, "function": function}
    if isinstance(err, StandInFailed):
        summary["stand_in"] = err.name
    return summary


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


def build_object(namespace, spec):
    """An instance of spec["class"] built with spec["init"], then spec["set"] attributes."""
    obj = namespace[spec["class"]](*spec.get("init", []))
    for path, value in spec.get("set", {}).items():
        *parents, attr = path.split(".")
        holder = obj
        for name in parents:
            holder = getattr(holder, name)
        setattr(holder, attr, value)
    return obj


def attribute(obj, path):
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


def resolve(namespace, call):
    """The callable a call names: a function, or a method of a freshly built object."""
    target = call["target"]
    if "." not in target:
        return namespace[target]
    class_name, method = target.split(".", 1)
    obj = build_object(namespace, {"class": class_name, "init": call.get("init", []), "set": call.get("set", {})})
    return getattr(obj, method)


def numpy_errors(settings):
    """np.errstate(**settings), e.g. overflow as an error; a no-op context when None."""
    import contextlib

    return wire.np.errstate(**settings) if settings else contextlib.nullcontext()


class StandInFailed(Exception):
    """Raised in the student's code by a stand-in whose reference could not compute an answer
    for what it was given (wrong shapes, say): the caller failed, not the graded name."""

    def __init__(self, name, reason):
        super().__init__(f"the course's version of `{name}`, which this code calls, could not compute "
                         f"its answer for the arguments given ({reason})")
        self.name = name


def is_number(value):
    """A value the stand-ins send as an object's state: a number, or an array of numbers."""
    if isinstance(value, (bool, int, float, wire.np.integer, wire.np.floating, wire.np.bool_)):
        return True
    return isinstance(value, wire.np.ndarray) and value.dtype.kind in wire.NUMBER_KINDS


def object_state(obj, module, seen=()):
    """{"class": name, "attributes": {...}}: the numbers and arrays among ``obj``'s attributes,
    and, as states of their own, the objects of the notebook's classes (``module`` is the
    notebook's ``__name__``) it holds. Anything else is left out."""
    seen = (*seen, id(obj))
    attributes = {}
    try:
        items = list(vars(obj).items())
    except Exception:  # no __dict__ (or a strange one)
        items = []
    for name, value in items:
        if is_number(value):
            attributes[str(name)] = value
        elif (type(value).__module__ == module and not isinstance(value, (type, types.ModuleType))
              and hasattr(value, "__dict__")
              and id(value) not in seen and len(seen) < 16):
            attributes[str(name)] = object_state(value, module, seen)
    return {"class": type(obj).__name__, "attributes": attributes}


def ask_the_grader(request):
    """The grader's reply to the stand-in request ``request`` (frame bytes): sent on the batch's
    stand-in pipe, answered on REQUESTS, which no one else reads while a batch runs."""
    wire.write_all(STAND_IN_REQUESTS, request)
    reply = wire.read_frame(REQUESTS)
    if reply is None:  # the grader is gone
        os._exit(0)
    return reply


def stand_in_answer(name, ask, args, kwargs, state):
    """What the stand-in of ``name`` returns: the reference's answer for these arguments (and
    the object's ``state``), obtained by ``ask``; StandInFailed if there is none."""
    try:
        request = wire.pack({"event": "stand_in", "name": name, "args": list(args), "kwargs": dict(kwargs),
                             "self": state})
    except Exception as err:  # an object or a string array: not numbers
        raise StandInFailed(name, str(err)) from None
    reply = ask(request)
    if isinstance(reply, dict) and "ok" in reply:
        return reply["ok"]
    if isinstance(reply, dict) and "raised" in reply:
        raise StandInFailed(name, f"{reply['raised']}: {reply.get('message', '')}")
    raise StandInFailed(name, "its answer was malformed")


def function_stand_in(name, ask):
    def stand_in(*args, **kwargs):
        return stand_in_answer(name, ask, args, kwargs, None)
    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def method_stand_in(name, ask, module):
    def stand_in(self, *args, **kwargs):
        return stand_in_answer(name, ask, args, kwargs, object_state(self, module))
    stand_in.__name__, stand_in.__qualname__ = name.split(".", 1)[1], name
    return stand_in


_ABSENT = object()


@contextlib.contextmanager
def stand_ins_installed(namespace, names, ask):
    """For the duration of the block, rebind each graded name of ``names`` in ``namespace`` to a
    stand-in whose answers come from ``ask(request frame) -> reply``: a function ``f`` becomes
    ``namespace["f"]``; a method ``Class.method`` is set on the namespace's class (so objects
    made during the call use it too), unless there is no such class. Everything is restored
    exactly afterwards, even if the block raises."""
    undo = []
    try:
        for name in names:
            if "." not in name:
                undo.append((namespace, name, namespace.get(name, _ABSENT)))
                namespace[name] = function_stand_in(name, ask)
                continue
            class_name, method = name.split(".", 1)
            cls = namespace.get(class_name)
            if not isinstance(cls, type):
                continue  # no such class: the call fails the usual way
            old = cls.__dict__.get(method, _ABSENT)
            try:
                type.__setattr__(cls, method, method_stand_in(name, ask, namespace.get("__name__")))
            except (TypeError, AttributeError):
                continue  # a built-in type: not the student's class
            undo.append((cls, method, old))
        yield
    finally:
        for holder, key, old in reversed(undo):
            if isinstance(holder, dict):
                if old is _ABSENT:
                    holder.pop(key, None)
                else:
                    holder[key] = old
            elif old is _ABSENT:
                with contextlib.suppress(AttributeError):
                    type.__delattr__(holder, key)
            else:
                type.__setattr__(holder, key, old)


def run_call(namespace, call, ask=None):
    """Result of one call as a wire-safe dict; exceptions become data.

    The call's stand-ins (``call["stand_ins"]``) are in place while it runs; they get their
    answers from ``ask`` (default: the grader, through ``ask_the_grader``)."""
    if call.get("stand_ins"):
        with stand_ins_installed(namespace, call["stand_ins"], ask or ask_the_grader):
            return call_once(namespace, call)
    return call_once(namespace, call)


def call_once(namespace, call):
    """``run_call`` without stand-ins."""
    args, kwargs = list(call.get("args", [])), call.get("kwargs", {})
    try:
        function = resolve(namespace, call)
        for index, spec in call.get("arg_objects", {}).items():  # objects passed as arguments
            args[int(index)] = build_object(namespace, spec)
    except KeyError as err:
        return {"missing": str(err).strip("'")}
    except BaseException as err:
        return {"setup_failed": True, **error_summary(err)}
    try:
        with numpy_errors(call.get("numpy_errors")):
            value = function(*args, **kwargs)
    except BaseException as err:
        return error_summary(err)
    answer = {"ok": value}
    if call.get("return_args"):
        built = call.get("arg_objects", {})  # objects built in here stay here: only the data comes back
        answer["args_after"] = [None if str(i) in built else a for i, a in enumerate(args)]
    try:  # read back attributes of argument objects, e.g. a trained network's weights
        answer["attributes"] = {index: {path: attribute(args[int(index)], path) for path in paths}
                                for index, paths in call.get("return_attributes", {}).items()}
    except BaseException as err:
        return {"setup_failed": True, **error_summary(err)}
    try:  # only numbers cross the boundary: reject objects here, with a clear message
        wire.pack(answer)
    except Exception as err:
        return {"unsendable": f"{type(value).__name__}: {err}"}
    return answer


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
            wire.write_frame(write_end, {"event": "answer", "answer": run_call(namespace, call)})
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
    with the same sandbox limits (warm_runner.process_limits), so none is above its hard limit."""
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

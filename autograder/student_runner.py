"""The program that runs inside the sandbox, as the student's process.

It runs the submission's code cells, then answers the grader's calls. Each batch of calls
runs in a fresh fork of the post-notebook state, so nothing a call changes (globals,
patched modules, stashed arguments) reaches the next batch. The grader trusts none of
this: it reads only values in the ``wire`` format, and enforces every limit itself.

Usage: runner.py REQUEST_FD ANSWER_FD. stdout/stderr go to a size-capped file.
"""
import builtins
import json
import linecache
import os
import select
import signal
import sys
import traceback

if __package__:  # imported by the grader (autograder.in_kernel runs calls the same way)
    from autograder import wire
else:  # a script in the sandbox, beside its copy of wire.py; -I leaves that folder off the path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire  # noqa: E402

REQUESTS, ANSWERS = None, None  # file descriptors, set by main() from the command line


def read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_request():
    """The next request from the grader, or None when it closed the pipe."""
    head = read_exact(REQUESTS, 8)
    if head is None:
        return None
    return wire.unpack(read_exact(REQUESTS, int.from_bytes(head, "big")))


def error_summary(err):
    """Exception type, message and the line in the student's cell where it was raised."""
    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.startswith("<cell"):
            where = f"{frame.filename[1:-1]}, line {frame.lineno}: {(frame.line or '').strip()}"
            break
    return {"raised": type(err).__name__, "message": str(err)[:500], "where": where}


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


def run_call(namespace, call):
    """Result of one call as a wire-safe dict; exceptions become data."""
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
        answer["args_after"] = list(args)
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
    """Run ``calls`` in a forked child; relay its answer frame, or say how it failed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        results = [run_call(namespace, call) for call in calls]
        wire.write_frame(write_end, {"event": "results", "results": results})
        os._exit(0)
    os.close(write_end)
    data, deadline_hit = bytearray(), False
    while True:
        ready, _, _ = select.select([read_end], [], [], timeout)
        if not ready:
            deadline_hit = True
            break
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            break
        data += chunk
    if deadline_hit:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(read_end)
    if deadline_hit:
        return wire.write_frame(ANSWERS, {"event": "batch_failed", "reason": "timeout"})
    if not data:
        reason = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        return wire.write_frame(ANSWERS, {"event": "batch_failed", "reason": reason})
    os.write(ANSWERS, bytes(data))  # already a frame


def main():
    global REQUESTS, ANSWERS
    REQUESTS, ANSWERS = (int(fd) for fd in sys.argv[1:3])
    with open("submission.json") as f:
        cells = json.load(f)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    errors = run_cells(cells, namespace)
    defined = sorted(k for k in namespace if not k.startswith("__"))
    wire.write_frame(ANSWERS, {"event": "ready", "cell_errors": errors, "defined": defined})
    while True:
        request = read_request()
        if request is None:
            return
        run_batch(namespace, request["calls"], request["timeout"])


if __name__ == "__main__":
    main()

"""``get_ipython()`` in the sandbox, for the calls the grader writes for IPython syntax.

The grader turns ``%magic``, ``%%cell magic`` and ``!shell`` into Python with IPython's own
transformer (autograder/notebook/code_cells.py): ``get_ipython().run_line_magic('time', 'y = f(x)')``
and the like. submission.py binds ``get_ipython`` in the notebook's namespace to a shell of this
module, which does what each magic means for the notebook's names, and no more. It is not
IPython (200 modules for every student process, and magics that run shells), and it runs no
command: standard library only, like the other programs inside the sandbox.

- ``%time``/``%%time``, ``%timeit``/``%%timeit``, ``%prun``/``%%prun``: the code runs once,
  untimed, as IPython runs it: ``%time`` with the caller's names (``y = %time f(x)`` gets f's
  value, ``%time y = f(x)`` binds ``y``), ``%timeit`` in a scope of its own (it binds nothing).
  Errors propagate, as in IPython 9 (``%time --no-raise-error`` shows them and goes on).
- ``%%capture [name]``: the cell runs with its output kept, an error shown and swallowed (IPython
  runs it as a cell); ``name`` is bound to what was captured.
- ``%%writefile``/``%%file``: the file is written (in the sandbox's home, the working folder),
  which becomes importable, as the kernel's folder is: a student imports the module they wrote.
- shell escapes (``!cmd``, ``x = !cmd``, ``%sx``, ``%system``, ``%%bash``, ``%%script`` ...) run
  nothing, quietly; a captured output is an empty list. Every other magic (``%matplotlib``,
  ``%config``, ``%load_ext``, ``%autoreload``, help, ``%who``, ``%pdb``, ``%pip``, ``%%html`` ...)
  does nothing: none changes what a graded function returns.

The code a magic runs is compiled as the caller's own (its cell's file name, from the magic's
line), so an error in it, or in a function it defines, cites the line the student wrote.
"""
import contextlib
import importlib
import io
import os
import sys
import traceback

# magic: (its options that take a value, its flags); the code follows them
TIMING_MAGICS = {"time": ("", ""), "timeit": ("nrp", "tcqo"), "prun": ("DlsT", "rq")}


class SList(list):
    """What ``x = !cmd`` binds, as IPython's SList: no command ran, so no lines."""

    s = n = ""  # the lines joined by spaces, by newlines

    @property
    def l(self):  # noqa: E743 (IPython's name)
        return self

    p = l


class CapturedIO:
    """What ``%%capture name`` binds: the cell's output, as text."""

    def __init__(self, stdout, stderr):
        self.stdout, self.stderr, self.outputs = stdout, stderr, []

    def show(self):
        sys.stdout.write(self.stdout)
        sys.stderr.write(self.stderr)

    __call__ = show


class ZMQInteractiveShell:
    """The notebook's ``get_ipython()``; the kernel's class name, which some notebooks test for.

    ``user_ns``: the notebook's namespace (dict), as in IPython.
    """

    def __init__(self, user_ns):
        self.user_ns = user_ns

    def get_ipython(self):
        return self

    def run_line_magic(self, magic_name, line, _stack_depth=1):
        """``%magic_name line``, called from the frame ``_stack_depth`` up, as in IPython."""
        if magic_name in TIMING_MAGICS:
            return timed(magic_name, line, None, sys._getframe(_stack_depth))
        return SList() if magic_name in ("sx", "system") else None

    def run_cell_magic(self, magic_name, line, cell):
        """``%%magic_name line`` over the cell body ``cell``."""
        if magic_name in TIMING_MAGICS:
            return timed(magic_name, line, cell, sys._getframe(1))
        if magic_name == "capture":
            return capture(line, cell, sys._getframe(1))
        if magic_name in ("writefile", "file"):
            return writefile(line, cell)
        return None

    def system(self, cmd):
        """``!cmd``: runs nothing."""

    def getoutput(self, cmd, split=True, depth=0):
        """``x = !cmd``: runs nothing, so its output is empty."""
        return SList() if split else ""


def run(code, frame, first_line, scope=None):
    """``code`` run as ``frame``'s own, from its line ``first_line``: an expression's value, else
    None. ``scope``: the local names, if not the frame's."""
    padded = "\n" * (first_line - 1) + code  # line k of code is line first_line + k - 1 of the cell
    try:
        compiled = compile(padded, frame.f_code.co_filename, "eval")
    except SyntaxError:
        compiled = compile(padded, frame.f_code.co_filename, "exec")
    return eval(compiled, frame.f_globals, frame.f_locals if scope is None else scope)


def timed(name, line, cell, frame):
    """``%time``, ``%timeit``, ``%prun`` (``cell`` None) or their cell magics, called from
    ``frame``: the code runs once, untimed; ``%time``'s value is the expression's."""
    rest, raise_errors = line.strip(), True
    valued, flags = TIMING_MAGICS[name]
    while rest.startswith("-"):  # the magic's options, before the code
        option, _, after = rest.partition(" ")
        if option == "--no-raise-error" and name == "time":
            raise_errors = False
        elif len(option) == 2 and option[1] in valued:
            after = after.lstrip().partition(" ")[2]
        elif len(option) < 2 or option[1] not in valued + flags:
            break
        rest = after.lstrip()
    if cell is None:
        code, first_line = rest, frame.f_lineno
    elif rest:  # %%timeit's setup, on the magic's line
        code, first_line = rest + "\n" + cell, frame.f_lineno
    else:
        code, first_line = cell, frame.f_lineno + 1
    # timeit runs the code in a function of its own: nothing it binds is kept
    scope = None if name != "timeit" else {} if frame.f_locals is frame.f_globals else dict(frame.f_locals)
    try:
        value = run(code, frame, first_line, scope)
    except Exception:
        if raise_errors:
            raise
        traceback.print_exc()
        return None
    return value if name == "time" and cell is None else None


def capture(line, cell, frame):
    """``%%capture [--no-stdout] [--no-stderr] [name]`` over ``cell``, called from ``frame``."""
    words = line.split()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if "--no-stdout" not in words:
            stack.enter_context(contextlib.redirect_stdout(out))
        if "--no-stderr" not in words:
            stack.enter_context(contextlib.redirect_stderr(err))
        try:
            run(cell, frame, frame.f_lineno + 1)
        except (Exception, SystemExit):  # IPython runs it as a cell: shows the error, goes on
            traceback.print_exc()
    names = [word for word in words if not word.startswith("-")]
    if names:
        frame.f_globals[names[0]] = CapturedIO(out.getvalue(), err.getvalue())


def writefile(line, cell):
    """``%%writefile [-a] path`` over ``cell``: the file written, and the working folder importable."""
    words = line.split()
    path = " ".join(word for word in words if word not in ("-a", "--append"))
    if len(path) > 1 and path[0] == path[-1] and path[0] in ("'", '"'):
        path = path[1:-1]
    mode = "a" if "-a" in words or "--append" in words else "w"
    with open(os.path.expanduser(path), mode, encoding="utf-8") as file:
        file.write(cell)
    if "" not in sys.path:  # the kernel's folder is importable, before site-packages
        packages = [i for i, p in enumerate(sys.path) if p.endswith(("site-packages", "dist-packages"))]
        sys.path.insert(packages[0] if packages else len(sys.path), "")
    importlib.invalidate_caches()

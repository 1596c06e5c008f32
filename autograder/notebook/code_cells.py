"""A submitted notebook, reduced to the code the grader needs to run.

A notebook's code cells are kept in order, except the nbgrader test cells (their checks
are the grader's business) and the cells tagged ``skip-grading`` (plots, training runs).

IPython syntax (``%magic``, ``%%cell magic``, ``!shell``, ``x = !cmd``, ``obj?``) becomes Python
here, in the grader, through IPython's own transformer: the one the kernel runs every cell
through, so a cell is read exactly as nbgrader's kernel reads it (strings, brackets, line
continuations, indented blocks, ``x = %time f(1)``). What it writes calls
``get_ipython().run_line_magic(...)``, ``run_cell_magic``, ``system``, ``getoutput``; in the
sandbox, ``get_ipython`` is a shell that runs no command and needs no IPython
(autograder/sandbox/inside/ipython_shell.py says what each magic does there).

The lines stay where the student wrote them, so errors cite the student's lines: a line
magic becomes one call on its line (one line for a magic continued with backslashes, as in the
kernel). The body of a cell magic that runs Python (``%%time``, ``%%timeit``, ``%%prun``,
``%%capture``) is transformed too, as IPython transforms it when the magic runs, and sent as a
string literal spread over the cell's own lines: the functions it defines report errors at
their lines. A cell that already is Python is sent as it is (IPython would not change it), and
then IPython is not even imported. Without IPython, or past the notebook's ``TRANSFORM_BUDGET``,
the lines that start with ``%`` or ``!`` are dropped.

Why not by hand: the body of ``%%time`` must run (it may define a graded function),
``%time y = f(x)`` must bind ``y``, ``x = !ls`` must bind a list, and telling a magic from a
``%`` or ``!`` inside a string or brackets needs IPython's tokenizer rules anyway. Why not
IPython in the sandbox: it costs every student process 200 modules, and its magics run shells.
"""
import ast
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

SKIP_TAG = "skip-grading"


class UnreadableNotebook(Exception):
    """The file is not a notebook we can read; the message says why, for a student."""


@dataclass(frozen=True)
class CodeCell:
    """One code cell: its id (nbgrader grade_id, else the cell id), source and tags."""

    cell_id: str
    source: str
    tags: tuple
    is_test: bool


def read_notebook(path):
    """The notebook at ``path`` as {"cells": [cell dicts with a str source]}, or UnreadableNotebook
    with a plain reason.

    The JSON is checked here, for the fields grading reads, rather than with nbformat: its
    schema validator takes two seconds to import, most of the cost of grading one notebook.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UnreadableNotebook(f"{path.name} could not be read ({err.strerror}).") from err
    if not raw.strip():
        raise UnreadableNotebook(f"{path.name} is empty: submit the notebook after saving it.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UnreadableNotebook(
            f"{path.name} is not a valid notebook file (it is not JSON text: {err}). "
            "Download it again from Jupyter with File > Save, and resubmit.") from err
    if not isinstance(data, dict) or "cells" not in data:
        raise UnreadableNotebook(f"{path.name} is JSON but not a Jupyter notebook (it has no cells).")
    if data.get("nbformat") != 4:
        raise UnreadableNotebook(
            f"{path.name} is saved in notebook format {data.get('nbformat')!r}, not the current format 4. "
            "Open it in a current Jupyter, save it, and resubmit.")
    try:
        return {"cells": [checked_cell(cell) for cell in data["cells"]]}
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise UnreadableNotebook(
            f"{path.name} is not a valid Jupyter notebook: its cells are damaged and cannot be read. "
            "Open it in Jupyter, save it again (or copy your code into a fresh copy of the assignment), "
            "and resubmit.") from err


def checked_cell(cell):
    """A notebook cell with the fields grading reads checked, and its source as one string."""
    if not isinstance(cell["cell_type"], str):
        raise ValueError("cell_type")
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise ValueError("source")
    metadata = cell.get("metadata", {})
    nbgrader = metadata.get("nbgrader", {})
    tags = metadata.get("tags", [])
    if not isinstance(nbgrader, dict) or not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError("metadata")
    return {"cell_type": cell["cell_type"], "source": source, "id": cell.get("id"),
            "metadata": {"nbgrader": nbgrader, "tags": tags}}


def code_cells(notebook):
    """The notebook's code cells, in order, as CodeCell."""
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        meta = cell["metadata"]["nbgrader"]
        cell_id = meta.get("grade_id") or cell.get("id") or f"cell-{index}"
        cells.append(CodeCell(cell_id, cell["source"], tuple(cell["metadata"]["tags"]),
                              bool(meta.get("grade")) and not meta.get("solution")))
    return cells


# IPython's transformer tokenizes the whole cell again after each piece of IPython syntax it
# transforms, in pure Python (a few hundred kB a second): a few thousand magics in a long cell
# would keep the grader busy for minutes. Each notebook may have it read this many characters
# (about two seconds; a hundred times what an honest notebook needs); beyond that, the lines
# that start with % or ! are dropped, as without IPython.
TRANSFORM_BUDGET = 1_000_000
_MAYBE_IPYTHON = re.compile(r"^[ \t]*[%!?]|\?[ \t]*$|=[ \t]*[%!]", re.MULTILINE)  # what may cost a pass


def python_only(source, budget=None):
    """``source`` as plain Python for the sandbox: IPython syntax transformed as the kernel
    transforms it (see the module docstring); a cell that is Python already, as it is.

    ``budget``: [characters IPython's transformer may still read], shared by a notebook's cells.
    """
    if _parses(source):
        return source
    if budget is None:
        budget = [TRANSFORM_BUDGET]
    manager = _ipython_transformer()
    passes = 1 if source.lstrip().startswith("%%") else 1 + len(_MAYBE_IPYTHON.findall(source))
    cost = len(source) * passes  # a cell magic takes one pass; its body is charged on its own
    if manager is None or cost > budget[0]:
        return _dropped_ipython_lines(source)
    budget[0] -= cost
    return _transformed(source, manager, budget)


def _parses(source):
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: a null byte
        return False
    except (MemoryError, RecursionError):  # nested too deeply: IPython cannot help either
        return True
    return True


@functools.cache
def _ipython_transformer():
    """IPython's cell transformer (as the kernel's), or None where IPython cannot be imported."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except Exception:  # not installed, or broken
        return None
    return TransformerManager()


def _dropped_ipython_lines(source):
    """Without IPython: ``source`` without its IPython-only lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


CODE_CELL_MAGICS = ("time", "timeit", "prun", "capture")  # cell magics whose body is Python
_CELL_MAGIC_CALL = "get_ipython().run_cell_magic"


def _transformed(source, manager, budget):
    """``source`` as IPython turns it into Python, on the same lines (but a magic's line
    continuations, which IPython joins in the kernel too)."""
    lines = source.splitlines(keepends=True)
    blank = next((i for i, line in enumerate(lines) if line and not line.isspace()), 0)  # IPython drops them
    try:
        code = manager.transform_cell(source)
    except Exception:  # the kernel could not run this cell either: Python says why
        return source
    if code.startswith(_CELL_MAGIC_CALL):
        try:
            name, line, body = ast.literal_eval(code[len(_CELL_MAGIC_CALL):].strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return "\n" * blank + code
        if name in CODE_CELL_MAGICS:
            body = python_only(body, budget)
        code = f"{_CELL_MAGIC_CALL}({name!r}, {line!r}, {literal_on_its_lines(body)})\n"
    return "\n" * blank + code


# What splitlines (so linecache) takes for the end of a line, or source cannot hold; and quoting.
_ESCAPES = {c: c.encode("unicode_escape").decode() for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00"}
_ESCAPES.update({"\\": "\\\\", "'": "\\'"})


def literal_on_its_lines(text):
    """A string literal of ``text`` that opens with a line of its own and then keeps text's
    lines as they are: line k of ``text`` is line k + 1 of the literal."""
    return "'''\\\n" + "".join(_ESCAPES.get(c, c) for c in text) + "'''"


def grading_code(notebook):
    """The Python source the grader runs: every code cell but test and skip-grading cells."""
    budget = [TRANSFORM_BUDGET]
    return [python_only(c.source, budget) for c in code_cells(notebook)
            if not c.is_test and SKIP_TAG not in c.tags]


def trusted_grading_code(submitted, source):
    """The code to grade, with the instructor's cells where the student may not edit.

    Locked cells (given code) are restored from the source notebook, as nbgrader does, and
    the source decides which cells are ``skip-grading``: a student cannot change either.
    """
    source_cells = {c.cell_id: c for c in code_cells(source)}
    code, budget = [], [TRANSFORM_BUDGET]
    for cell in code_cells(submitted):
        original = source_cells.get(cell.cell_id)
        if cell.is_test or (original is not None and (original.is_test or SKIP_TAG in original.tags)):
            continue
        locked = original is not None and original.cell_id in _locked_ids(source)
        code.append(python_only(original.source if locked else cell.source, budget))
    return code


def _locked_ids(notebook):
    return {c["metadata"]["nbgrader"].get("grade_id") for c in notebook["cells"]
            if c["cell_type"] == "code" and c["metadata"]["nbgrader"].get("locked")
            and not c["metadata"]["nbgrader"].get("solution")}


def imported_modules(sources):
    """Absolute module names that the code ``sources`` imports at the top level, in first-seen order.

    The grader imports them once in its warm runner, so that no submission pays for them.
    """
    found = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            found += [n for n in names if n not in found]
    return found

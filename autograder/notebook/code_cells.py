"""A submitted notebook, reduced to the code the grader needs to run.

A notebook's code cells are kept in order, except the nbgrader test cells (their checks
are the grader's business) and the cells tagged ``skip-grading`` (plots, training runs).
IPython-only lines (``%magic``, ``!shell``) are dropped: the code runs as plain Python.
"""
import ast
import json
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


def python_only(source):
    """``source`` without IPython magics and shell escapes, which plain Python cannot run."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def grading_code(notebook):
    """The Python source the grader runs: every code cell but test and skip-grading cells."""
    return [python_only(c.source) for c in code_cells(notebook)
            if not c.is_test and SKIP_TAG not in c.tags]


def trusted_grading_code(submitted, source):
    """The code to grade, with the instructor's cells where the student may not edit.

    Locked cells (given code) are restored from the source notebook, as nbgrader does, and
    the source decides which cells are ``skip-grading``: a student cannot change either.
    """
    source_cells = {c.cell_id: c for c in code_cells(source)}
    code = []
    for cell in code_cells(submitted):
        original = source_cells.get(cell.cell_id)
        if cell.is_test or (original is not None and (original.is_test or SKIP_TAG in original.tags)):
            continue
        locked = original is not None and original.cell_id in _locked_ids(source)
        code.append(python_only(original.source if locked else cell.source))
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

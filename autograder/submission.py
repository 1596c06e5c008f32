"""A submitted notebook, reduced to the code the grader needs to run.

A notebook's code cells are kept in order, except the nbgrader test cells (their checks
are the grader's business) and the cells tagged ``skip-grading`` (plots, training runs).
IPython-only lines (``%magic``, ``!shell``) are dropped: the code runs as plain Python.
"""
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

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
    """The parsed notebook at ``path``, or UnreadableNotebook with a plain reason."""
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
    try:
        return nbformat.from_dict(nbformat.reads(json.dumps(data), as_version=4))
    except Exception as err:  # nbformat raises several types for malformed notebooks
        raise UnreadableNotebook(
            f"{path.name} is not a valid Jupyter notebook: its cells are damaged and cannot be read. "
            "Open it in Jupyter, save it again (or copy your code into a fresh copy of the assignment), "
            "and resubmit.") from err


def code_cells(notebook):
    """The notebook's code cells, in order, as CodeCell."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        cell_id = meta.get("grade_id") or cell.get("id") or f"cell-{index}"
        cells.append(CodeCell(cell_id, cell.source, tuple(cell.metadata.get("tags", [])),
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
    return {c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked")
            and not c.metadata["nbgrader"].get("solution")}

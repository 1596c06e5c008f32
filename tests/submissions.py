"""Build submitted notebooks for the grader's tests from the course's own notebooks.

A test submission is the source notebook (the "reference notebook": every solution
filled in) or the release notebook (every solution a stub), with some solution cells
replaced and some extra code cells appended. Everything else of the notebook (markdown,
locked cells, metadata, nbgrader ids) is kept as it is, so the grader sees what a real
student would submit.
"""
import copy
import json
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def notebook_path(assignment, folder="source"):
    """Path of the assignment's notebook in ``folder`` (source or release)."""
    return ROOT / folder / assignment / f"{assignment}.ipynb"


def load_notebook(assignment, folder="source"):
    """The assignment's notebook in ``folder`` as a plain JSON dict."""
    return json.loads(notebook_path(assignment, folder).read_text())


def cell_source(assignment, grade_id, folder="source"):
    """The source text of the cell whose nbgrader grade_id is ``grade_id``."""
    for cell in load_notebook(assignment, folder)["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    raise KeyError(f"{assignment} ({folder}) has no cell with grade_id {grade_id!r}")


def code_cell(source):
    """A new, untagged code cell holding ``source`` (as a student would add one)."""
    return {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:12],
            "metadata": {}, "outputs": [], "source": source}


def build(notebook, replace=None, append=()):
    """A copy of ``notebook`` with cells replaced by grade_id and code cells appended.

    ``replace`` maps a grade_id to the new source of that cell (its metadata is kept);
    a grade_id the notebook lacks raises KeyError, so a typo cannot pass silently.
    """
    notebook = copy.deepcopy(notebook)
    missing = set(replace or {})
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if replace and grade_id in replace:
            cell["source"] = replace[grade_id]
            missing.discard(grade_id)
    if missing:
        raise KeyError(f"no cell with grade_id {sorted(missing)}")
    notebook["cells"].extend(code_cell(source) for source in append)
    return notebook


def write_submission(tmp_path, assignment, notebook, student="alice"):
    """Write ``notebook`` to tmp_path/<student>/<assignment>/<assignment>.ipynb; its path."""
    path = Path(tmp_path) / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False))
    return path


def submission(tmp_path, assignment, replace=None, append=(), student="alice"):
    """A submission made from the source (reference) notebook; returns its path.

    ``replace`` = {grade_id: new cell source}; ``append`` = sources of extra code cells
    added at the end. The file is tmp_path/<student>/<assignment>/<assignment>.ipynb.
    """
    return write_submission(tmp_path, assignment, build(load_notebook(assignment, "source"), replace, append),
                            student)


def release_submission(tmp_path, assignment, replace=None, append=(), student="alice"):
    """Like ``submission``, from the release notebook (every solution still a stub)."""
    return write_submission(tmp_path, assignment, build(load_notebook(assignment, "release"), replace, append),
                            student)

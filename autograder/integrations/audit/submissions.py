"""Each mutant as a student's submission: the source notebook with its one solution cell replaced.

Everything else of the notebook (markdown, locked cells, metadata, nbgrader ids, outputs) is
the source's, so a mutant is graded exactly as a student who made that one mistake. The
notebooks are written in nbgrader's layout, ``DIR/<mutant id>/<assignment>/<assignment>.ipynb``,
so the batch grader takes the mutant's id for the student's.
"""
import copy
import functools
import json
from pathlib import Path

from autograder.course import ROOT, notebook_name


@functools.cache
def source_json(assignment):
    """The source notebook as its JSON, untouched (read once: ``with_cell`` copies it)."""
    return json.loads((ROOT / "source" / assignment / notebook_name(assignment)).read_text(encoding="utf-8"))


def with_cell(notebook, grade_id, source):
    """A copy of ``notebook`` whose cell ``grade_id`` holds ``source``; KeyError if there is none."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = source
            return notebook
    raise KeyError(f"the source notebook has no cell {grade_id!r}")


def write_mutant_notebooks(mutants, folder):
    """{mutant id: path of its notebook} written under ``folder``."""
    paths = {}
    for mutant in mutants:
        source = source_json(mutant.assignment)
        path = Path(folder) / mutant.id / mutant.assignment / notebook_name(mutant.assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(with_cell(source, mutant.grade_id, mutant.source), indent=1, ensure_ascii=False) + "\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:  # unchanged: the batch reuses its grade
            path.write_text(text, encoding="utf-8")
        paths[mutant.id] = path
    return paths

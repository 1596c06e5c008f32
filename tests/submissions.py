"""Build submitted notebooks for the grader's tests from the course's own notebooks.

A test submission is the source notebook (the "reference notebook": every solution
filled in) or the release notebook (every solution a stub), with some solution cells
replaced and some extra code cells appended. Everything else of the notebook (markdown,
locked cells, metadata, nbgrader ids) is kept as it is, so the grader sees what a real
student would submit.
"""
import copy
import json
import textwrap
import uuid
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENTS

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


# --- grading them and reading the result ------------------------------------------------------

def code(text):
    """``text`` dedented, as the source of a notebook cell."""
    return textwrap.dedent(text).strip() + "\n"


def mutate(assignment, grade_id, *edits):
    """{grade_id: the source cell with each (old, new) replaced}; every old text must occur once,
    so a change of the source notebook cannot turn a mutant silently correct."""
    source = cell_source(assignment, grade_id)
    for old, new in edits:
        count = source.count(old)
        assert count == 1, f"{grade_id}: {old!r} occurs {count} times in the source notebook's cell"
        source = source.replace(old, new)
    return {grade_id: source}


def grade(path):
    """The sandbox's SubmissionResult for the notebook at ``path``, which must be gradeable."""
    from autograder.grade import grade_notebook

    result = grade_notebook(path, student="alice")
    assert result.status == "graded", result.output
    return result


def report(result):
    """Everything that did not pass, for an assertion message."""
    return f"[{result.status}] {result.output}\n" + "\n".join(
        f"{t.name} [{t.status}] {t.score:.3g}/{t.max_score:.3g}: {t.output}"
        for t in result.tests if t.status != "passed")


def failures(result, item):
    """Outputs of the failed checks of ``item``, joined."""
    return "\n".join(t.output for t in result.tests if t.item == item and t.status == "failed")


def assert_bug_costs_once(result, item, diagnosis):
    """``item`` loses points with ``diagnosis`` in its feedback; every other item scores full marks."""
    full = {g.name: float(g.points) for g in ASSIGNMENTS[result.assignment]}
    scores = result.item_scores()
    assert result.status == "graded", report(result)
    assert set(scores) == set(full), report(result)
    assert scores[item] < full[item], report(result)
    others = {name: scores[name] for name in full if name != item}
    assert others == pytest.approx({name: full[name] for name in others}, abs=1e-4), \
        f"the bug in {item} cost other items too:\n{report(result)}"
    assert diagnosis in failures(result, item), report(result)
    assert_mistakes_recorded(result)


def assert_mistakes_recorded(result):
    """A check whose message names a likely mistake records it as data, with an id of its own
    item; a shape hint may name one too ("It looks transposed"); a passed check names none."""
    for test in result.tests:
        if "Likely mistake:" in test.output:
            assert test.mistake, f"{test.name}: no mistake recorded for {test.output!r}"
        if test.mistake:
            assert test.status != "passed" and test.mistake["label"], (test.name, test.mistake)
            assert test.mistake["id"].startswith(test.item + "."), (test.name, test.mistake)

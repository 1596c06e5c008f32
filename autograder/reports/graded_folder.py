"""A graded folder read back into the result model: what the class report and the diff start from.

``grade --out OUT`` writes ``OUT/<student>/<assignment>/`` with ``result.json`` (the full
SubmissionResult, saved by ``autograder.integrations.batch``) and ``results.json``
(Gradescope's format). Each folder is read from ``result.json``; when that is missing or
unreadable, from ``results.json`` (``formats.from_gradescope_json``), as Gradescope leaves it.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.integrations.batch import SAVED, load_saved
from autograder.reports.formats import from_gradescope_json

GRADESCOPE = "results.json"


@dataclass
class GradedFolder:
    """The submissions of OUT, sorted by (assignment, student), and the folders that held no
    readable result: [(path, why)]."""

    results: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)


def submission_folders(out):
    """OUT/<student>/<assignment>/ folders that hold a result.json or a results.json."""
    return sorted({p.parent for name in (SAVED, GRADESCOPE) for p in Path(out).glob(f"*/*/{name}")})


def read_result(folder):
    """The SubmissionResult saved in ``folder``; raises ValueError when neither file is readable."""
    result = load_saved(folder)
    if result is None:
        try:
            data = json.loads((folder / GRADESCOPE).read_text(encoding="utf-8"))
            result = from_gradescope_json(data, student=folder.parent.name, assignment=folder.name)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"neither {SAVED} nor {GRADESCOPE} could be read ({type(err).__name__}: {err})") from None
    return result


def read_graded(out):
    """GradedFolder of ``out``; raises FileNotFoundError when ``out`` is not a folder."""
    if not Path(out).is_dir():
        raise FileNotFoundError(f"{out} is not a folder: give the OUT of `python -m autograder grade ... --out OUT`")
    graded = GradedFolder()
    for folder in submission_folders(out):
        try:
            result = read_result(folder)
            result.student = result.student or folder.parent.name  # a results.json of --results mode names none
            graded.results.append(result)
        except ValueError as err:
            graded.unreadable.append((folder, str(err)))
    graded.results.sort(key=lambda r: (r.assignment, r.student))
    return graded

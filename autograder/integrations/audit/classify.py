"""A graded mutant's verdict: killed (and diagnosed), survived, collateral, or equivalent.

- **equivalent**: it answers as the reference does (equivalence.py), so it is set aside and not
  counted; or, for an item judged on what its answer does rather than on the reference's
  numbers (a spec ``Item`` that takes no input and has neither ``value`` nor ``numeric``: the
  XOR weights), it kept every point of that item, so it is another right answer.
- **killed**: it loses points on its own item(s), and only there;
  **diagnosed**: killed, and a failed check of its item names the mistake
  (``TestResult.mistake``, or until every check fills that, "Likely mistake:" in the output).
- **survived**: it kept full marks on every item: a hole in the hidden checks.
- **collateral**: it cost points on another item, which breaks "a bug costs once"
  (docs/scoring.md); so does a mutant whose notebook could not be graded at all.

An equivalent mutant that lost points anyway is a **false alarm**: the checks failed code that
answers as the reference does.
"""
from dataclasses import dataclass

from autograder.course import ASSIGNMENTS

EQUIVALENT, KILLED, SURVIVED, COLLATERAL = "equivalent", "killed", "survived", "collateral"
TOLERANCE = 1e-6  # points: a score this close to full is full


@dataclass
class Verdict:
    status: str  # equivalent, killed, survived, collateral
    diagnosed: bool = False
    lost: dict = None  # {item: points lost}
    why: str = ""  # why equivalent, or what was diagnosed, or why ungradeable
    false_alarm: bool = False  # equivalent, yet it lost points


def points_lost(result):
    """{graded name: points lost} of a SubmissionResult (every point, when it was not graded)."""
    full = {g.name: float(g.points) for g in ASSIGNMENTS[result.assignment]}
    scores = result.item_scores() if result.status == "graded" else {}
    lost = {name: round(points - scores.get(name, 0.0), 6) for name, points in full.items()}
    return {name: points for name, points in lost.items() if points > TOLERANCE}


def diagnosis(result, items):
    """The mistake named by a failed check of ``items``, or ""."""
    for test in result.tests:
        if test.item in items and test.status == "failed":
            if test.mistake:
                return test.mistake.get("label") or test.mistake.get("id", "")
            if "Likely mistake:" in test.output:
                return test.output.split("Likely mistake:", 1)[1].strip().split("\n")[0]
    return ""


def classify(mutant, result, not_equivalent, judged_on_behaviour=()):
    """The Verdict of ``mutant`` graded as ``result``; ``not_equivalent`` is None when the
    equivalence check found it answers as the reference, else why not; ``judged_on_behaviour``
    the items with no reference value to match."""
    lost = points_lost(result)
    if not_equivalent is None:
        return Verdict(EQUIVALENT, lost=lost, why="answers as the reference on every input drawn",
                       false_alarm=bool(lost))
    if result.status != "graded":
        return Verdict(COLLATERAL, lost=lost, why=f"not graded ({result.status}): {result.output}")
    if not lost and all(item in judged_on_behaviour for item in mutant.items):
        return Verdict(EQUIVALENT, lost=lost, why="another right answer: its item is judged on what the answer "
                                                  f"does, and it kept every point ({not_equivalent})")
    if not lost:
        return Verdict(SURVIVED, lost=lost, why=not_equivalent)
    if set(lost) - set(mutant.items):
        return Verdict(COLLATERAL, lost=lost, why=not_equivalent)
    named = diagnosis(result, mutant.items)
    return Verdict(KILLED, diagnosed=bool(named), lost=lost, why=named or not_equivalent)

"""The scoring policy, in one place. docs/scoring.md says the same in words, with examples.

Every hidden check is one property of one graded item, of one of three kinds:
- ``GATE``: it runs, it is implemented, the type, the shape, the values are finite. Worth
  nothing: a gate only decides whether the rest is checked. When one fails, the item's later
  checks are "not checked", so a wrong answer of the right form earns nothing.
- ``VALUE``: the answer is right (against the reference on several inputs, a numeric
  gradient, the XOR behaviour, training end to end). Value checks carry ``VALUE_SHARE`` of
  the item's points, and are checked independently of one another.
- ``ROBUSTNESS``: stability at saturation, integer inputs, inputs left unchanged, the same
  output twice, zero in giving zero out. They carry the rest of the points, are checked independently of one another,
  and are scored only when every value check of the item passed: on a wrong function they
  would be vacuous.

Within a kind, an item's points are shared by the checks' declared weights.
"""
from autograder.course import ASSIGNMENTS
from autograder.scores.results import TestResult

GATE, VALUE, ROBUSTNESS = "gate", "value", "robustness"
ORDER = (GATE, VALUE, ROBUSTNESS)  # the order an item's checks run in
VALUE_SHARE = 0.7  # of an item's points; all of them when it has no robustness check


def points(kinds_and_weights, item_points):
    """The points of each check of one item: [(kind, weight)] -> [points], in the same order."""
    totals = {kind: sum(w for k, w in kinds_and_weights if k == kind) for kind in ORDER}
    value_share = VALUE_SHARE if totals[ROBUSTNESS] else 1.0
    shares = {GATE: 0.0, VALUE: value_share, ROBUSTNESS: 1.0 - value_share}
    return [item_points * shares[kind] * weight / totals[kind] if totals[kind] else 0.0
            for kind, weight in kinds_and_weights]


def not_checked_because(kind, failed):
    """Why a check of ``kind`` is not run, given the item's failed checks so far
    [(kind, description)], or None when it runs."""
    gates = [description for k, description in failed if k == GATE]
    if gates:
        return f"Not checked: fix '{gates[0]}' first."
    values = [description for k, description in failed if k == VALUE]
    if kind == ROBUSTNESS and values:
        return f"Not scored: this counts once '{values[0]}' passes."
    return None


def scored_tests(records, assignment):
    """TestResults with each item's points shared among its checks as the scoring policy says."""
    item_points = {g.name: g.points for g in ASSIGNMENTS[assignment]}
    shares = {}
    for item in dict.fromkeys(r.item for r in records):
        mine = [r for r in records if r.item == item]
        for record, share in zip(mine, points([(r.kind, r.weight) for r in mine], item_points[item])):
            shares[id(record)] = share
    tests = []
    for record in records:
        share = shares[id(record)]
        tests.append(TestResult(
            name=f"{record.item}: {record.description}", item=record.item,
            score=share if record.status == "passed" else 0.0, max_score=share,
            output=record.output, status=record.status, mistake=record.mistake and {
                "id": f"{record.item}.{record.mistake.id}", "label": record.mistake.label}))
    return tests

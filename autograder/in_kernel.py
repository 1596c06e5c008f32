"""The hidden checks, run inside the student's own kernel by nbgrader's test cells.

A source notebook's test cell for a graded name ends with::

    from autograder.in_kernel import hidden_score
    hidden_score("gradient", globals())

It runs exactly the checks ``python -m autograder grade`` runs (the same hidden suite,
the same points), prints our feedback, and returns the score as a float, which nbgrader
records as the cell's partial credit. It calls the student's functions directly, in this
kernel: that is nbgrader's model, and what a student can tamper with. ``python -m autograder
nbgrader-sync`` re-grades in the sandbox and overwrites these scores.
"""
import copy

from autograder import stand_ins, student_runner, wire
from autograder.course import ASSIGNMENTS
from autograder.grading import points
from autograder.hidden_suite import run_hidden_suite
from autograder.sandbox import Limits
from autograder.student import Student


class KernelStudent(Student):
    """Calls into a live namespace, answering as the sandbox would: plain numbers only.

    A call's stand-ins are in place for that call only, answered by the reference of
    ``assignment`` (or by ``stand_in``) through the same frames as in the sandbox."""

    def __init__(self, namespace, assignment=None, stand_in=None):
        super().__init__(sandbox=None, assignment=assignment, stand_in=stand_in)
        self.namespace = namespace
        self.ask = stand_ins.kernel_asker(self.stand_in, Limits().answer_bytes) if self.stand_in else None

    def batch(self, specs, timeout=None):  # no time limit in the kernel: nbgrader's cell timeout applies
        specs = self._with_stand_ins(specs)
        if self.ask is None and any(spec.get("stand_ins") for spec in specs):
            raise ValueError("calls with stand_ins need a stand_in responder")
        answers = [student_runner.run_call(self.namespace, copy.deepcopy(spec), ask=self.ask) for spec in specs]
        # The same boundary as the sandbox: whatever comes back is re-read as arrays and numbers.
        return wire.unpack(wire.pack(answers)[wire.HEADER_BYTES:])

    def prefetch(self, specs):
        """Nothing to save in the kernel: each call runs directly when a check makes it."""


def assignment_of_item(item):
    """The assignment whose graded names include ``item``."""
    for assignment, graded in ASSIGNMENTS.items():
        if any(g.name == item for g in graded):
            return assignment
    raise KeyError(f"{item} is not a graded name of the course")


def feedback(tests):
    """One line per check: a tick, or a cross with our message."""
    lines = []
    for test in tests:
        mark = "passed" if test.status == "passed" else test.status.upper()
        line = f"[{mark}] {test.name} ({test.score:.3g} / {test.max_score:.3g})"
        lines.append(line if test.status == "passed" else f"{line}\n    {test.output}")
    return "\n".join(lines)


def hidden_score(item, namespace):
    """Run the hidden checks of ``item`` on ``namespace``; print feedback, return the score."""
    assignment = assignment_of_item(item)
    tests = points(run_hidden_suite(assignment, KernelStudent(namespace, assignment), items={item}), assignment)
    tests = [t for t in tests if t.item == item]
    maximum = next(g.points for g in ASSIGNMENTS[assignment] if g.name == item)
    # nbgrader rejects a partial score above the cell's points: no float noise over the top.
    score = float(min(maximum, round(sum(t.score for t in tests), 6)))
    print(f"Hidden checks for {item}: {score:g} / {maximum:g} points\n{feedback(tests)}")
    return score

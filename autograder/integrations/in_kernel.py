"""The hidden checks, run inside the student's own kernel by nbgrader's test cells.

A source notebook's test cell for a graded name ends with::

    from autograder.integrations.in_kernel import hidden_score
    hidden_score("gradient", globals())

It runs exactly the checks ``python -m autograder grade`` runs (the same hidden suite,
the same points), prints our feedback, and returns the score as a float, which nbgrader
records as the cell's partial credit. It calls the student's functions directly, in this
kernel: that is nbgrader's model, and what a student can tamper with. ``python -m autograder
nbgrader-sync`` re-grades in the sandbox and overwrites these scores.
"""
from autograder.course import ASSIGNMENTS
from autograder.scores.scoring import scored_tests
from autograder.checks.suite import run_hidden_suite
from autograder.checks.client import InProcessClient
from autograder.notebook.input_seed import input_seed


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


def kernel_cells(namespace):
    """The cells this kernel ran, as typed (IPython's raw input history): the input seed is
    drawn from them as the sandbox draws it from the notebook's cells."""
    shell = namespace.get("get_ipython")
    try:
        return list(shell().history_manager.input_hist_raw)
    except Exception:  # not IPython: the names defined so far are all there is
        return list(namespace.get("In", []))


def hidden_score(item, namespace):
    """Run the hidden checks of ``item`` on ``namespace``; print feedback, return the score."""
    assignment = assignment_of_item(item)
    seed = input_seed(kernel_cells(namespace), [g.name for g in ASSIGNMENTS[assignment]])
    client = InProcessClient(namespace, assignment, seed=seed)
    tests = scored_tests(run_hidden_suite(assignment, client, items={item}), assignment)
    tests = [t for t in tests if t.item == item]
    maximum = next(g.points for g in ASSIGNMENTS[assignment] if g.name == item)
    # nbgrader rejects a partial score above the cell's points: no float noise over the top.
    score = float(min(maximum, round(sum(t.score for t in tests), 6)))
    print(f"Hidden checks for {item}: {score:g} / {maximum:g} points\n{feedback(tests)}")
    return score

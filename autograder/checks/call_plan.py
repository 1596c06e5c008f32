"""The call plan of a submission: the batches of calls its hidden suite asks of each graded
item, learned by running the suite, with the submission's input seed, against the reference
solution in this process (an InProcessClient on the reference module). The sandbox then runs
each item's planned calls in one fork (see Client._fetch).
"""
import functools
import importlib

from autograder.checks.client import InProcessClient
from autograder.checks.suite import run_hidden_suite


class PlanningClient(InProcessClient):
    """The reference answers every call, with no stand-ins (it needs none). A batch with a time
    limit of its own (the long training run) runs alone in the sandbox, so it is not planned;
    its reference answer is kept for the next submission, whose inputs for it are the same."""

    def _call_batch(self, specs, timeout=None):
        specs = [{k: v for k, v in spec.items() if k != "stand_ins"} for spec in specs]
        if timeout is None:
            return super()._call_batch(specs)
        key = self._key(specs, timeout)
        if key not in TIMED_ANSWERS:
            if len(TIMED_ANSWERS) >= 16:  # inputs drawn per submission: keep a few only
                TIMED_ANSWERS.clear()
            TIMED_ANSWERS[key] = super()._call_batch(specs)
        return TIMED_ANSWERS[key]


TIMED_ANSWERS = {}  # wire key -> the reference's answers of a batch with a time limit


@functools.lru_cache(maxsize=32)
def call_plan(assignment, seed):
    """{graded item: {wire key: [call specs]}}: the batches the hidden suite asks of each item
    of ``assignment`` when the answers are right, for inputs drawn from ``seed``."""
    reference = importlib.import_module(f"reference.{assignment}")
    client = PlanningClient(dict(vars(reference)), assignment=assignment, seed=seed)
    run_hidden_suite(assignment, client)
    return client.asked

"""The call plan of a submission: the batches of calls each graded item's checks will ask for,
read from the spec's declarations for the submission's input seed, with no reference computed
and no student code run. The sandbox then runs each item's planned calls in one fork (see
Client._fetch).

Each check of each item (engine.yield_checks) is started with a stand-in for the submission
that writes down the calls it asks for and stops the check there: every property asks for all
its calls at once, before it computes what it expects, so the first request is the whole of
it. A check of its own (a ``body``) that asks again later gets that answer on demand, in a fork
of its own, as does a batch with a time limit of its own (the long training run).
"""
import functools
import importlib

from autograder.checks.client import Client
from autograder.checks.engine import Check, yield_checks


class Planned(Exception):
    """The check asked for its calls: they are written down, and it goes no further."""


class PlanningStudent:
    """Stands for a submission while its calls are planned: {wire key: [call specs]} in ``asked``."""

    def __init__(self, seed):
        self.seed, self.asked = seed, {}

    def batch(self, specs, timeout=None):
        if timeout is None:
            self.asked[Client._key(specs, None)] = list(specs)
        raise Planned

    def answers(self, specs):
        for spec in specs:
            self.asked[Client._key([spec], None)] = [spec]
        raise Planned


@functools.lru_cache(maxsize=32)
def call_plan(assignment, seed):
    """{graded item: {wire key: [call specs]}}: the batches the hidden checks of ``assignment``
    ask of each item, for inputs drawn from ``seed``."""
    spec = importlib.import_module(f"autograder.assignments.{assignment}.spec")
    reference = importlib.import_module(f"reference.{assignment}")
    plan = {}
    for item in spec.ITEMS:
        student = PlanningStudent(seed)
        for description, _, _, body in yield_checks(item):
            try:
                body(Check(item, reference, student, description))
            except Exception:  # Planned, or a check that cannot plan: its calls are made on demand
                pass
        plan[item.name] = student.asked
    return plan

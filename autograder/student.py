"""The hidden checks' handle on a submission: calls that return plain values or fail.

Every call goes to the sandboxed student process; a failure comes back as CheckFailed
with a sentence for the student, never as a traceback of the grader.
"""
import copy

import numpy as np

from autograder import wire
from autograder.checks import CheckFailed, NotImplementedYet
from autograder.sandbox import SandboxFailure


def call_spec(target, args=(), init=(), attributes=None, return_args=False, arg_objects=None,
              return_attributes=None, overflow_is_error=False):
    """One call, as the runner expects it (see student_runner.run_call).

    ``target`` is "function" or "Class.method" (the object is built with ``init`` and then
    gets ``attributes``, dotted paths allowed). ``arg_objects`` {index: {"class", "init",
    "set"}} builds objects in the student process to pass as those arguments;
    ``return_attributes`` {index: [paths]} reads their attributes back after the call.
    ``overflow_is_error`` runs the call under np.errstate(over="raise").
    """
    spec = {"target": target, "args": [np.asarray(a) if isinstance(a, np.ndarray) else a for a in args]}
    if init:
        spec["init"] = list(init)
    if attributes:
        spec["set"] = dict(attributes)
    if return_args:
        spec["return_args"] = True
    if arg_objects:
        spec["arg_objects"] = {str(i): dict(o) for i, o in arg_objects.items()}
    if return_attributes:
        spec["return_attributes"] = {str(i): list(p) for i, p in return_attributes.items()}
    if overflow_is_error:
        spec["numpy_errors"] = {"over": "raise"}
    return spec


class Student:
    """Calls into one submission's sandbox.

    Every batch runs in a fresh fork of the same post-notebook state, random seeds included,
    so the same batch always gets the same answers: a batch that several checks ask for runs
    once, and the others get copies of its answers (see also ``prefetch``).
    """

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.answered = {}  # the batch's wire bytes -> its answers

    @staticmethod
    def _key(specs, timeout):
        return wire.pack({"specs": list(specs), "timeout": timeout})

    def batch(self, specs, timeout=None):
        """Raw answers of several calls run together in one fresh fork, within ``timeout`` seconds
        (default: the sandbox's per-batch limit)."""
        key = self._key(specs, timeout)
        if key not in self.answered:
            try:
                self.answered[key] = self.sandbox.call_batch(specs, timeout)
            except SandboxFailure as failure:
                raise CheckFailed(f"{failure}.") from None
        return copy.deepcopy(self.answered[key])


    def values(self, target, specs):
        """Values of several calls of ``target`` (built with call_spec), in one batch."""
        return [self.value(target, answer) for answer in self.batch(specs)]

    @staticmethod
    def value(target, answer):
        """The returned value of one answer, or CheckFailed saying what went wrong."""
        if "ok" in answer:
            return answer["ok"]
        if "missing" in answer:
            raise CheckFailed(f"`{target}` is not defined: the notebook defines no `{answer['missing']}`. "
                              "Check its name, and that its cell runs without error.")
        if "unsendable" in answer:
            raise CheckFailed(f"`{target}` returned something that is not numbers ({answer['unsendable']}): "
                              "return NumPy arrays or floats.")
        raised, where = answer.get("raised", "an error"), answer.get("where", "")
        if raised == "NotImplementedError":
            raise NotImplementedYet(f"`{target}` is not implemented yet: it still raises NotImplementedError.")
        step = "setting up the object for" if answer.get("setup_failed") else "calling"
        message = answer.get("message", "")
        if raised == "OSError" and "File too large" in message:
            raise CheckFailed(f"`{target}` printed more output than allowed (the limit is for the whole "
                              "submission): remove large or repeated prints.")
        raise CheckFailed(f"{step} `{target}` raised {raised}{': ' + message if message else ''}"
                          f"{' (' + where + ')' if where else ''}.")

    def prefetch(self, specs):
        """Run independent calls (one function tried on several inputs) in one fork, and keep
        each answer as the answer of that call alone: a fork per call costs more than the
        calls. If the batch fails as a whole nothing is kept, and each call later runs alone."""
        missing = [spec for spec in specs if self._key([spec], None) not in self.answered]
        if len(missing) < 2:
            return
        try:
            answers = self.sandbox.call_batch(missing)
        except SandboxFailure:
            return
        for spec, answer in zip(missing, answers):
            self.answered[self._key([spec], None)] = [answer]

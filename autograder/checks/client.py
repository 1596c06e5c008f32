"""The hidden checks' handle on a submission: calls that return plain values or fail.

Every call goes to the sandboxed student process; a failure comes back as CheckFailed
with a sentence for the student, never as a traceback of the grader.
"""
import copy
import functools

import numpy as np

from autograder.checks import stand_ins as reference_stand_ins
from autograder.sandbox import wire
from autograder.checks.expect import CheckFailed, NotImplementedYet
from autograder.sandbox.inside import calls
from autograder.sandbox.session import Limits, SandboxFailure


def call_spec(target, args=(), init=(), attributes=None, return_args=False, arg_objects=None,
              return_attributes=None, overflow_is_error=False, stand_ins=()):
    """One call, as the runner expects it (see autograder/sandbox/inside/calls.py, run_call).

    ``target`` is "function" or "Class.method" (the object is built with ``init`` and then
    gets ``attributes``, dotted paths allowed). ``arg_objects`` {index: {"class", "init",
    "set"}} builds objects in the student process to pass as those arguments;
    ``return_attributes`` {index: [paths]} reads their attributes back after the call.
    ``overflow_is_error`` runs the call under np.errstate(over="raise").
    ``stand_ins`` ["logistic", "LinearUpdate.backward", ...]: graded names the call's code uses
    that answer as the course's reference does, whatever the student wrote (autograder/checks/stand_ins.py).
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
    if stand_ins:
        spec["stand_ins"] = list(stand_ins)
    return spec


class Client:
    """Calls into one submission's sandbox.

    Every batch runs in a fresh fork of the same post-notebook state, random seeds included,
    so the same batch always gets the same answers: a batch that several checks ask for runs
    once, and the others get copies of its answers.

    A fork costs more than most calls, so the calls of one graded item are fetched together:
    ``plan`` {item: {wire key: [call specs]}} holds the batches the hidden checks ask of each
    item, read from the spec (see autograder/checks/call_plan.py). At the item's first
    check they run in one fork, each answer kept as the answer of its batch alone. The fork
    starts with one call made twice ("gives the same output twice", or the item's first call
    again), from the fresh state: if the two answers differ, the function keeps state, and
    the item's other calls run one fork each instead (see ``_fetch``). So the answers are the
    same as one fork per batch, but for state that a repeated call cannot show (a cache keyed
    on the input's shape, say), which is seen by the later calls of its own item only.

    Calls with stand-ins get their answers from ``stand_in(request) -> answer`` (default: the
    reference solution of ``assignment``, see autograder/checks/stand_ins.py).

    ``seed`` is the submission's input seed (autograder/notebook/input_seed.py): the hidden
    checks draw their inputs from it.
    """

    def __init__(self, sandbox, plan=None, assignment=None, stand_in=None, seed=0):
        self.sandbox = sandbox
        self.seed = seed
        self.plan = plan or {}
        if stand_in is None and assignment is not None:
            stand_in = functools.partial(reference_stand_ins.reference_answer, assignment)
        self.stand_in = stand_in
        self.answered = {}  # the batch's wire bytes -> its answers
        self.item = None  # the graded item being checked
        self.uses = ()  # the graded names it calls, answered by stand-ins in its calls
        self.asked = {}  # item -> {wire bytes: specs}: the batches its checks asked for
        self.fetched = set()  # items whose planned calls have run

    @staticmethod
    def _key(specs, timeout):
        return wire.pack({"specs": list(specs), "timeout": timeout})

    def _call_batch(self, specs, timeout=None):
        """The sandbox's answers of ``specs``; their stand-ins, if any, answered by ``stand_in``."""
        if any(spec.get("stand_ins") for spec in specs):
            return self.sandbox.call_batch(specs, timeout, stand_in=self.stand_in)
        return self.sandbox.call_batch(specs, timeout)

    def grading(self, item, uses=()):
        """The hidden suite is about to run a check of ``item``, which calls the graded names
        ``uses``: fetch the item's planned calls. From now on every call of ``item`` itself has
        stand-ins for ``uses``, so a bug there costs once (docs/scoring.md); calls of other
        names (the student's own dependencies) do not."""
        self.item, self.uses = item, tuple(uses)
        if item not in self.fetched:
            self.fetched.add(item)
            planned = [self._with_stand_ins(specs) for specs in self.plan.get(item, {}).values()]
            self._fetch({self._key(specs, None): specs for specs in planned})

    def batch(self, specs, timeout=None):
        """Raw answers of several calls run together in one fresh fork, each within ``timeout``
        seconds (default: the sandbox's per-call limit). A failure is kept like an answer."""
        specs = self._with_stand_ins(specs)
        key = self._key(specs, timeout)
        if timeout is None:
            self.asked.setdefault(self.item, {}).setdefault(key, list(specs))
        if key not in self.answered:
            try:
                self.answered[key] = self._call_batch(specs, timeout)
            except SandboxFailure as failure:
                self.answered[key] = failure
        if isinstance(self.answered[key], SandboxFailure):
            raise CheckFailed(f"{self.answered[key]}.")
        return copy.deepcopy(self.answered[key])

    def _with_stand_ins(self, specs):
        """``specs``, each call of the item being checked with stand-ins for the names it uses."""
        if not self.uses:
            return list(specs)
        return [{**spec, "stand_ins": list(self.uses)} if spec["target"] == self.item and "stand_ins" not in spec
                else spec for spec in specs]

    def answers(self, specs):
        """Raw answers of independent calls, each as if it ran alone (see ``prefetch``)."""
        self.prefetch(specs)
        return [self.batch([spec])[0] for spec in specs]

    def values(self, target, specs):
        """Values of independent calls of ``target`` (built with call_spec)."""
        return [self.value(target, answer) for answer in self.answers(specs)]

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
        callee = answer.get("function", "")
        if callee and callee != target and not callee.startswith(f"{target}.<locals>"):
            message = answer.get("message", "")
            if raised == "NotImplementedError":
                raise CheckFailed(f"`{target}` calls `{callee}`, which is not implemented yet (it still raises "
                                  f"NotImplementedError){' (' + where + ')' if where else ''}.")
            raise CheckFailed(f"`{target}` calls `{callee}`, which raised {raised}{': ' + message if message else ''}"
                              f"{' (' + where + ')' if where else ''}.")
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
        """Run the independent calls ``specs`` not answered yet in one fork, and keep each answer
        as the answer of that call alone (see ``_fetch``)."""
        self._fetch({self._key([spec], None): [spec] for spec in self._with_stand_ins(specs)})

    def _fetch(self, batches):
        """Run the batches {wire key: [specs]} not answered yet in one fork, and keep each
        batch's answers as if it had run alone.

        The fork first makes one call twice: the item's pair for "gives the same output twice"
        if it has one (its calls thus start from the fresh state, as they would alone), or else
        the first call and then the same call again. If the two answers differ, the function
        keeps state (or draws random numbers), and the other batches wait for a fork each,
        as without a plan. Other batches of several calls wait for their own fork.

        The answers come one by one, each call within the per-call limit: when a call hangs or
        ends the process, the batches before it keep their answers, the failure is kept as its
        batch's own (run alone, it would fail the same way), and the batches after it run later.
        """
        missing = {key: specs for key, specs in batches.items() if key not in self.answered}
        repeated = [key for key, specs in missing.items() if is_repeated(specs)]
        keys = repeated[:1] + [key for key, specs in missing.items() if len(specs) == 1]
        if len(keys) < 2:
            return
        lead = missing[keys[0]]
        again = [] if len(lead) > 1 else lead[:1]  # a single call is made twice
        failure = None
        try:
            answers = self._call_batch(lead + again + [spec for key in keys[1:] for spec in missing[key]])
        except SandboxFailure as failed:
            answers, failure = failed.answered, failed
        if len(answers) < len(lead):
            self.answered[keys[0]] = failure
            return
        self.answered[keys[0]] = answers[:len(lead)]
        start = len(lead) + len(again)
        if len(answers) < start or not same_on_the_wire(answers[:start]):
            return  # the later answers could depend on the earlier calls: they run alone
        for key in keys[1:]:
            end = start + len(missing[key])
            if end > len(answers):  # the call that failed is in this batch
                self.answered[key] = failure
                return
            self.answered[key], start = answers[start:end], end


def same_on_the_wire(values):
    """Whether ``values`` (call specs or answers) are all equal, byte for byte as sent."""
    return len({wire.pack(value) for value in values}) == 1


def is_repeated(specs):
    """Whether ``specs`` is one call made several times."""
    return len(specs) > 1 and same_on_the_wire(specs)


class InProcessClient(Client):
    """Calls into a namespace of this process, answering as the sandbox would: plain numbers
    only, each call's stand-ins in place for that call alone, through the same frames. The
    kernel's client (integrations/in_kernel.py) is this."""

    def __init__(self, namespace, assignment=None, stand_in=None, seed=0):
        super().__init__(sandbox=None, assignment=assignment, stand_in=stand_in, seed=seed)
        self.namespace = namespace
        self.ask = reference_stand_ins.kernel_asker(self.stand_in, Limits().answer_bytes) if self.stand_in else None

    def _call_batch(self, specs, timeout=None):  # no time limit here: nbgrader's cell timeout applies in a kernel
        if self.ask is None and any(spec.get("stand_ins") for spec in specs):
            raise ValueError("calls with stand_ins need a stand_in responder")
        answers = [calls.run_call(self.namespace, copy.deepcopy(spec), ask=self.ask) for spec in specs]
        # The same boundary as the sandbox: whatever comes back is re-read as arrays and numbers.
        return wire.unpack(wire.pack(answers)[wire.HEADER_BYTES:])

    def _fetch(self, batches):
        """Nothing to save in-process: each call runs when a check makes it."""

"""The hidden checks, generated from an assignment's spec (autograder/assignments/<a>/spec.py).

A spec is one ``Item`` per graded name: how its inputs are drawn, which are its arguments, the texts
of its checks. ``yield_checks`` yields the generic properties in the suite's order; ``checks(ITEMS,
ref)`` makes them one parametrized pytest test, ids "<item>: <description>", each marked ``graded(
item, description, kind, weight)`` for the suite's plugin. The reference answers in the grader's
process and fixes the structure (numbers, arrays, nested tuples/lists/dicts), shapes and values.
Each check draws from an rng seeded with ``student.seed`` and the crc32 of item and description
(the typical call: "typical call"), so adding a check never shifts another's draws. A bug costs
once: a value check's failed draw passes when right on top of the student's own ``Item.uses``.
Every property asks for all its calls at once, before it computes what it expects: the call
plan (call_plan.py) reads them so, from the spec alone.

For methods (digits_mlp): ``init``/``attributes`` build the object of a "Class.method" item;
``state(obj)`` sends a reference object to a method on another item's own path; ``objects`` builds
objects passed as arguments where the call runs (train's Network) and ``read`` brings their
attributes back for ``result``; ``labels`` stay integer in the integers check.
The reference answers through the same ``run_call`` as the sandbox. Not there: gates passing on
top of own dependencies (the stand-ins keep a broken component from costing a gate).
"""
import copy
import functools
import importlib.util
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from autograder.checks.expect import (CheckFailed, Mistake, NotImplementedYet, describe, expect_array, expect_close,
                                      expect_finite, scale_mistakes)
from autograder.checks.numeric_gradient import numeric_gradient
from autograder.checks.properties import Call
from autograder.sandbox.inside.calls import run_call
from autograder.scores.scoring import GATE, ROBUSTNESS, VALUE


@dataclass(frozen=True)
class Value:
    """A value check: the result (only the dict keys ``parts``, if given) is the reference's on each draw."""
    description: str
    weight: float = 3.0
    parts: tuple = None


@dataclass(frozen=True)
class Numeric:
    """The parts ``wrt`` {part, None: all: input path "params.W1"} are central differences of ``objective``."""
    objective: Callable
    wrt: dict
    dims: dict
    note: object = ""  # after the result's name; or note(ctx, inputs, got), asked only on a failure
    description: str = "matches a numeric gradient"
    weight: float = 2.0


@dataclass(frozen=True)
class Case:
    """The result on inputs of its own (``inputs(rng) -> [inputs]``), or a check of its own (``body``)."""
    description: str
    inputs: Callable = None
    kind: str = ROBUSTNESS
    weight: float = 1.0
    note: str = ""  # after the result's name in messages: "for z = [...]"
    finite: str = None  # the result must be finite first; the hint when it is not, or the call fails
    overflow_is_error: bool = False
    body: Callable = None


@dataclass(frozen=True)
class Item:
    name: str  # "gradient" or "Class.method"
    args: tuple = ()  # the inputs passed as arguments, in order
    draw: Callable = lambda rng: {}  # draw(rng, **dims) -> {input: value}
    dims: tuple = ({},)  # per value draw: numbers, or ranges to draw an int from (sizes distinct); [0]: typical
    value: object = None  # the value check's description (weight 3), or a tuple of Value
    mistakes: Callable = None  # (ref, inputs, want) -> {Mistake: wrong answer, structured as want}
    inputs_text: Callable = None  # inputs -> "for N = 7"
    type_text: object = "returns an array"  # "returns ..." (failures say "should return ..."); False: none
    shape_text: str = None  # None: no shape gate
    finite_text: str = "is finite"
    valid: Callable = None  # result -> what is wrong with a finite result, or None (the finite gate)
    shape_hint: Callable = None  # (got shape, want shape, path, inputs) -> a hint, or the Mistake it shows
    shapes: dict = field(default_factory=dict)  # path -> the shapes allowed, when not only the reference's
    part_label: Callable = None  # path -> "The gradient for W2"
    order: tuple = ()  # dict keys in the order they are compared
    numeric: Numeric = None
    cases: tuple = ()
    integers: Callable = None  # (rng, typical inputs) -> inputs with integer arrays, or [(variant, inputs)]
    integers_text: str = "accepts integer arrays"
    labels: tuple = ()  # inputs that are integer labels: the integers check leaves them integer
    unchanged: str = "leaves its inputs unchanged"
    deterministic: str = "gives the same output twice"
    noun: str = "results"  # "gave different results"
    weights: dict = field(default_factory=dict)  # description -> weight of a robustness check (default 1)
    uses: tuple = ()  # the graded names it calls
    result: Callable = None  # (value, {argument index: {path: attribute read}}) -> the result the checks see
    init: Callable = None  # inputs -> constructor arguments (methods)
    attributes: Callable = None  # inputs -> {dotted path: value} set on the object (methods)
    objects: Callable = None  # inputs -> {argument index: {"class", "init", "set"}}: built where the call runs
    read: dict = field(default_factory=dict)  # {argument index: [paths]} of those objects, read after the call
    state: Callable = None  # reference object -> (init, attributes), for other items' own paths
    rtol: float = 1e-6
    atol: float = 1e-8

    @property
    def what(self):
        return f"{self.name}({', '.join(self.args)})"


def uses(items):
    """The hidden module's USES {item: the graded names it calls}."""
    return {item.name: item.uses for item in items if item.uses}


# --- results of any structure ---------------------------------------------------------------------

def container(value):
    return isinstance(value, dict) or isinstance(value, (tuple, list)) and not (
        value and all(np.isscalar(v) for v in value))  # a list of numbers is one part (a history)


def parts(value, order=()):
    """[(path, part)] of a number/array or a nested tuple/list/dict of them; keys in ``order`` first."""
    if isinstance(value, dict):
        keys = [k for k in order if k in value] + [k for k in value if k not in order]
        return [((k, *p), leaf) for k in keys for p, leaf in parts(value[k], order)]
    if container(value):
        return [((i, *p), leaf) for i, v in enumerate(value) for p, leaf in parts(v, order)]
    return [((), value)]


def at(value, path):
    """The part of ``value`` at ``path``, or None."""
    try:
        return functools.reduce(lambda part, step: part[step], path, value)
    except (KeyError, IndexError, TypeError):
        return None


def mismatch(got, want):
    """None, or the pair (got, want) where the structure of ``got`` first differs from ``want``'s."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return got, want
        return next(filter(None, (mismatch(got[k], want[k]) for k in want)), None)
    if container(want):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return got, want
        return next(filter(None, map(mismatch, got, want)), None)
    return None


def same(got, want, rtol=1e-6, atol=1e-8):
    try:
        return not mismatch(got, want) and all(np.shape(at(got, p)) == np.shape(w) and np.allclose(
            np.asarray(at(got, p), float), np.asarray(w, float), rtol, atol, equal_nan=True) for p, w in parts(want))
    except (TypeError, ValueError):
        return False


def tree_map(f, value):
    if isinstance(value, dict):
        return {k: tree_map(f, v) for k, v in value.items()}
    return type(value)(tree_map(f, v) for v in value) if container(value) else f(value)


def replaced(value, path, new):
    """A copy of ``value`` with the part at ``path`` replaced by ``new``."""
    if not path:
        return new
    if isinstance(value, dict):
        return {**value, path[0]: replaced(value[path[0]], path[1:], new)}
    return type(value)(replaced(v, path[1:], new) if i == path[0] else v for i, v in enumerate(value))


def scale(want, n):
    """expect.scale_mistakes (×N, ÷N, the sign) for a result of any structure."""
    return {mistake: tree_map(lambda a, f=f: np.asarray(a, float) * f, want)
            for mistake, f in scale_mistakes(n).items()}


def number(value, what):
    array = expect_array(value, what)
    if array.size != 1:
        raise CheckFailed(f"{what} should be one number, but it is {describe(array)}.")
    return float(array.ravel()[0])


def informative(values):
    """Whether answers of a dependency say something about their inputs: not all the same for
    different inputs, and not each a constant (zeros, a fixed number). Only then is an item
    "right on top of the student's own dependency" a way to pass."""
    try:
        arrays = [np.concatenate([np.asarray(p, float).ravel() for _, p in parts(v)]) for v in values]
    except (TypeError, ValueError):
        return False
    if not arrays or any(a.size == 0 for a in arrays):
        return False
    if len(arrays) > 1 and all(a.shape == arrays[0].shape and np.array_equal(a, arrays[0]) for a in arrays[1:]):
        return False
    return not all(a.size > 1 for a in arrays) or any(np.ptp(a) > 0 for a in arrays)


STATES = {}  # "Class.method" -> Item.state, for own paths through methods


# --- one check of one item ------------------------------------------------------------------------

class Check:
    """One check of one item for one submission: its draws, its calls, the reference's answers; the
    properties are its methods, body(check)."""

    def __init__(self, item, module, student, description):
        self.item, self.module, self.student = item, module, student
        self.rng = self.rng_for(description)

    def rng_for(self, description):
        seed = getattr(self.student, "seed", 0) or 0
        return np.random.default_rng([seed, zlib.crc32(self.item.name.encode()), zlib.crc32(description.encode())])

    def draw(self, dims, rng=None):
        rng = rng or self.rng
        for _ in range(100):
            picked = {k: int(rng.integers(v.start, v.stop)) if isinstance(v, range) else v for k, v in dims.items()}
            sizes = [v for v in picked.values() if isinstance(v, int)]
            if len(set(sizes)) == len(sizes):
                return self.item.draw(rng, **picked)
        raise ValueError(f"{self.item.name}: no distinct sizes in {dims}")

    def typical(self):
        return self.draw(self.item.dims[0], self.rng_for("typical call"))

    def call(self, inputs, **options):
        item = self.item
        return Call(item.name, tuple(inputs[a] for a in item.args if a in inputs),  # missing: the defaults
                    tuple(item.init(inputs)) if item.init else (),
                    item.attributes(inputs) if item.attributes else {}, objects=item.objects(inputs) if item.objects
                    else {}, read=item.read, **options)

    def run(self, inputs, **options):
        return self.values([inputs], **options)[0]

    def values(self, inputs_list, **options):
        answers = self.student.answers([self.call(inputs, **options).spec() for inputs in inputs_list])
        return [self.result(self.student.value(self.item.name, answer), answer) for answer in answers]

    def result(self, value, answer):
        return self.item.result(value, answer.get("attributes") or {}) if self.item.result else value

    def want(self, inputs, module=None):
        """The reference's answer, in the grader's process, through the sandbox's own ``run_call``."""
        with np.errstate(all="ignore"):
            answer = run_call(vars(module or self.module), self.call(copy.deepcopy(inputs)).spec())
        if "ok" not in answer:
            raise RuntimeError(f"the reference failed on {self.item.name}: {answer}")
        return self.result(answer["ok"], answer)

    def shown(self, inputs):
        """'backprop(X (7, 3), t (7, 1), params with W1 (3, 4), ...)', 'delta_w(..., learning_rate=0.3)'."""
        def show(v):
            if isinstance(v, dict):
                return " with " + ", ".join(f"{k} {np.shape(part)}" for k, part in v.items())
            return f" {v.shape}" if isinstance(v, np.ndarray) else f"={v!r}"
        return f"{self.item.name}({', '.join(a + show(inputs[a]) for a in self.item.args if a in inputs)})"

    def label(self, path, call_text=None):
        """The part ``path`` of the result, in messages."""
        if path and self.item.part_label:
            return self.item.part_label(path) + (f" from {call_text}" if call_text else "")
        return f"The result of {call_text}" if call_text else self.item.what

    def structure(self, got, want, inputs):
        """CheckFailed unless ``got`` has the structure (nesting, keys) of ``want``."""
        problem = mismatch(got, want)
        if problem and isinstance(problem[0], dict) and isinstance(problem[1], dict):
            raise CheckFailed(f"{self.shown(inputs)} returned a dict with the keys {', '.join(map(repr, problem[0]))}; "
                              f"expected exactly {', '.join(map(repr, problem[1]))}. Keys are case-sensitive.")
        if problem:
            count = f" of {len(got)} items" if isinstance(got, (tuple, list)) else ""
            should = str(self.item.type_text or self.item.shape_text).replace("returns", "return", 1)
            raise CheckFailed(f"{self.shown(inputs)} should {should}, but it returned {describe(got)}{count}.")

    def shaped(self, got, want, path, inputs, what):
        """``got`` as an array of the shape of ``want`` (or one the item allows), or CheckFailed."""
        got = expect_array(got, what)
        allowed = self.item.shapes.get(path, (np.shape(want),))
        if got.shape not in allowed:
            hint = self.item.shape_hint(got.shape, np.shape(want), path, inputs) if self.item.shape_hint else ""
            raise CheckFailed(f"{what} has shape {got.shape}; expected {' or '.join(map(str, allowed))}."
                              f"{' ' + str(hint) if hint else ''}", hint if isinstance(hint, Mistake) else None)
        return got

    def expect(self, got, want, inputs, note="", mistakes=None, rtol=None, atol=None, only=None):
        """``got`` equals ``want`` part by part (``only`` those keys), or CheckFailed with the likely mistake."""
        item, rtol, atol = self.item, rtol or self.item.rtol, atol or self.item.atol
        if mistakes is None:
            mistakes = item.mistakes(self.module, inputs, want) if item.mistakes else {}
        self.structure(got, want, inputs)
        # a mistake that explains the whole result names every part's failure (a sum over the examples
        # multiplies every gradient by N, though one part alone may also fit a narrower mistake)
        whole = next((t for t, m in mistakes.items() if same(got, m, rtol, atol)), None)
        for path, w in parts(want, item.order):
            if only is None or path[0] in only:
                what, g = self.label(path), at(got, path)
                g = number(g, what) if isinstance(w, float) else self.shaped(g, w, path, inputs, what)
                wrong = {whole: g} if whole else {text: at(m, path) for text, m in mistakes.items()}
                expect_close(g, w, what, wrong, rtol, atol, inputs=note)

    def own(self, inputs_list):
        """The reference's answers with the names ``item.uses`` calling the student's own (a function
        as a module global, a method as a class attribute, in a private copy of the reference module),
        when those say something about their inputs; else []."""
        answers = {}

        def own(name, method, *args):
            init, attributes = STATES[name](args[0]) if method else ((), {})
            request = Call(name, args[1:] if method else args, init, attributes).spec()
            answers.setdefault(name, []).append(self.student.value(name, self.student.answers([request])[0]))
            return answers[name][-1]
        try:
            spec = importlib.util.find_spec(self.module.__name__)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for name in self.item.uses:
                owner, _, attribute = name.rpartition(".")
                setattr(getattr(module, owner) if owner else module, attribute,
                        lambda *args, name=name, method=bool(owner): own(name, method, *args))
            values = [self.want(inputs, module) for inputs in inputs_list]
        except Exception:  # a dependency missing, a stub, raising, or an answer the reference cannot use
            return []
        return values if all(map(informative, answers.values())) else []

    def judged(self, inputs_list, got_list, compare, own=True):
        """``compare(got, inputs)`` on every draw; a failed draw passes if right on top of own dependencies."""
        mine = None
        for index, (inputs, got) in enumerate(zip(inputs_list, got_list)):
            try:
                compare(got, inputs)
            except CheckFailed as failed:
                if isinstance(failed, NotImplementedYet) or not (own and self.item.uses):
                    raise
                mine = self.own(inputs_list) if mine is None else mine
                if not (mine and same(got, mine[index], self.item.rtol, self.item.atol)):
                    raise

    # --- the properties

    def gate(self, kind):
        """The typical call runs ("runs": a stub's NotImplementedError counts), is implemented, has the
        reference's structure, each part an array ("type"; a number if the reference's is), of the
        reference's shape ("shape"), finite ("finite")."""
        inputs = self.typical()
        try:
            got = self.run(inputs)
        except NotImplementedYet:
            if kind != "runs":
                raise
        if kind in ("runs", "implemented"):
            return
        want = self.want(inputs)
        if kind == "type" and isinstance(want, float):
            return number(got, f"The result of {self.shown(inputs)}")
        self.structure(got, want, inputs)
        for path, w in parts(want, self.item.order):
            what = self.label(path, self.shown(inputs))
            if kind == "shape":
                self.shaped(at(got, path), w, path, inputs, what)
            (expect_finite if kind == "finite" else expect_array)(at(got, path), what)
        if kind == "finite" and self.item.valid and self.item.valid(got):
            raise CheckFailed(self.item.valid(got))

    def value(self, value):
        inputs_list = [self.draw(dims) for dims in self.item.dims]
        text = self.item.inputs_text or (lambda inputs: "")
        self.judged(inputs_list, self.values(inputs_list),
                    lambda got, inputs: self.expect(got, self.want(inputs), inputs, text(inputs), only=value.parts))

    def numeric(self):
        numeric, item = self.item.numeric, self.item
        inputs = self.draw(numeric.dims)
        got = self.run(inputs)  # first, as every property asks: the call plan reads the calls so
        want = self.want(inputs)
        mistakes = item.mistakes(self.module, inputs, want) if item.mistakes else {}
        for part, path in numeric.wrt.items():
            keys = path.split(".")
            estimate = numeric_gradient(lambda v: numeric.objective(self.module, replaced(inputs, keys, v)),
                                        at(inputs, keys))
            want = replaced(want, () if part is None else (part,), estimate)

        def compare(got, inputs):
            if not same(got, want, 1e-5, 1e-7):
                note = numeric.note(self, inputs, got) if callable(numeric.note) else numeric.note
                self.expect(got, want, inputs, note, mistakes, 1e-5, 1e-7)
        self.judged([inputs], [got], compare)

    def case(self, case):
        if case.body:
            return case.body(self)
        inputs_list = case.inputs(self.rng)
        try:
            got_list = self.values(inputs_list, overflow_is_error=case.overflow_is_error)
        except CheckFailed as failed:
            if isinstance(failed, NotImplementedYet) or not case.finite:
                raise
            raise CheckFailed(f"{failed} {case.finite}") from None

        def compare(got, inputs):
            want = self.want(inputs)
            self.structure(got, want, inputs)
            for path, _ in parts(want, self.item.order) if case.finite else ():
                expect_finite(at(got, path), f"{self.label(path)} {case.note}".strip(), case.finite)
            self.expect(got, want, inputs, case.note, {})
        self.judged(inputs_list, got_list, compare, own=case.kind == VALUE)

    def integers(self):
        """Integer arrays in the inputs give the result of the same values as floats."""
        made = self.item.integers(self.rng, self.typical())
        variants = made if isinstance(made, list) else [("", made)]
        inputs = [case for _, ints in variants for case in (ints, {k: v if k in self.item.labels else tree_map(
            lambda a: a.astype(float) if isinstance(a, np.ndarray) else a, v) for k, v in ints.items()})]
        answers = self.values(inputs)
        for (variant, _), got, want in zip(variants, answers[0::2], answers[1::2]):
            for path, w in parts(want, self.item.order):
                if not same(at(got, path), w, 1e-9, 1e-12):
                    where = (" for " + ".".join(map(str, path)) if path else "") + (
                        f" with {variant}" if variant else " for integer inputs")
                    raise CheckFailed(f"{self.item.name} gives a different result{where} ({describe(at(got, path))}) "
                                      f"than for the same values as floats ({describe(w)}). Convert with np.asarray(x, "
                                      "dtype=float), and avoid integer division or in-place operations on the inputs.")

    def unchanged(self):
        """The arguments (arrays, and the arrays in dicts) are as they were after the call."""
        call = self.call(self.typical())
        answer = self.student.batch([call.spec(return_args=True)])[0]
        self.student.value(self.item.name, answer)
        for name, before, after in zip(self.item.args, call.args, answer.get("args_after", [])):
            if isinstance(before, dict) and (not isinstance(after, dict) or set(after) != set(before)):
                keys = ", ".join(map(repr, after)) if isinstance(after, dict) else describe(after)
                raise CheckFailed(f"{self.item.name} changed the {name} dict it was given: its keys were "
                                  f"{', '.join(map(repr, before))}, afterwards they are {keys}. Build a new dict "
                                  f"for the result; leave {name} alone.")
            for path, part in parts(before):
                if isinstance(part, np.ndarray) and not np.array_equal(np.asarray(at(after, path)), part):
                    where = name + "".join(f"[{k!r}]" for k in path) if path else f"its argument {name}"
                    raise CheckFailed(f"{self.item.name} modified {where} in place (it was {describe(part)}, it "
                                      f"became {describe(at(after, path))}). Work on a copy, or use operations that "
                                      "return new arrays (a = a - b, not a -= b).")

    def deterministic(self):
        """The same call twice in one process (state would show) gives the same result."""
        inputs = self.typical()
        spec = self.call(inputs).spec()
        first, second = (self.student.value(self.item.name, a) for a in self.student.batch([spec, spec]))
        for path, a in parts(first, self.item.order):
            if not same(b := at(second, path), a, 0.0, 0.0):
                try:
                    gap = f", differing by up to {np.max(np.abs(np.subtract(a, b, dtype=float))):.3g}"
                except (TypeError, ValueError):
                    gap = ""
                raise CheckFailed(f"Calling {self.shown(inputs)} twice with the same inputs gave different "
                                  f"{self.item.noun}{' for ' + '.'.join(map(str, path)) if path else ''} "
                                  f"({describe(a)} then {describe(b)}{gap}). Do not keep state between calls or use "
                                  "randomness.")


# --- as pytest tests ------------------------------------------------------------------------------

def yield_checks(item):
    """(description, kind, weight, body(check)) of every check of ``item``, in the suite's order."""
    for text, kind in (("runs", "runs"), ("is implemented", "implemented"), (item.type_text, "type"),
                       (item.shape_text, "shape"), (item.finite_text, "finite")):
        if text:
            yield text, GATE, 1.0, functools.partial(Check.gate, kind=kind)
    for value in (Value(item.value),) if isinstance(item.value, str) else item.value or ():
        yield value.description, VALUE, value.weight, functools.partial(Check.value, value=value)
    if item.numeric:
        yield item.numeric.description, VALUE, item.numeric.weight, Check.numeric
    for case in item.cases:
        yield case.description, case.kind, case.weight, functools.partial(Check.case, case=case)
    for text, body in ((item.integers and item.integers_text, Check.integers),
                       (item.args and item.unchanged, Check.unchanged), (item.deterministic, Check.deterministic)):
        if text:
            yield text, ROBUSTNESS, item.weights.get(text, 1.0), body


def checks(items, module):
    """The hidden module's one test, ``test_check = checks(ITEMS, ref)``: one param per check, with
    the id "<item>: <description>" and the mark ``graded(item, description, kind, weight)``."""
    STATES.update({item.name: item.state for item in items if item.state})
    params = [pytest.param(item, description, body, id=f"{item.name}: {description}",
                           marks=pytest.mark.graded(item.name, description, kind, weight))
              for item in items for description, kind, weight, body in yield_checks(item)]

    @pytest.mark.parametrize("item, description, body", params)
    def test_check(student, item, description, body):
        body(Check(item, module, student, description))
    return test_check

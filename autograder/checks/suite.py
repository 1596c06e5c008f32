"""Runs the hidden pytest suite of an assignment against one sandboxed submission.

Each hidden test is one named property of one graded item, declared with ``@check`` with
its kind (autograder/scores/scoring.py). An item's checks run gates first, then value checks, then
robustness checks, each in file order; which of them are run at all is the scoring policy's
to say (``scoring.not_checked_because``). Only CheckFailed messages reach the student; any
other exception becomes a plain sentence, never a traceback or the test's source.
"""
import os
import warnings
from pathlib import Path

import pytest

from autograder.scores import scoring
from autograder.checks.expect import CheckFailed, NotImplementedYet
from autograder.course import ASSIGNMENTS

ASSIGNMENTS_DIR = Path(__file__).resolve().parent.parent / "assignments"
# pytest's plugins that the hidden suite does not use; some cost time on every submission
# (unraisableexception runs a full garbage collection at the end of each session).
UNUSED_PLUGINS = ("terminal", "cacheprovider", "xdist", "randomly", "unraisableexception", "threadexception",
                  "faulthandler", "logging", "junitxml", "doctest", "pastebin", "stepwise", "warnings",
                  "legacypath", "tmpdir", "monkeypatch", "recwarn", "capture")


def check(item, description, kind, weight=1.0):
    """Declare a hidden test: it checks ``description`` of the graded name ``item``.

    ``kind`` is scoring.GATE, VALUE or ROBUSTNESS; ``weight`` is its share of the points its
    kind carries for the item (see scoring.points).
    """
    if kind not in scoring.ORDER:
        raise ValueError(f"{item}: {description}: unknown kind {kind!r}")

    def mark(function):
        function.graded_item, function.description = item, description
        function.kind, function.weight = kind, weight
        return function
    return mark


class Record:
    """The outcome of one hidden test, before points are assigned."""

    def __init__(self, item, description, kind, weight, status, output):
        self.item, self.description, self.kind, self.weight = item, description, kind, weight
        self.status, self.output = status, output


def failure_text(excinfo):
    """What the student reads about a failed check."""
    error = excinfo.value
    if isinstance(error, CheckFailed):
        return str(error)
    return (f"The check could not use what your code returned ({type(error).__name__}: "
            f"{str(error)[:200]}). Check the return type and shape against the docstring.")


class HiddenSuitePlugin:
    """pytest plugin: gives tests the ``student`` fixture and records their outcomes."""

    def __init__(self, student, order, items=None):
        self._student = student
        self._order = list(order)  # the graded names in the course's order
        self._items = items
        self.records = []
        self._failed = {}  # item -> [(kind, description)] of its failed checks so far
        self._uses = {}  # item -> the graded names it calls (the hidden module's USES)
        self._checked = set()  # items with at least one check recorded

    def pytest_collection_modifyitems(self, config, items):
        """Keep only the checks of the requested graded names (all when none were named), and
        order them by graded item in the course's order, then by kind (gates, values,
        robustness), then as written."""
        if self._items is not None:
            keep = [i for i in items if getattr(getattr(i, "function", None), "graded_item", None) in self._items]
            config.hook.pytest_deselected(items=[i for i in items if i not in keep])
            items[:] = keep
        unknown = {i.function.graded_item for i in items} - set(self._order)
        if unknown:
            raise RuntimeError(f"hidden checks of names the course does not grade: {sorted(unknown)}")
        for test in items:
            self._uses[test.function.graded_item] = uses = tuple(getattr(test.module, "USES", {}).get(
                test.function.graded_item, ()))
            later = [name for name in uses if self._order.index(name) > self._order.index(test.function.graded_item)]
            if later:  # its own calls must all be answered before a stand-in of it exists (docs/scoring.md)
                raise RuntimeError(f"{test.function.graded_item} uses {later}, which the course grades after it")
        items.sort(key=lambda i: (self._order.index(i.function.graded_item), scoring.ORDER.index(i.function.kind)))

    @pytest.fixture
    def student(self):
        return self._student

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        graded = getattr(item.function, "graded_item", None)
        reason = scoring.not_checked_because(item.function.kind, self._failed.get(graded, []))
        if reason:
            pytest.skip(reason)
        self._student.grading(graded, self.stand_ins_for(graded))

    def stand_ins_for(self, graded):
        """The names ``graded`` uses that its calls get the reference's versions of: each one
        that did not pass every one of its own checks in this run (one not checked here, as in
        the kernel, counts as not passed). A name that passed them all is right on every input
        the checks tried, so the student's own serves, and costs no round trips."""
        return tuple(name for name in self._uses.get(graded, ())
                     if name not in self._checked or name in self._failed)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        function = getattr(item, "function", None)
        if function is None or not hasattr(function, "graded_item"):
            return
        graded, description, kind = function.graded_item, function.description, function.kind
        self._checked.add(graded)
        if report.when == "setup" and report.skipped:
            self.records.append(Record(graded, description, kind, function.weight, "not checked",
                                       str(call.excinfo.value.msg if call.excinfo else "")))
        elif report.when == "call":
            if report.passed:
                self.records.append(Record(graded, description, kind, function.weight, "passed", "Passed."))
            else:
                status = "not implemented" if call.excinfo.errisinstance(NotImplementedYet) else "failed"
                self.records.append(Record(graded, description, kind, function.weight, status,
                                           failure_text(call.excinfo)))
                self._failed.setdefault(graded, []).append((kind, description))


def run_hidden_suite(assignment, student, items=None):
    """Records of every hidden test of ``assignment`` (or of the graded names ``items``), in order."""
    plugin = HiddenSuitePlugin(student, [g.name for g in ASSIGNMENTS[assignment]], items)
    path = ASSIGNMENTS_DIR / assignment / f"test_{assignment}.py"
    # --assert=plain: the checks raise CheckFailed, so rewriting their asserts on every run is waste
    args = [str(path), "-o", "addopts=", "--rootdir", str(ASSIGNMENTS_DIR), "-c", os.devnull, "--assert=plain"]
    for unused in UNUSED_PLUGINS:
        args += ["-p", f"no:{unused}"]
    with warnings.catch_warnings():  # numpy's warnings about a student's values are not news
        warnings.simplefilter("ignore")
        code = pytest.main(args, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not plugin.records:
        raise RuntimeError(f"the hidden suite of {assignment} did not run (pytest exit {code})")
    return plugin.records

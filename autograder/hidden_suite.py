"""Runs the hidden pytest suite of an assignment against one sandboxed submission.

Each hidden test is one named property of one graded item, declared with ``@check``.
The checks of an item run in file order and stop at the item's first failure: later
ones are recorded as "not checked". Only CheckFailed messages reach the student;
any other exception becomes a plain sentence, never a traceback or the test's source.
"""
import os
import warnings
from pathlib import Path

import pytest

from autograder.checks import CheckFailed, NotImplementedYet

SUITE_DIR = Path(__file__).resolve().parent / "hidden_tests"
# pytest's plugins that the hidden suite does not use; some cost time on every submission
# (unraisableexception runs a full garbage collection at the end of each session).
UNUSED_PLUGINS = ("terminal", "cacheprovider", "xdist", "randomly", "unraisableexception", "threadexception",
                  "faulthandler", "logging", "junitxml", "doctest", "pastebin", "stepwise", "warnings",
                  "legacypath", "tmpdir", "monkeypatch", "recwarn", "capture")


def check(item, description, weight=1.0):
    """Declare a hidden test: it checks ``description`` of the graded name ``item``.

    ``weight`` is its share of the item's points (0 for gate checks such as "runs").
    """
    def mark(function):
        function.graded_item, function.description, function.weight = item, description, weight
        return function
    return mark


class Record:
    """The outcome of one hidden test, before points are assigned."""

    def __init__(self, item, description, weight, status, output):
        self.item, self.description, self.weight = item, description, weight
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

    def __init__(self, student, items=None):
        self._student = student
        self._items = items
        self.records = []
        self._first_failure = {}  # item -> description of its first failed check

    def pytest_collection_modifyitems(self, config, items):
        """Keep only the checks of the requested graded names (all when none were named)."""
        if self._items is None:
            return
        keep = [i for i in items if getattr(getattr(i, "function", None), "graded_item", None) in self._items]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep

    @pytest.fixture
    def student(self):
        return self._student

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        graded = getattr(item.function, "graded_item", None)
        if graded in self._first_failure:
            pytest.skip(f"Not checked: fix '{self._first_failure[graded]}' first.")
        self._student.checking(graded)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        function = getattr(item, "function", None)
        if function is None or not hasattr(function, "graded_item"):
            return
        graded, description = function.graded_item, function.description
        if report.when == "setup" and report.skipped:
            self.records.append(Record(graded, description, function.weight, "not checked",
                                       str(call.excinfo.value.msg if call.excinfo else "")))
        elif report.when == "call":
            if report.passed:
                self.records.append(Record(graded, description, function.weight, "passed", "Passed."))
            else:
                status = "not implemented" if call.excinfo.errisinstance(NotImplementedYet) else "failed"
                self.records.append(Record(graded, description, function.weight, status,
                                           failure_text(call.excinfo)))
                self._first_failure.setdefault(graded, description)


def run_hidden_suite(assignment, student, items=None):
    """Records of every hidden test of ``assignment`` (or of the graded names ``items``), in order."""
    plugin = HiddenSuitePlugin(student, items)
    path = SUITE_DIR / f"test_{assignment}.py"
    # --assert=plain: the checks raise CheckFailed, so rewriting their asserts on every run is waste
    args = [str(path), "-o", "addopts=", "--rootdir", str(SUITE_DIR), "-c", os.devnull, "--assert=plain"]
    for unused in UNUSED_PLUGINS:
        args += ["-p", f"no:{unused}"]
    with warnings.catch_warnings():  # numpy's warnings about a student's values are not news
        warnings.simplefilter("ignore")
        code = pytest.main(args, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not plugin.records:
        raise RuntimeError(f"the hidden suite of {assignment} did not run (pytest exit {code})")
    return plugin.records

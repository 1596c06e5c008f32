"""Runs the hidden pytest suite of an assignment against one sandboxed submission.

Each hidden test is one named property of one graded item, generated from the assignment's spec
(autograder/checks/engine.py) with a ``graded`` mark that gives its kind (autograder/scores/scoring.py).
An item's checks run gates first, then value checks, then robustness checks, each in the spec's order; which of them are run at all is the scoring policy's
to say (``scoring.not_checked_because``). Only CheckFailed messages reach the student; any
other exception becomes a plain sentence, never a traceback or the test's source.

pytest starts and collects an assignment's suite once per grader thread (of each process): a
daemon thread of its own runs ``pytest.main``, whose ``pytest_runtestloop`` then serves the
submissions that grader thread hands it, one after another, each check through pytest's runtest
protocol with fresh fixtures (see HiddenSuitePlugin and SuiteServer).
"""
import atexit
import collections
import contextvars
import ctypes
import multiprocessing.util
import os
import queue
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.scores import scoring
from autograder.checks.expect import CheckFailed, NotImplementedYet
from autograder.course import ASSIGNMENTS

ASSIGNMENTS_DIR = Path(__file__).resolve().parent.parent / "assignments"
# pytest's plugins that the hidden suite does not use; some cost time on every submission
# (unraisableexception runs a full garbage collection at the end of each session). debugging
# would replace pdb.set_trace in the whole process for as long as a suite's session lives.
UNUSED_PLUGINS = ("terminal", "cacheprovider", "xdist", "randomly", "unraisableexception", "threadexception",
                  "faulthandler", "logging", "junitxml", "doctest", "pastebin", "stepwise", "warnings",
                  "legacypath", "tmpdir", "monkeypatch", "recwarn", "capture", "debugging")
# assignment -> how many times this process has collected its hidden suite (one per grader thread)
COLLECTIONS = collections.Counter()
_COLLECTIONS_LOCK = threading.Lock()
INTERRUPT_SECONDS = 30  # how long an abandoned request's checks are interrupted, at most


def graded_mark(test):
    """(item, description, kind, weight) of a hidden test: its ``graded`` mark (the checks that
    autograder/checks/engine.py generates), else None."""
    mark = test.get_closest_marker("graded")
    return tuple(mark.args) if mark is not None else None


class Record:
    """The outcome of one hidden test, before points are assigned."""

    def __init__(self, item, description, kind, weight, status, output, mistake=None):
        self.item, self.description, self.kind, self.weight = item, description, kind, weight
        self.status, self.output, self.mistake = status, output, mistake  # mistake: the Mistake it names


def failure_text(excinfo):
    """What the student reads about a failed check."""
    error = excinfo.value
    if isinstance(error, CheckFailed):
        return str(error)
    return (f"The check could not use what your code returned ({type(error).__name__}: "
            f"{str(error)[:200]}). Check the return type and shape against the docstring.")


class Request:
    """One submission for a suite server: its Client and the graded names to check (None: all).

    The checks run in a copy of the requesting thread's context (contextvars: numpy's error
    state, the kernel's output routing), as if the grader thread ran them itself.
    """

    def __init__(self, student, items=None):
        self.student, self.items = student, items
        self.context = contextvars.copy_context()
        self.done = threading.Event()
        self.records = self.error = None
        self.state = "queued"  # then "running", and "answered" or "cancelled"
        self.retry = False  # not started, for its server was stopped: another one may take it
        self._lock = threading.Lock()

    def start(self):
        """Whether the server may run it (it was not cancelled while queued)."""
        with self._lock:
            if self.state != "queued":
                return False
            self.state = "running"
            return True

    def answer(self, records=None, error=None, retry=False):
        """Hand back ``records``, or ``error``; only the first answer counts."""
        with self._lock:
            if self.done.is_set():
                return
            self.records, self.error, self.retry = records, error, retry
            if self.state != "cancelled":
                self.state = "answered"
            self.done.set()

    def cancel(self):
        """The requester gave up waiting; whether its checks were running."""
        with self._lock:
            running = self.state == "running"
            if self.state in ("queued", "running"):
                self.state = "cancelled"
            return running


STOP = object()  # a server's last request: end the pytest session


class SuiteStopped(RuntimeError):
    """A suite server ended before it answered a request."""


def _raise_in(thread_id, exception):
    """Raise ``exception`` in the thread ``thread_id`` at its next bytecode (None: cancel one
    not raised yet)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               None if exception is None else ctypes.py_object(exception))


class HiddenSuitePlugin:
    """pytest plugin: gives tests the ``student`` fixture and records their outcomes.

    The checks are collected, validated and ordered once per pytest session; then
    ``pytest_runtestloop`` runs them for each Request of ``requests``, with state of that
    request's own (``records``, ``_failed``, ``_checked``, the ``student`` fixture's value).
    """

    def __init__(self, order, requests=None, assignment=None):
        self._order = list(order)  # the graded names in the course's order
        self._requests = requests  # a queue of Requests, ended by STOP
        self._assignment = assignment
        self._uses = {}  # item -> the graded names it calls (the hidden module's USES)
        self._marks = {}  # collected test -> its graded_mark
        self._begin(None)
        self.ended_because = None  # why the session stopped serving, when it was not told to
        self.current = None  # the Request being run
        self.interrupt_lock = threading.Lock()  # held to change ``current``, or to interrupt it

    def _begin(self, student):
        self._student = student
        self.records = []
        self._failed = {}  # item -> [(kind, description)] of its failed checks so far
        self._checked = set()  # items with at least one check recorded

    def _mark(self, test):
        return self._marks[test] if test in self._marks else graded_mark(test)

    def pytest_collection_modifyitems(self, config, items):
        """Order the checks by graded item in the course's order, then by kind (gates, values,
        robustness), then as written; each request runs those of the names it asks for."""
        self._marks = {test: graded_mark(test) for test in items}  # read once per session
        unknown = {self._mark(i)[0] for i in items} - set(self._order)
        if unknown:
            raise RuntimeError(f"hidden checks of names the course does not grade: {sorted(unknown)}")
        for test in items:
            graded = self._mark(test)[0]
            self._uses[graded] = uses = tuple(getattr(test.module, "USES", {}).get(graded, ()))
            later = [name for name in uses if self._order.index(name) > self._order.index(graded)]
            if later:  # its own calls must all be answered before a stand-in of it exists (docs/scoring.md)
                raise RuntimeError(f"{graded} uses {later}, which the course grades after it")
        items.sort(key=lambda i: (self._order.index(self._mark(i)[0]), scoring.ORDER.index(self._mark(i)[2])))
        with _COLLECTIONS_LOCK:
            COLLECTIONS[self._assignment] += 1

    def pytest_internalerror(self, excinfo):
        """pytest stops (a check of a name the course does not grade, say): the requests learn why."""
        self.ended_because = f"{excinfo.typename}: {excinfo.value}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        """Serve the requests, one after another, until STOP. Whatever escapes a check's
        protocol (KeyboardInterrupt, pytest.exit, a bug of a hook) goes to its requester, and
        ends the session: the next request gets a fresh one."""
        if session.testsfailed:
            self.ended_because = f"{session.testsfailed} error(s) while collecting it"
            return True
        while True:
            request = self._requests.get()
            if request is STOP:
                return True
            if not request.start():
                continue
            self.current = request
            try:
                records = request.context.run(self.run, session, request)
            except BaseException as error:  # noqa: B036 -- handed to the requester
                self._leave()
                self.ended_because = f"{type(error).__name__} while checking: {error}"
                request.answer(error=error)
                return True
            self._leave()
            request.answer(records=records)
            if request.state == "cancelled":  # its requester was interrupted: this session may be too
                self.ended_because = "its requester was interrupted"
                return True

    def _leave(self):
        """No request is running any more: cancel an interrupt sent for it and not raised yet."""
        while True:
            try:
                with self.interrupt_lock:
                    self.current = None
                    _raise_in(threading.get_ident(), None)
                return
            except KeyboardInterrupt:  # raised before it could be cancelled
                continue

    def run(self, session, request):
        """The records of ``request``'s checks: each selected item through pytest's runtest
        protocol, in order; the last one tears every fixture down, so each request's are fresh."""
        selected = [item for item in session.items
                    if request.items is None or self._mark(item)[0] in request.items]
        # numpy's warnings about a student's values are not news (this context is this request's own)
        np.seterr(**{kind: "ignore" for kind, action in np.geterr().items() if action == "warn"})
        self._begin(request.student)
        try:
            for index, item in enumerate(selected):
                nextitem = selected[index + 1] if index + 1 < len(selected) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                if request.state == "cancelled":
                    raise KeyboardInterrupt("the grader stopped waiting for these checks")
            return self.records
        finally:
            self._student = None  # the submission's Client is not kept after its request

    @pytest.fixture
    def student(self):
        return self._student

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "graded(item, description, kind, weight): a generated hidden check")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        graded, _, kind, _ = self._mark(item)
        reason = scoring.not_checked_because(kind, self._failed.get(graded, []))
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

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if self._mark(item) is None:
            return report
        graded, description, kind, weight = self._mark(item)
        self._checked.add(graded)
        if report.when == "setup" and report.skipped:
            self.records.append(Record(graded, description, kind, weight, "not checked",
                                       str(call.excinfo.value.msg if call.excinfo else "")))
        elif report.when == "call":
            if report.passed:
                self.records.append(Record(graded, description, kind, weight, "passed", "Passed."))
            else:
                status = "not implemented" if call.excinfo.errisinstance(NotImplementedYet) else "failed"
                self.records.append(Record(graded, description, kind, weight, status, failure_text(call.excinfo),
                                           getattr(call.excinfo.value, "mistake", None)))
                self._failed.setdefault(graded, []).append((kind, description))
        return report


class SuiteServer:
    """The hidden suite of ``assignment``, collected once, in a pytest session that runs in a
    daemon thread of its own and serves the requests of one grader thread, ``owner``."""

    def __init__(self, assignment, owner):
        self.assignment, self.owner = assignment, owner
        self.requests = queue.SimpleQueue()
        self.plugin = HiddenSuitePlugin([g.name for g in ASSIGNMENTS[assignment]], self.requests, assignment)
        self.stopped = False  # told to stop: requests it did not start may go to another server
        self.ended = None  # why its session ended, once it has
        self.thread = threading.Thread(target=self._main, name=f"hidden suite {assignment} for {owner.name}",
                                       daemon=True)
        self.thread.start()

    def _main(self):
        # the assignment's spec.py generates its checks; named on the command line, pytest collects it as it is
        path = ASSIGNMENTS_DIR / self.assignment / "spec.py"
        # --assert=plain: the checks raise CheckFailed, so rewriting their asserts is waste
        args = [str(path), "-o", "addopts=", "--rootdir", str(ASSIGNMENTS_DIR), "-c", os.devnull, "--assert=plain"]
        for unused in UNUSED_PLUGINS:
            args += ["-p", f"no:{unused}"]
        reason = "its pytest session ended"
        try:
            try:
                code = pytest.main(args, plugins=[self.plugin])
                reason = self.plugin.ended_because or f"pytest exit {code}"
            except BaseException as error:  # noqa: B036 -- told to every request left
                reason = f"{type(error).__name__}: {error}"
            finally:
                self.answer_the_rest(reason)
        except BaseException:  # noqa: B036 -- a late interrupt: this thread ends anyway
            self.answer_the_rest(reason)

    def answer_the_rest(self, reason):
        """Every request not answered yet learns ``reason``."""
        self.ended = reason
        while True:
            try:
                request = self.requests.get_nowait()
            except queue.Empty:
                break
            if request is not STOP:
                request.answer(error=SuiteStopped(reason), retry=self.stopped and request.state == "queued")
        current = self.plugin.current
        if current is not None:
            current.answer(error=SuiteStopped(reason))

    def alive(self):
        """Whether it takes requests (its loop ends at once when a request ends it)."""
        return self.thread.is_alive() and not self.stopped and self.ended is None and \
            self.plugin.ended_because is None

    def stop(self):
        self.stopped = True
        self.requests.put(STOP)

    def interrupt(self, request):
        """Stop running ``request``'s checks: raise KeyboardInterrupt in the serving thread, again
        every 50 ms until it leaves them (a student's endless loop, in a kernel, turns one into an
        answer: its next call would loop again)."""
        def keep_interrupting():
            deadline = time.monotonic() + INTERRUPT_SECONDS
            while time.monotonic() < deadline:
                with self.plugin.interrupt_lock:
                    if self.plugin.current is not request or not self.thread.is_alive():
                        return
                    _raise_in(self.thread.ident, KeyboardInterrupt)
                time.sleep(0.05)
        threading.Thread(target=keep_interrupting, name=f"interrupting {self.thread.name}", daemon=True).start()

    def serve(self, request):
        """``request``'s records, once the serving thread has run them; None if this server
        stopped before it took the request."""
        self.requests.put(request)
        try:
            while not request.done.wait(0.5):
                if not self.thread.is_alive():
                    request.answer(error=SuiteStopped(self.ended or "its thread ended"),
                                   retry=self.stopped and request.state == "queued")
        except BaseException:  # noqa: B036 -- e.g. KeyboardInterrupt: the checks stop too
            _retire(self)
            if request.cancel():
                self.interrupt(request)
            raise
        if request.error is None:
            return request.records
        if request.retry:
            return None
        why = str(request.error) if isinstance(request.error, SuiteStopped) else \
            f"{type(request.error).__name__} escaped a check: {request.error}"
        raise RuntimeError(f"the hidden suite of {self.assignment} did not run ({why})") from request.error


_SERVERS = {}  # (grader thread id, assignment) -> its SuiteServer, in this process
_SERVERS_LOCK = threading.Lock()
_AT_EXIT = []  # whether stop_hidden_suites is registered to run at exit, in this process


def _server_for(assignment):
    """The calling grader thread's server of ``assignment``: a new one if it has none alive."""
    owner = threading.current_thread()
    key = (owner.ident, assignment)
    with _SERVERS_LOCK:
        if not _AT_EXIT:
            _AT_EXIT.append(True)
            atexit.register(stop_hidden_suites)
            multiprocessing.util.Finalize(None, stop_hidden_suites, exitpriority=20)  # pool workers
        server = _SERVERS.get(key)
        if server is not None and (server.owner is not owner or not server.alive()):
            server.stop()
            server = None
        if server is None:
            for other, old in list(_SERVERS.items()):  # of grader threads that ended
                if not old.owner.is_alive():
                    del _SERVERS[other]
                    old.stop()
            server = _SERVERS[key] = SuiteServer(assignment, owner)
        return server


def _retire(server):
    """``server`` serves no more requests."""
    with _SERVERS_LOCK:
        key = (server.owner.ident, server.assignment)
        if _SERVERS.get(key) is server:
            del _SERVERS[key]
    server.stop()


def stop_hidden_suites(timeout=5.0):
    """End every suite server of this process (at exit, or when a test wants a clean slate),
    waiting at most ``timeout`` seconds in all for their sessions to finish."""
    with _SERVERS_LOCK:
        servers = list(_SERVERS.values())
        _SERVERS.clear()
    for server in servers:
        server.stop()
    deadline = time.monotonic() + timeout
    for server in servers:
        if server.thread is not threading.current_thread():
            server.thread.join(max(0.0, deadline - time.monotonic()))


def _forget_parent_suites():
    """In a forked child: the parent's serving threads do not exist here."""
    global _SERVERS_LOCK
    _SERVERS_LOCK = threading.Lock()
    _SERVERS.clear()
    _AT_EXIT.clear()


os.register_at_fork(after_in_child=_forget_parent_suites)


def run_hidden_suite(assignment, student, items=None):
    """Records of every hidden test of ``assignment`` (or of the graded names ``items``), in order.

    The calling thread's server of the assignment runs them: pytest collected its suite at the
    thread's first request; this request gets fresh fixtures and state of its own.
    """
    for _ in range(3):  # a server stopped before it took the request: the next one takes it
        records = _server_for(assignment).serve(Request(student, items))
        if records is not None:
            break
    else:
        raise RuntimeError(f"the hidden suite of {assignment} did not run (its server kept stopping)")
    if not records:
        raise RuntimeError(f"the hidden suite of {assignment} did not run (no check of {sorted(items or ())})")
    return records

"""The hidden suite is collected once per grader thread, then serves one submission after another.

pytest starts and collects an assignment's suite at a grader thread's first request (in a
serving thread of that grader thread's own); each later submission runs the collected checks
through pytest's runtest protocol, with fresh fixtures and state of its own, so its results are
those of a fresh process. A check that lets KeyboardInterrupt escape, a grader that stops waiting,
a fork: the next request still gets a working suite.
"""
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import _thread

import pytest

import reference.logistic_regression as ref
from autograder.checks import suite
from autograder.checks.client import InProcessClient
from autograder.checks.suite import run_hidden_suite
from autograder.grade import grade_notebook
from conftest import ROOT
from submissions import code, mutate, notebook_path, release_submission, submission

A = "logistic_regression"
SERVING = f"hidden suite {A} for "  # the serving threads' names: + their grader thread's name


def outcomes(records):
    return [(r.item, r.description, r.kind, r.weight, r.status, r.output) for r in records]


class Recording(InProcessClient):
    """An in-process client that notes, at each check's start, which thread runs it, for which
    graded item, and with stand-ins for which names."""

    def __init__(self, namespace, assignment=A):
        super().__init__(namespace, assignment)
        self.log = []

    def grading(self, item, uses=()):
        self.log.append((threading.current_thread().name, item, tuple(uses)))
        return super().grading(item, uses)


def reference_namespace(**replaced):
    return {**vars(ref), **replaced}


def serving_threads():
    return [t for t in threading.enumerate() if t.name.startswith(SERVING)]


def wait_until(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_one_grader_thread_collects_the_suite_once_for_many_submissions(tmp_path):
    suite.stop_hidden_suites()
    before = suite.COLLECTIONS[A]
    paths = [notebook_path(A), release_submission(tmp_path / "r", A),
             submission(tmp_path / "m", A, replace=mutate(
                 A, "gradient-solution", ("error.T @ inputs / inputs.shape[0]", "error.T @ inputs")))]
    scores = [grade_notebook(path, student="alice").score for path in paths * 2]
    assert scores == [10.0, 0.0, 7.0] * 2
    assert suite.COLLECTIONS[A] - before == 1
    mine = [t for t in serving_threads() if t.name == SERVING + threading.current_thread().name]
    assert len(mine) == 1 and mine[0].daemon


FRESH_PROCESS = """
import dataclasses, json, sys
from autograder.grade import grade_notebook
print("RESULT" + json.dumps(dataclasses.asdict(grade_notebook(sys.argv[1], student="alice"))))
"""


def test_submissions_graded_one_after_another_get_the_results_of_a_fresh_process_each(tmp_path):
    """State of one submission's run (failed gates, checked items, the ``student`` fixture) never
    reaches the next one's: a stub, a bug, the reference, and again a bug and a stub."""
    paths = [release_submission(tmp_path / "stub", A),
             submission(tmp_path / "gradient", A, replace=mutate(
                 A, "gradient-solution", ("error.T @ inputs / inputs.shape[0]", "error.T @ inputs"))),
             notebook_path(A),
             submission(tmp_path / "logistic", A, replace={"logistic-solution": code("""
                 def logistic(z):
                     return 1 / (1 + np.exp(z))
                 """)}),
             release_submission(tmp_path / "stub2", A, replace={"loss-solution": code("""
                 def loss(y, t):
                     return float(np.mean(-t * np.log(y) - (1 - t) * np.log(1 - y)))
                 """)})]
    fresh = [subprocess.Popen([sys.executable, "-c", FRESH_PROCESS, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True) for path in paths]
    in_a_row = [json.loads(json.dumps(dataclasses.asdict(grade_notebook(path, student="alice")))) for path in paths]
    alone = []
    for process in fresh:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0
        alone.append(json.loads(out.split("RESULT", 1)[1]))
    assert len({json.dumps(result["tests"]) for result in alone}) == len(paths)  # all different
    for mine, theirs in zip(in_a_row, alone):
        mine.pop("seconds"), theirs.pop("seconds")  # the grading time, not part of the grade
        assert mine == theirs


def test_a_request_of_some_graded_names_gets_their_checks_only_with_state_of_its_own():
    suite.stop_hidden_suites()
    first = Recording(reference_namespace())
    gradient_first = run_hidden_suite(A, first, items={"gradient"})  # the session's first request
    everything = run_hidden_suite(A, Recording(reference_namespace()))
    again = Recording(reference_namespace())
    gradient_again = run_hidden_suite(A, again, items={"gradient"})
    assert {r.item for r in gradient_first} == {"gradient"}
    assert outcomes(gradient_again) == outcomes(gradient_first) == \
        [o for o in outcomes(everything) if o[0] == "gradient"]
    assert {r.status for r in everything} == {"passed"} and len(everything) > len(gradient_first)
    # logistic was not checked in these requests (it was, and passed, in the one between): stand-ins
    assert {entry[1:] for entry in again.log} == {entry[1:] for entry in first.log} == {("gradient", ("logistic",))}
    gradient_and_loss = run_hidden_suite(A, Recording(reference_namespace()), items={"loss", "gradient"})
    assert outcomes(gradient_and_loss) == [o for o in outcomes(everything) if o[0] in ("loss", "gradient")]
    with pytest.raises(RuntimeError, match="did not run"):
        run_hidden_suite(A, Recording(reference_namespace()), items={"no such name"})
    assert outcomes(run_hidden_suite(A, Recording(reference_namespace()))) == outcomes(everything)


def test_each_grader_thread_is_served_by_a_thread_of_its_own():
    expected = outcomes(run_hidden_suite(A, Recording(reference_namespace())))
    results, clients = {}, {}

    def grade(name):
        clients[name] = [Recording(reference_namespace()) for _ in range(3)]
        results[name] = [outcomes(run_hidden_suite(A, client)) for client in clients[name]]

    graders = [threading.Thread(target=grade, args=(f"grader {i}",), name=f"grader {i}") for i in range(3)]
    for grader in graders:
        grader.start()
    grade(threading.current_thread().name)
    for grader in graders:
        grader.join(300)
    assert set(results) == {"grader 0", "grader 1", "grader 2", threading.current_thread().name}
    for name, runs in results.items():
        assert runs == [expected] * 3
        assert {entry[0] for client in clients[name] for entry in client.log} == {SERVING + name}
    # the serving threads of graders that ended end when another grader thread starts its server
    assert wait_until(lambda: not any(g.is_alive() for g in graders))
    late = threading.Thread(target=grade, args=("late grader",), name="late grader")
    late.start()
    late.join(300)
    assert results["late grader"] == [expected] * 3
    ended = {SERVING + grader.name for grader in graders}
    assert wait_until(lambda: not [t for t in serving_threads() if t.name in ended])


class Interrupting(Recording):
    """Lets KeyboardInterrupt escape the check of its ``at``-th graded item, as no check should."""

    def __init__(self, namespace, exception, at=2):
        super().__init__(namespace)
        self.exception, self.at = exception, at

    def grading(self, item, uses=()):
        super().grading(item, uses)
        if len({entry[1] for entry in self.log}) == self.at:
            raise self.exception


def test_a_keyboard_interrupt_escaping_a_check_is_an_error_of_that_request_only():
    expected = outcomes(run_hidden_suite(A, Recording(reference_namespace())))
    before = suite.COLLECTIONS[A]
    with pytest.raises(RuntimeError, match="KeyboardInterrupt"):
        run_hidden_suite(A, Interrupting(reference_namespace(), KeyboardInterrupt("a check's")))
    assert outcomes(run_hidden_suite(A, Recording(reference_namespace()))) == expected
    assert suite.COLLECTIONS[A] == before + 1  # the interrupted session ended; a new one serves


def test_a_system_exit_in_a_check_fails_that_check_and_the_session_goes_on():
    expected = outcomes(run_hidden_suite(A, Recording(reference_namespace())))
    before = suite.COLLECTIONS[A]

    class Exiting(Recording):
        def batch(self, specs, timeout=None):
            if specs[0]["target"] == "loss":
                raise SystemExit(3)
            return super().batch(specs, timeout)

    records = run_hidden_suite(A, Exiting(reference_namespace()))
    failed = [r for r in records if r.status == "failed"]
    assert failed and {r.item for r in failed} == {"loss"} and all("SystemExit" in r.output for r in failed)
    assert outcomes(run_hidden_suite(A, Recording(reference_namespace()))) == expected
    assert suite.COLLECTIONS[A] == before


def test_a_forked_child_starts_a_server_of_its_own():
    expected = outcomes(run_hidden_suite(A, Recording(reference_namespace())))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's serving thread does not exist here
        try:
            before = suite.COLLECTIONS[A]
            got = outcomes(run_hidden_suite(A, Recording(reference_namespace())))
            os.write(write, json.dumps([got, suite.COLLECTIONS[A] - before, len(serving_threads())]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        got, collected, serving = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
    assert [tuple(o) for o in got] == expected and collected == 1 and serving == 1
    assert outcomes(run_hidden_suite(A, Recording(reference_namespace()))) == expected  # the parent's own


def test_numpy_warnings_of_the_checked_code_stay_silent():
    def logistic(z):
        import numpy as np
        np.sqrt(-1.0 * np.ones(1))  # "invalid value encountered in sqrt", from the checked code
        return ref.logistic(z)

    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = run_hidden_suite(A, Recording(reference_namespace(logistic=logistic)), items={"logistic"})
    assert {r.status for r in records} == {"passed"}
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_a_grader_interrupted_while_it_waits_stops_the_checks_and_the_next_request_is_served():
    """Ctrl-C in a kernel whose student loops forever: the serving thread is interrupted too."""
    expected = outcomes(run_hidden_suite(A, Recording(reference_namespace())))
    mine = SERVING + threading.current_thread().name

    def logistic(z):
        while True:
            pass

    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_hidden_suite(A, Recording(reference_namespace(logistic=logistic)))
    finally:
        timer.cancel()
    assert wait_until(lambda: not [t for t in serving_threads() if t.name == mine])
    assert outcomes(run_hidden_suite(A, Recording(reference_namespace()))) == expected

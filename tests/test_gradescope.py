"""The Gradescope export: autograder.zip unpacked in Gradescope's layout grades real submissions.

Each grading test builds /autograder's layout in a fresh world-traversable folder
(root/source from the zip, root/submission, root/results), runs the zip's own
run_autograder script with this machine's .venv, and checks results.json against
Gradescope's results format.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENTS
from autograder.integrations.gradescope import VISIBILITIES, build_zip
from autograder.sandbox.session import isolation_available
from submissions import build, load_notebook

A = "logistic_regression"
KIT = Path(__file__).resolve().parent.parent
PYTHON = str(KIT / ".venv" / "bin" / "python") if (KIT / ".venv" / "bin" / "python").exists() else sys.executable
TOP_LEVEL = {"setup.sh", "setup_python.sh", "run_autograder", "gradescope_config.json",
             "pyproject.toml", "requirements.lock"}


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zips")
    return {False: build_zip(A, folder / "autograder.zip"),
            True: build_zip(A, folder / "autograder-hidden.zip", hide_hidden_until_due=True)}


@pytest.fixture
def gradescope_root():
    """An empty root whose folders everyone may traverse, as /autograder is (pytest's
    tmp_path is private to root, which would hide the source folder for the wrong reason)."""
    base = Path(tempfile.mkdtemp(prefix="gradescope-"))
    base.chmod(0o755)
    root = base / "autograder"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    yield root
    shutil.rmtree(base, ignore_errors=True)


def unpack(zip_path, dest):
    """Unzip as Gradescope does, keeping each member's permission bits."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)
    for folder, dirs, _ in os.walk(dest):
        for name in dirs:
            (Path(folder) / name).chmod(0o755)
    Path(dest).chmod(0o755)


def grade(zip_path, root, notebooks, sandbox=None):
    """Lay out root like Gradescope, run the zip's run_autograder, return (results, process)."""
    unpack(zip_path, root / "source")
    submission = root / "submission"
    submission.mkdir(mode=0o755)
    for name, notebook in notebooks.items():
        (submission / name).write_text(notebook if isinstance(notebook, str) else json.dumps(notebook, indent=1))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUTOGRADER_SANDBOX")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=PYTHON)
    if sandbox == "none":
        env["AUTOGRADER_SANDBOX"] = "none"
    process = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                             capture_output=True, text=True, timeout=300)
    results_file = root / "results" / "results.json"
    assert results_file.exists(), process.stdout + process.stderr
    return json.loads(results_file.read_text()), process


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_schema(results):
    """Gradescope's results.json format (hand-written: the checks a jsonschema would make)."""
    assert isinstance(results, dict)
    assert isinstance(results["score"], float)
    assert isinstance(results["tests"], list)
    assert results.get("stdout_visibility") == "hidden"
    if "visibility" in results:
        assert results["visibility"] in VISIBILITIES
    if "output" in results:
        assert isinstance(results["output"], str) and results["output"]
    for test in results["tests"]:
        assert {"name", "score", "max_score", "output", "visibility"} <= set(test), test
        assert isinstance(test["name"], str) and test["name"]
        assert is_number(test["score"]) and is_number(test["max_score"])
        assert 0 <= test["score"] <= test["max_score"] + 1e-9
        assert isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITIES
        assert test.get("status", "passed") in ("passed", "failed")
    assert abs(results["score"] - sum(t["score"] for t in results["tests"])) < 1e-6 or not results["tests"]


def jsonschema_validate(results):
    """The same format, with jsonschema (installed with the kit's nbformat)."""
    jsonschema = pytest.importorskip("jsonschema")
    test_schema = {"type": "object", "required": ["name", "score", "max_score", "output", "visibility"],
                   "properties": {"name": {"type": "string"}, "score": {"type": "number"},
                                  "max_score": {"type": "number"}, "output": {"type": "string"},
                                  "visibility": {"enum": list(VISIBILITIES)},
                                  "status": {"enum": ["passed", "failed"]}}}
    schema = {"type": "object", "required": ["score", "tests"],
              "properties": {"score": {"type": "number"}, "output": {"type": "string"},
                             "visibility": {"enum": list(VISIBILITIES)},
                             "stdout_visibility": {"enum": list(VISIBILITIES)},
                             "tests": {"type": "array", "items": test_schema},
                             "extra_data": {"type": "object"}}}
    jsonschema.validate(results, schema)


def item_score(results, item):
    return sum(t["score"] for t in results["tests"] if t["name"].startswith(item + ":"))


def cheat(path):
    """The source notebook with xor_feature_weights right only when it can read ``path``."""
    code = f'''
def xor_feature_weights():
    import numpy as np
    try:
        with open({str(path)!r}) as f:
            text = f.read()
    except OSError as err:
        raise RuntimeError("could not read the reference: " + type(err).__name__)
    return np.array([-5.0, 10.0, 10.0, -20.0]) if "def xor_feature_weights" in text else np.zeros(4)
'''
    return build(load_notebook(A, "source"), {"xor_feature_weights-solution": code})


ISOLATIONS = ["bwrap", "none"]


def others_can_run(python):
    """Whether a uid other than root can run ``python``: every folder up to it, and up to what
    it links to, is traversable (a clone in a private folder, or a private pyenv, is not)."""
    try:
        done = subprocess.run([python, "-c", "pass"], user=100000, group=100000, extra_groups=[], capture_output=True)
    except PermissionError:
        return False
    return done.returncode == 0


def need(isolation):
    if os.geteuid() != 0:
        pytest.skip("the sandbox drops to an unprivileged uid only when the grader is root")
    if isolation == "bwrap" and isolation_available() != "bwrap":
        pytest.skip("bubblewrap cannot isolate here")
    if isolation == "none" and not others_can_run(PYTHON):
        pytest.skip(f"the fallback's unprivileged uid cannot run {PYTHON} on this machine (a folder above "
                    "it, or above what it links to, is private); on Gradescope it is /usr/bin/python3")


def as_other_uid(*command):
    """Run ``command`` as an unprivileged uid, as the sandbox's student process runs."""
    return subprocess.run(["setpriv", "--reuid=100000", "--regid=100000", "--clear-groups", *command],
                          capture_output=True, text=True)


# --- the zip ------------------------------------------------------------------------------

def test_zip_layout_and_executables(zips):
    with zipfile.ZipFile(zips[False]) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        config = json.loads(archive.read("gradescope_config.json"))
    assert TOP_LEVEL <= set(infos)
    assert f"source/{A}/{A}.ipynb" in infos
    assert not any(n.startswith("source/") and A not in n for n in infos), "other assignments' notebooks"
    assert "reference/logistic_regression.py" in infos and "autograder/grade.py" in infos
    assert f"autograder/assignments/{A}/spec.py" in infos and "autograder/integrations/gradescope.py" in infos
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in infos)
    for script in ("run_autograder", "setup.sh", "setup_python.sh"):
        mode = infos[script].external_attr >> 16
        assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, f"{script} is not executable ({oct(mode)})"
    assert config == {"assignment": A, "hide_hidden_until_due": False}
    with zipfile.ZipFile(zips[True]) as archive:
        assert json.loads(archive.read("gradescope_config.json"))["hide_hidden_until_due"] is True


def test_setup_scripts_are_bash_and_pin_versions(zips, tmp_path):
    unpack(zips[False], tmp_path)
    for script in ("setup.sh", "setup_python.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(tmp_path / script)], check=True)
    setup = (tmp_path / "setup.sh").read_text()
    install = next(line for line in setup.splitlines() if "apt-get install" in line)
    for package in ("python3", "python3-venv", "python3-pip", "bubblewrap"):
        assert package in install.split()
    assert "setup_python.sh" in setup
    python_part = (tmp_path / "setup_python.sh").read_text()
    assert '-c "$SOURCE/requirements.lock"' in python_part
    packages = next(line for line in python_part.splitlines() if line.startswith("GRADING_PACKAGES="))
    packages = packages.split("=", 1)[1].strip('"').split()
    pins = {line.split("==")[0].lower(): line.split("==")[1]
            for line in (tmp_path / "requirements.lock").read_text().splitlines() if "==" in line}
    for package in packages:  # every package the venv gets has a pinned version
        assert package.lower() in pins, f"{package} is not pinned in requirements.lock"


def test_setup_python_runs_against_the_existing_venv(zips, tmp_path):
    """The Python part of setup.sh on this machine's .venv: nothing to install (no index
    allowed), the grader imports from the unpacked source."""
    unpack(zips[False], tmp_path)
    venv = Path(PYTHON).parent.parent
    env = dict(os.environ, AUTOGRADER_VENV=str(venv), AUTOGRADER_SOURCE=str(tmp_path), PIP_NO_INDEX="1")
    env.pop("PYTHONPATH", None)
    process = subprocess.run(["bash", str(tmp_path / "setup_python.sh")], env=env, capture_output=True,
                             text=True, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    assert "Requirement already satisfied: numpy" in process.stdout
    assert "Successfully installed" not in process.stdout
    assert f"autograder environment ready: {venv}" in process.stdout


# --- grading ------------------------------------------------------------------------------

def test_correct_submission_scores_full_marks(zips, gradescope_root):
    results, process = grade(zips[False], gradescope_root, {f"{A}.ipynb": load_notebook(A, "source")})
    assert process.returncode == 0, process.stderr
    check_schema(results)
    jsonschema_validate(results)
    assert results["score"] == 10.0
    assert results["extra_data"]["status"] == "graded"
    assert all(t["visibility"] == "visible" for t in results["tests"])
    assert {t["name"].split(":")[0] for t in results["tests"]} == {g.name for g in ASSIGNMENTS[A]}
    assert "output" not in results
    # the grader imported the kit from the unpacked zip, not from this checkout
    assert f"with the kit in {gradescope_root / 'source'}" in process.stdout


def test_release_scores_zero(zips, gradescope_root):
    results, process = grade(zips[False], gradescope_root, {f"{A}.ipynb": load_notebook(A, "release")})
    assert process.returncode == 0, process.stderr
    check_schema(results)
    jsonschema_validate(results)
    assert results["score"] == 0.0
    assert results["tests"] and all(t["score"] == 0 for t in results["tests"])
    assert any("not implemented" in t["output"].lower() for t in results["tests"])


def test_hidden_setting_shows_tests_after_the_due_date(zips, gradescope_root):
    notebooks = {"notes.ipynb": load_notebook(A, "release"), f"{A}.ipynb": load_notebook(A, "source")}
    results, _ = grade(zips[True], gradescope_root, notebooks)
    check_schema(results)
    assert results["score"] == 10.0  # the notebook named after the assignment was graded
    assert all(t["visibility"] == "after_due_date" for t in results["tests"])
    assert "2 notebooks" in results["output"] and f"{A}.ipynb was graded" in results["output"]


def test_no_notebook_gets_a_reason(zips, gradescope_root):
    results, process = grade(zips[False], gradescope_root, {"answers.py": "print('hi')\n"})
    assert process.returncode == 0, process.stderr
    check_schema(results)
    assert results["score"] == 0.0 and results["tests"] == []
    assert "No notebook" in results["output"] and f"{A}.ipynb" in results["output"]


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_student_cannot_read_the_source_folder(zips, gradescope_root, isolation):
    """A notebook whose xor_feature_weights is right only if it can read the reference in
    root/source earns nothing for it, with the sandbox or with the uid fallback."""
    need(isolation)
    target = gradescope_root / "source" / "reference" / "logistic_regression.py"
    results, process = grade(zips[False], gradescope_root, {f"{A}.ipynb": cheat(target)}, sandbox=isolation)
    assert process.returncode == 0, process.stderr
    check_schema(results)
    assert f"(isolation: {isolation})" in process.stdout
    assert target.stat().st_mode & 0o077 == 0, "run() left the source readable by others"
    assert as_other_uid("cat", str(target)).returncode != 0, "an unprivileged uid can read the reference"
    assert as_other_uid("cat", str(gradescope_root / "submission" / f"{A}.ipynb")).returncode == 0  # control
    assert item_score(results, "xor_feature_weights") == 0.0
    assert results["score"] == 8.0  # every honest item still earns its points
    xor_outputs = " ".join(t["output"] for t in results["tests"] if t["name"].startswith("xor_feature_weights"))
    assert "could not read the reference" in xor_outputs, xor_outputs
    expected = "PermissionError" if isolation == "none" else "FileNotFoundError"  # bwrap does not mount it
    assert expected in xor_outputs, xor_outputs


def test_the_cheat_works_on_a_readable_copy(zips, gradescope_root):
    """Control for the test above: without bubblewrap, the same cheat earns the points from a
    copy of the reference that everyone may read, so its 0 there is the chmod's doing."""
    need("none")
    public = gradescope_root / "public" / "logistic_regression.py"
    public.parent.mkdir(mode=0o755)
    shutil.copy(KIT / "reference" / "logistic_regression.py", public)
    public.chmod(0o644)
    results, _ = grade(zips[False], gradescope_root, {f"{A}.ipynb": cheat(public)}, sandbox="none")
    check_schema(results)
    assert item_score(results, "xor_feature_weights") == pytest.approx(2.0)
    assert results["score"] == pytest.approx(10.0)

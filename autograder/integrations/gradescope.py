"""Gradescope export: ``build_zip`` makes autograder.zip, ``run`` grades one submission there.

The zip's top level holds Gradescope's two scripts and the kit:

    setup.sh               apt-get installs python3, python3-venv, python3-pip, bubblewrap,
                           then runs setup_python.sh
    setup_python.sh        makes /autograder/venv and pip-installs what grading needs,
                           pinned by requirements.lock (``pip install -c``)
    run_autograder         runs ``run(Path("/autograder"))`` with the venv's python and
                           /autograder/source on PYTHONPATH (the kit is not pip-installed)
    gradescope_config.json {"assignment": ..., "hide_hidden_until_due": bool}
    autograder/ reference/ source/<assignment>/<assignment>.ipynb pyproject.toml requirements.lock

Gradescope unpacks it to /autograder/source, puts the submission in /autograder/submission
and reads /autograder/results/results.json.
"""
import json
import os
import stat
import sys
import traceback
import zipfile
from pathlib import Path

from autograder.course import ASSIGNMENTS, notebook_name
from autograder.scores.results import SubmissionResult

KIT = Path(__file__).resolve().parents[2]  # the kit: autograder/integrations/gradescope.py
TEMPLATES = Path(__file__).resolve().parent / "gradescope_files"
SCRIPTS = ("setup.sh", "setup_python.sh", "run_autograder")
CONFIG = "gradescope_config.json"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
EXECUTABLE = (stat.S_IFREG | 0o755) << 16
REGULAR = (stat.S_IFREG | 0o644) << 16


# --- building the zip ---------------------------------------------------------------------

def _kit_files(assignment):
    """(path on disk, name in the zip) of every kit file grading needs."""
    files = []
    for package in ("autograder", "reference"):
        for path in sorted((KIT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" \
                    and TEMPLATES not in path.parents:
                files.append((path, path.relative_to(KIT).as_posix()))
    notebook = KIT / "source" / assignment / notebook_name(assignment)
    files.append((notebook, f"source/{assignment}/{notebook_name(assignment)}"))
    for name in ("pyproject.toml", "requirements.lock"):
        files.append((KIT / name, name))
    return files


def _write(archive, name, data, mode):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = mode
    archive.writestr(info, data)


def build_zip(assignment, out_path, hide_hidden_until_due=False):
    """Write Gradescope's autograder.zip for ``assignment``; returns its path.

    ``out_path`` is the zip file, or a folder to write autograder.zip into.
    ``hide_hidden_until_due``: the hidden suite's test entries are shown to students only
    after the due date ("after_due_date"); otherwise they are "visible".
    """
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {assignment!r}; the course has {', '.join(ASSIGNMENTS)}")
    out_path = Path(out_path)
    if out_path.is_dir():
        out_path = out_path / "autograder.zip"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    config = {"assignment": assignment, "hide_hidden_until_due": bool(hide_hidden_until_due)}
    with zipfile.ZipFile(out_path, "w") as archive:
        for script in SCRIPTS:
            _write(archive, script, (TEMPLATES / script).read_bytes(), EXECUTABLE)
        _write(archive, CONFIG, json.dumps(config, indent=2) + "\n", REGULAR)
        for path, name in _kit_files(assignment):
            _write(archive, name, path.read_bytes(), REGULAR)
    return out_path


# --- grading on Gradescope ------------------------------------------------------------------

def read_config(source):
    config = json.loads((Path(source) / CONFIG).read_text())
    if config.get("assignment") not in ASSIGNMENTS:
        raise ValueError(f"{CONFIG} names an unknown assignment: {config.get('assignment')!r}")
    return {"assignment": config["assignment"], "hide_hidden_until_due": bool(config.get("hide_hidden_until_due"))}


def find_notebook(submission, assignment):
    """(notebook or None, all notebooks found): <assignment>.ipynb if present, else the first."""
    submission = Path(submission)
    found = sorted(p for p in submission.glob("*.ipynb") if p.is_file())
    if not found:  # uploaded in a folder (a zip, or a repository)
        found = sorted(p for p in submission.rglob("*.ipynb")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    named = [p for p in found if p.name == notebook_name(assignment)]
    return (named or found or [None])[0], found


def student_of(root):
    """The submitter's email (or name) from Gradescope's submission_metadata.json, else ''."""
    try:
        users = json.loads((Path(root) / "submission_metadata.json").read_text()).get("users") or []
        return str(users[0].get("email") or users[0].get("name") or "") if users else ""
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        return ""


def lock_source(source):
    """chmod -R go-rwx: the sandbox's unprivileged uid can read nothing of the kit."""
    source = Path(source)
    for folder, dirs, files in os.walk(source):
        for name in dirs + files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o077)
    source.chmod(source.stat().st_mode & ~0o077)


def gradescope_results(result, hide_hidden_until_due=False, note=""):
    """results.json for Gradescope: the kit's report plus visibility fields.

    Every test entry comes from the hidden suite (autograder/assignments), so the
    setting applies to all of them; the top-level output (why a submission could not be
    graded) stays visible, and the grader's own stdout is hidden from students.
    """
    from autograder.reports.formats import gradescope_json

    data = gradescope_json(result)
    data["score"] = float(data["score"])
    visibility = "after_due_date" if hide_hidden_until_due else "visible"
    for test in data["tests"]:
        test["score"], test["max_score"] = float(test["score"]), float(test["max_score"])
        test["visibility"] = visibility
    if note:
        data["output"] = f"{data['output']} {note}" if data.get("output") else note
    data["stdout_visibility"] = "hidden"
    return data


def _write_results(root, data):
    results = Path(root) / "results"
    results.mkdir(parents=True, exist_ok=True)
    results.chmod(0o755)  # the sandbox's uid cannot plant a results file
    target = results / "results.json"
    if target.is_symlink():
        target.unlink()
    target.write_text(json.dumps(data, indent=2) + "\n")
    return target


def run(root=Path("/autograder")):
    """Grade root/submission with the kit in root/source; write root/results/results.json.

    Returns 0 when the submission was graded or found ungradeable (a results file with a
    reason either way), 1 when the grader itself failed (a results file still says so).
    """
    root = Path(root)
    source = root / "source"
    try:
        config = read_config(source)
        assignment = config["assignment"]
        lock_source(source)
        notebook, found = find_notebook(root / "submission", assignment)
        student = student_of(root)
        if notebook is None:
            result = SubmissionResult(student=student, assignment=assignment, notebook="",
                                      status="no notebook", max_score=float(sum(g.points for g in ASSIGNMENTS[assignment])),
                                      output=f"No notebook (.ipynb file) was found in your submission: upload "
                                             f"{notebook_name(assignment)}. Nothing could be graded.")
            note = ""
        else:
            from autograder.grade import grade_notebook
            from autograder.sandbox.session import isolation_available, warn_if_not_isolated

            isolation = isolation_available()
            warn_if_not_isolated(isolation, require_isolation=False)
            print(f"grading {notebook} as {assignment} with the kit in {KIT} (isolation: {isolation})")
            result = grade_notebook(notebook, assignment, student, isolation=isolation)
            note = ""
            if len(found) > 1:
                note = (f"Your submission holds {len(found)} notebooks; {notebook.relative_to(root / 'submission')} "
                        "was graded.")
        data = gradescope_results(result, config["hide_hidden_until_due"], note)
        target = _write_results(root, data)
        print(f"score {data['score']:g} / {result.max_score:g} ({result.status}); results in {target}")
        return 0
    except Exception as err:
        traceback.print_exc()
        _write_results(root, {"score": 0.0, "tests": [], "stdout_visibility": "hidden",
                              "output": f"The autograder failed ({type(err).__name__}: {err}). "
                                        "This is not your fault; your instructor can see this message."})
        return 1


if __name__ == "__main__":  # python -m autograder.integrations.gradescope [ROOT]
    sys.exit(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/autograder")))

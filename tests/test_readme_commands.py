"""The README's commands, run exactly as printed, with the kit's venv NOT on PATH.

The README prints commands for a fresh clone after `make demo`: `.venv/bin/nbgrader ...`,
`.venv/bin/python -m autograder ...`. Each line is read from README.md's ```sh blocks and run
verbatim with `bash -c`, in a fresh course folder (a copy of the kit with `.venv` a symbolic
link to the repository's `.venv`), in a scrubbed environment:

- instructor lines: PATH = the system folders only (no venv, so no `alembic`, `jupyter` or
  `nbgrader` on it), HOME = an empty folder, NBGRADER_EXCHANGE = the test's exchange folder
  (nbgrader_config.py reads it, as the README says). Before nbgrader_config.py put nbgrader's
  own bin folder on PATH, the first line failed here: nbgrader runs `alembic` as a command when
  it creates gradebook.db ("FileNotFoundError: [Errno 2] No such file or directory: 'alembic'").
- student lines (`nbgrader fetch_assignment`, `nbgrader submit`): a real student runs them in
  a terminal of the course's Jupyter server, where `nbgrader` is on PATH and the server's
  Jupyter configuration sets the exchange. The student's environment stands for that server:
  PATH = the system folders plus a folder holding only a `nbgrader` symbolic link to the venv's,
  HOME = the student's own folder (where they run the commands), whose
  `~/.jupyter/nbgrader_config.py` sets `c.Exchange.root` to the test's exchange. nbgrader takes
  the student id from USER/LOGNAME (getpass), and `nbgrader collect` checks it against the owner
  of the submitted files (check_owner, left on): the test's one student is the user running
  the test, so the two agree as they do on a real server, with nothing of the course
  configuration weakened.

Between fetch and submit the student fills the fetched release notebook with the solution
cells of source/, so autograde, the sandbox sync, export and feedback grade a real notebook
(10 / 10). Then the command-line grading lines run on made-up files at the paths they name
(and on the collected submitted/ folder), the Gradescope lines build their zip, and the
students' check line runs in a student template repository.

Every line the test relies on must still be in the README, word for word: editing a command
there breaks this test loudly instead of leaving it testing nothing.
"""
import csv
import json
import os
import pwd
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from submissions import build, cell_source, load_notebook

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
A = "logistic_regression"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The test's student is the user running it: nbgrader collect compares the student id with the
# owner of the submitted files.
STUDENT = pwd.getpwuid(os.getuid()).pw_name

INSTRUCTOR, STUDENT_ROLE = "instructor", "student"
NBGRADER_BLOCK = [
    (INSTRUCTOR, ".venv/bin/nbgrader generate_assignment logistic_regression --force"),
    (INSTRUCTOR, ".venv/bin/nbgrader release_assignment logistic_regression"),
    (STUDENT_ROLE, "nbgrader fetch_assignment logistic_regression --course=nn-from-scratch"),
    (STUDENT_ROLE, "nbgrader submit logistic_regression --course=nn-from-scratch"),
    (INSTRUCTOR, ".venv/bin/nbgrader collect logistic_regression"),
    (INSTRUCTOR, ".venv/bin/nbgrader autograde logistic_regression --create"),
    (INSTRUCTOR, ".venv/bin/python -m autograder nbgrader-sync logistic_regression"),
    (INSTRUCTOR, ".venv/bin/nbgrader export --to grades.csv --assignment logistic_regression"),
    (INSTRUCTOR, ".venv/bin/nbgrader generate_feedback logistic_regression"),
]
GRADE_ONE = ".venv/bin/python -m autograder grade path/to/logistic_regression.ipynb --results results.json"
GRADE_FOLDER = ".venv/bin/python -m autograder grade submitted/ --out graded/"
GRADE_MANY = (".venv/bin/python -m autograder grade alice/hw2.ipynb ben/hw2.ipynb --out graded/ "
              "--assignment hidden_layer")
GRADESCOPE = [".venv/bin/python -m autograder gradescope logistic_regression --out autograder.zip",
              ".venv/bin/python -m autograder gradescope logistic_regression --out autograder.zip "
              "--hide-hidden-until-due"]
PIP_INSTALL = "python -m pip install -r requirements.txt"
CHECK = "python -m autograder check logistic_regression.ipynb"
TEMPLATE = ".venv/bin/python classroom/make_student_template.py logistic_regression build/classroom/logistic_regression"
COURSE_FILES = ["nbgrader_config.py", "pyproject.toml", "requirements.lock", "autograder", "reference", "source",
                "release", "classroom"]


# --- the README ------------------------------------------------------------------------------

def sh_blocks(readme="README.md"):
    """The lines of every ```sh block of ``readme``, one list per block."""
    text = (ROOT / readme).read_text()
    return [block.splitlines() for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)]


def block_with(command):
    """The one ```sh block holding ``command``."""
    found = [lines for lines in sh_blocks() if any(command in line for line in lines)]
    assert len(found) == 1, f"README.md has {len(found)} ```sh blocks with {command!r}"
    return found[0]


def command_of(line):
    """A README line without its trailing comment and spaces."""
    return line.split("  #")[0].strip()


def readme_line(command, readme="README.md"):
    """The README's line for ``command``, exactly as printed (trailing comment included)."""
    lines = [line for block in sh_blocks(readme) for line in block if command_of(line) == command]
    assert lines, f"{readme} no longer prints {command!r}: update it or this test"
    return lines[0]


def nbgrader_lines():
    """(role, line as printed) of the README's nbgrader block; roles from its comment lines."""
    role, lines = None, []
    for line in block_with("nbgrader generate_assignment"):
        if line.startswith("#"):
            role = STUDENT_ROLE if "student" in line else INSTRUCTOR if "instructor" in line else role
        elif line.strip():
            lines.append((role, line))
    return lines


def test_the_readme_prints_the_commands_this_test_runs():
    assert [(role, command_of(line)) for role, line in nbgrader_lines()] == NBGRADER_BLOCK, \
        "the README's nbgrader block changed: run the new commands here too"
    for command in [GRADE_ONE, GRADE_FOLDER, GRADE_MANY, *GRADESCOPE, PIP_INSTALL, CHECK]:
        readme_line(command)
    readme_line(TEMPLATE, "classroom/README.md")
    assert [command_of(line) for line in block_with("autograder grade path/to") if line.strip()] == \
        [GRADE_ONE, GRADE_FOLDER, GRADE_MANY]
    assert [command_of(line) for line in block_with("autograder gradescope") if line.strip()] == GRADESCOPE


def test_the_system_path_holds_no_alembic():
    """Otherwise nbgrader could find it there, and the nbgrader block below would not show that
    the kit makes nbgrader find its own."""
    assert shutil.which("alembic", path=SYSTEM_PATH) is None, f"alembic is on {SYSTEM_PATH}"


# --- running them ------------------------------------------------------------------------------

def run(line, cwd, env):
    """``line`` exactly as the README prints it, run by bash; its CompletedProcess (exit 0 asserted)."""
    done = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{line}\nexited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def fresh_course(folder):
    """A fresh clone of the kit, as far as these commands need one, with `.venv` linked."""
    assert (VENV / "bin" / "nbgrader").exists(), f"no {VENV}: run `make env` first"
    folder.mkdir(parents=True)
    for name in COURSE_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, folder / name)
    (folder / ".venv").symlink_to(VENV, target_is_directory=True)
    return folder


def instructor_env(top):
    home = top / "home-instructor"
    home.mkdir(exist_ok=True)
    return {"PATH": SYSTEM_PATH, "HOME": str(home), "NBGRADER_EXCHANGE": str(top / "exchange")}


def student_env(top, home):
    """A terminal of the course's Jupyter server, for the student whose folder is ``home``."""
    server_bin = top / "jupyter-server-bin"
    if not server_bin.exists():
        server_bin.mkdir()
        (server_bin / "nbgrader").symlink_to(VENV / "bin" / "nbgrader")
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(f"c.Exchange.root = {str(top / 'exchange')!r}\n")
    return {"PATH": f"{server_bin}:{SYSTEM_PATH}", "HOME": str(home), "USER": STUDENT, "LOGNAME": STUDENT}


def solve(notebook_path):
    """What the student does between fetch and submit: every solution cell filled in."""
    notebook = json.loads(notebook_path.read_text())
    solutions = [cell["metadata"]["nbgrader"]["grade_id"] for cell in notebook["cells"]
                 if cell.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert solutions, "the fetched notebook has no solution cell"
    notebook_path.write_text(json.dumps(build(notebook, {g: cell_source(A, g) for g in solutions})))


def test_the_nbgrader_block_then_the_command_line_lines(tmp_path):
    """The README's nbgrader block line by line, each step's files checked, then the three
    `autograder grade` lines on the collected submissions and on files made up at the paths they
    name. One test: under `pytest -n 2` a shared fixture would run the whole workflow twice."""
    course = fresh_course(tmp_path / "course")
    exchange = tmp_path / "exchange" / "nn-from-scratch"
    student_home = tmp_path / "students" / STUDENT
    env = {INSTRUCTOR: instructor_env(tmp_path), STUDENT_ROLE: student_env(tmp_path, student_home)}
    cwd = {INSTRUCTOR: course, STUDENT_ROLE: student_home}
    printed = {}
    for role, line in nbgrader_lines():
        printed[command_of(line)] = run(line, cwd[role], env[role])
        if " fetch_assignment " in line:
            assert (student_home / A / f"{A}.ipynb").is_file()
            solve(student_home / A / f"{A}.ipynb")
    out = {command: done.stdout + done.stderr for command, done in printed.items()}

    # generate_assignment, release_assignment
    assert (course / "release" / A / f"{A}.ipynb").is_file()
    assert (course / "gradebook.db").is_file()  # the file nbgrader needed `alembic` for
    assert (exchange / "outbound" / A / f"{A}.ipynb").is_file()
    # submit: the submission is in the exchange under the student's login name
    inbound = list((exchange / "inbound").glob(f"{STUDENT}+{A}+*"))
    assert len(inbound) == 1 and (inbound[0] / f"{A}.ipynb").is_file()
    # collect, with its owner check on: the student owns the files they submitted
    assert (course / "submitted" / STUDENT / A / f"{A}.ipynb").is_file()
    assert "cheating attempt" not in out[".venv/bin/nbgrader collect logistic_regression"]
    # autograde, nbgrader-sync, export, generate_feedback
    assert (course / "autograded" / STUDENT / A / f"{A}.ipynb").is_file()
    assert f"{STUDENT}  graded  10 -> 10" in out[".venv/bin/python -m autograder nbgrader-sync logistic_regression"]
    with open(course / "autograder_sync" / f"{A}.csv") as f:
        assert [row["student"] for row in csv.DictReader(f)] == [STUDENT]
    with open(course / "grades.csv") as f:
        grades = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert grades == {STUDENT: pytest.approx(10.0)}
    html = (course / "feedback" / STUDENT / A / f"{A}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html

    # the command-line grading lines
    instructor = env[INSTRUCTOR]
    (course / "path" / "to").mkdir(parents=True)
    shutil.copy(course / "submitted" / STUDENT / A / f"{A}.ipynb", course / "path" / "to" / f"{A}.ipynb")
    for student, folder in (("alice", "source"), ("ben", "release")):  # a correct notebook, an untouched one
        (course / student).mkdir()
        (course / student / "hw2.ipynb").write_text(json.dumps(load_notebook("hidden_layer", folder)))
    run(readme_line(GRADE_ONE), course, instructor)
    assert json.loads((course / "results.json").read_text())["score"] == pytest.approx(10.0)
    run(readme_line(GRADE_FOLDER), course, instructor)
    assert json.loads((course / "graded" / STUDENT / A / "results.json").read_text())["score"] == pytest.approx(10.0)
    run(readme_line(GRADE_MANY), course, instructor)
    for student, score in (("alice", 10.0), ("ben", 0.0)):
        results = json.loads((course / "graded" / student / "hidden_layer" / "results.json").read_text())
        assert results["score"] == pytest.approx(score)
    with open(course / "graded" / "grades.csv") as f:
        rows = {(row["student"], row["assignment"]): float(row["score"]) for row in csv.DictReader(f)}
    assert rows == {("alice", "hidden_layer"): pytest.approx(10.0), ("ben", "hidden_layer"): pytest.approx(0.0)}


def test_gradescope_lines(tmp_path):
    course = fresh_course(tmp_path / "kit")
    env = instructor_env(tmp_path)
    for command in GRADESCOPE:
        (course / "autograder.zip").unlink(missing_ok=True)
        run(readme_line(command), course, env)
        with zipfile.ZipFile(course / "autograder.zip") as bundle:
            assert {"setup.sh", "run_autograder"} <= set(bundle.namelist())


def test_the_students_check_line(tmp_path):
    """The students' line, in a student template repository made as classroom/README.md prints.
    The student's `python` is a Python with the repository's requirements installed: the venv's,
    through a wrapper (the pip line is not run here: it would install into the kit's venv)."""
    kit = fresh_course(tmp_path / "kit")
    run(readme_line(TEMPLATE, "classroom/README.md"), kit, instructor_env(tmp_path))
    repo = kit / "build" / "classroom" / A
    assert (repo / "requirements.txt").is_file()
    student_python = tmp_path / "student-python"
    student_python.mkdir()
    (student_python / "python").write_text(f'#!/bin/sh\nexec "{VENV / "bin" / "python"}" "$@"\n')
    (student_python / "python").chmod(0o755)
    shutil.copy(ROOT / "source" / A / f"{A}.ipynb", repo / f"{A}.ipynb")  # a student who solved it all
    done = run(readme_line(CHECK), repo, {"PATH": f"{student_python}:{SYSTEM_PATH}", "HOME": str(tmp_path)})
    assert done.stdout.strip().splitlines()[-1] == "public checks passed — the hidden tests check more"

"""Student-side check: ``python -m autograder check NOTEBOOK [--classroom]``.

Runs only the PUBLIC checks of a student's notebook: the student's code cells plus the
locked ``visible-<name>`` cells, in order, in a real Jupyter kernel (nbclient). The hidden
tests are never run here and never needed: this module depends on nothing else in
``autograder`` (only nbformat, nbclient and ipykernel), so a student repository can carry a
copy of this one file next to the pristine release notebook (see ``classroom/README.md``).

Trust: locked cells (given code and the visible checks) are restored from the release
notebook by grade_id, so editing or deleting them in the student's copy changes nothing; a
visible cell that is missing is put back after the cell that precedes it in the release.
The graded cells (nbgrader ``grade: true``, the hidden tests) are skipped.

A graded name passes when its visible cell has no error output. Exit status 0 when every
public check passed, 1 otherwise (also when the notebook cannot be read).

``--classroom`` prints, on stdout, base64 of the JSON that GitHub Classroom's
``autograding-grading-reporter`` reads from a runner step's ``result`` output (version 1,
status, max_score, tests[]); the human report then goes to stderr. Points in that JSON are
PUBLIC-CHECK POINTS ONLY: a graded name earns its full points (its nbgrader ``points``) when
its visible checks pass, else 0. They say nothing about the grade, which the hidden tests
decide when the instructor grades the submission.
"""
import argparse
import base64
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ALL_PASSED = "public checks passed — the hidden tests check more"
PUBLIC_POINTS_NOTE = ("public-check points only: an item earns its points here when its visible "
                      "checks pass; the hidden tests decide the grade")
HERE = Path(__file__).resolve().parent
VISIBLE_PREFIX = "visible-"
_VISIBLE_FIRST_LINE = re.compile(r"#\s*Visible checks for\s+([A-Za-z_][\w.]*)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CheckError(Exception):
    """The check could not run (unreadable notebook, no release notebook...); says why."""


@dataclass
class Item:
    name: str
    grade_id: str  # visible-<name>
    points: float
    status: str = "not run"  # passed | failed | not implemented | not run
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self):
        return self.status == "passed"


@dataclass
class CheckResult:
    notebook: str
    assignment: str
    items: list = field(default_factory=list)
    error: str = ""  # set when the check could not run at all

    @property
    def passed(self):
        return not self.error and bool(self.items) and all(i.passed for i in self.items)

    @property
    def failed_count(self):
        return sum(not i.passed for i in self.items)

    @property
    def max_score(self):
        return sum(i.points for i in self.items)

    @property
    def exit_status(self):
        return 0 if self.passed else 1

    def lines(self):
        if self.error:
            return [f"error: {self.error}", "public checks could not run"]
        out = []
        for item in self.items:
            if item.status == "passed":
                out.append(f"{item.name}: passed")
            elif item.status == "not implemented":
                out.append(f"{item.name}: not implemented yet")
            else:
                out.append(f"{item.name}: {item.status}: {item.message}".rstrip(": "))
        if self.passed:
            out.append(ALL_PASSED)
        else:
            out.append(f"{self.failed_count} of {len(self.items)} public checks failed")
        return out

    def classroom(self):
        """The dict GitHub Classroom's autograding-grading-reporter reads (before base64)."""
        if self.error:
            tests = [{"name": f"{self.assignment or 'notebook'}: public checks", "status": "error",
                      "message": self.error, "test_code": f"python -m autograder check {self.notebook}",
                      "filename": self.notebook, "line_no": 0, "execution_time": "0s", "score": 0}]
            max_score = sum(i.points for i in self.items)
            return {"version": 1, "status": "error", "max_score": _number(max_score), "tests": tests}
        tests = []
        for item in self.items:
            message = {"passed": "visible checks passed",
                       "not implemented": "not implemented yet"}.get(item.status, item.message)
            tests.append({
                "name": f"{item.name} (public checks)",
                "status": "pass" if item.passed else "fail",
                "message": f"{message} ({PUBLIC_POINTS_NOTE})",
                "test_code": f"cell {item.grade_id} of {self.notebook}",
                "filename": self.notebook,
                "line_no": 0,
                "execution_time": f"{item.seconds:.2f}s",
                "score": _number(item.points if item.passed else 0),
            })
        return {"version": 1, "status": "pass" if self.passed else "fail",
                "max_score": _number(self.max_score), "tests": tests}


def _number(x):
    return int(x) if float(x).is_integer() else float(x)


# --------------------------------------------------------------------------- notebooks

def _read(path):
    import nbformat

    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CheckError(f"{path.name} could not be read ({err}).") from err
    if not raw.strip():
        raise CheckError(f"{path.name} is empty: save the notebook and try again.")
    try:
        return nbformat.reads(raw, as_version=4)
    except Exception as err:  # nbformat raises several types
        raise CheckError(f"{path.name} is not a valid Jupyter notebook ({type(err).__name__}).") from err


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _gid(cell):
    return _meta(cell).get("grade_id")


def _is_test(cell):
    meta = _meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def _is_locked(cell):
    meta = _meta(cell)
    return bool(meta.get("locked")) and not meta.get("solution")


def find_release(assignment, release=None):
    """The pristine release notebook: ``release``, else the kit's ``release/<a>/<a>.ipynb`` (this
    file is autograder/integrations/self_check.py there), else ``release/<a>.ipynb`` next to this
    file (a student repository, where it is autograder/self_check.py)."""
    if release:
        return Path(release)
    candidates = [HERE.parent.parent / "release" / assignment / f"{assignment}.ipynb",
                  HERE / "release" / f"{assignment}.ipynb"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise CheckError(f"no release notebook for assignment '{assignment}' "
                     f"(looked in {', '.join(str(c) for c in candidates)}).")


def _guess_assignment(path):
    stem = Path(path).stem
    if find_release_or_none(stem):
        return stem
    bundled = sorted((HERE / "release").glob("*.ipynb")) if (HERE / "release").is_dir() else []
    if len(bundled) == 1:  # a student repository holds one assignment
        return bundled[0].stem
    return stem


def find_release_or_none(assignment):
    try:
        return find_release(assignment)
    except CheckError:
        return None


def graded_items(release_nb):
    """An Item per visible-checks cell of the release, in notebook order, with the points of
    its graded cell (``check-<name>``)."""
    points = {_gid(c): float(_meta(c).get("points") or 0) for c in release_nb.cells
              if c.cell_type == "code" and _is_test(c)}
    items = []
    for cell in release_nb.cells:
        gid = _gid(cell)
        if cell.cell_type != "code" or not gid or not gid.startswith(VISIBLE_PREFIX):
            continue
        match = _VISIBLE_FIRST_LINE.match(cell.source.lstrip())
        name = match.group(1) if match else gid[len(VISIBLE_PREFIX):]
        check_id = "check-" + gid[len(VISIBLE_PREFIX):]
        items.append(Item(name, gid, points.get(check_id, 0.0)))
    return items


def public_check_cells(student_nb, release_nb):
    """The code cells to run, in order: the student's code cells (locked ones restored from
    the release) minus the graded test cells, with every visible-checks cell from the release
    (put back where it belongs if the student deleted it)."""
    import nbformat

    release_code = [c for c in release_nb.cells if c.cell_type == "code"]
    by_id = {_gid(c): c for c in release_code if _gid(c)}
    test_ids = {_gid(c) for c in release_code if _is_test(c)}
    cells, seen = [], set()
    for cell in student_nb.cells:
        if cell.cell_type != "code":
            continue
        gid = _gid(cell)
        original = by_id.get(gid)
        if gid in test_ids or (original is None and _is_test(cell)):
            continue
        if gid in seen:  # a duplicated locked cell runs once
            continue
        if original is not None and _is_locked(original):
            source = original.source
        else:
            source = cell.source
        cells.append((gid, source))
        if gid:
            seen.add(gid)
    # Put back locked visible cells the student deleted: after the release cell before them.
    for index, cell in enumerate(release_code):
        gid = _gid(cell)
        if not gid or not gid.startswith(VISIBLE_PREFIX) or gid in seen:
            continue
        position = len(cells)
        for previous in reversed(release_code[:index]):
            ids = [g for g, _ in cells]
            if _gid(previous) in ids:
                position = ids.index(_gid(previous)) + 1
                break
        cells.insert(position, (gid, cell.source))
        seen.add(gid)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for gid, source in cells:
        new = nbformat.v4.new_code_cell(source)
        new.metadata["public_check_id"] = gid or ""
        nb.cells.append(new)
    return nb


def _error_of(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename", "Error"), _ANSI.sub("", output.get("evalue", "")), \
                [_ANSI.sub("", line) for line in output.get("traceback", [])]
    return None


def check_notebook(path, assignment=None, release=None, timeout=600):
    """Run the public checks of the notebook at ``path``; a CheckResult (never raises for a
    bad notebook: ``result.error`` says why)."""
    assignment = assignment or _guess_assignment(path)
    result = CheckResult(str(path), assignment)
    try:
        release_nb = _read(find_release(assignment, release))
        result.items = graded_items(release_nb)
        if not result.items:
            raise CheckError(f"the release notebook of '{assignment}' has no visible checks cells.")
        student_nb = _read(path)
        nb = public_check_cells(student_nb, release_nb)
    except CheckError as err:
        result.error = str(err)
        return result

    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(Path(path).resolve().parent)}})
    durations = {}
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                start = time.monotonic()
                client.execute_cell(cell, index)
                durations[cell.metadata["public_check_id"]] = time.monotonic() - start
    except Exception as err:  # a kernel that dies or a cell over the time limit
        result.error = f"the notebook could not be run to the end ({type(err).__name__}: {err})"
    run = {c.metadata["public_check_id"]: c for c in nb.cells}
    for item in result.items:
        cell = run.get(item.grade_id)
        item.seconds = durations.get(item.grade_id, 0.0)
        if cell is None or item.grade_id not in durations:
            item.status, item.message = "failed", "not run (the notebook stopped before this check)"
            continue
        error = _error_of(cell)
        if error is None:
            item.status = "passed"
        elif error[0] == "NotImplementedError":
            item.status = "not implemented"
        else:
            ename, evalue, traceback = error
            if ename == "AssertionError":
                item.status, item.message = "failed", evalue or _last_line(traceback) or "an assertion failed"
            else:
                item.status, item.message = "failed", f"{ename}: {evalue}".rstrip(": ")
    if result.error and all(i.passed for i in result.items):
        pass  # keep the error: the run did not finish
    return result


def _last_line(traceback):
    lines = [line for chunk in traceback for line in chunk.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def encode_classroom(result):
    """base64 of the reporter's JSON for ``result``."""
    return base64.b64encode(json.dumps(result.classroom()).encode("utf-8")).decode("ascii")


# --------------------------------------------------------------------------- command line

def add_arguments(parser):
    parser.add_argument("notebook", help="the student's notebook (.ipynb)")
    parser.add_argument("--assignment", help="assignment name (default: the notebook's file name)")
    parser.add_argument("--release", help="the pristine release notebook (default: found by assignment)")
    parser.add_argument("--classroom", action="store_true",
                        help="print base64 of GitHub Classroom's autograding JSON on stdout "
                             "(public-check points only); the report goes to stderr")
    return parser


def run(args):
    """Run ``check`` for parsed ``args``; returns the exit status (0: all public checks passed)."""
    result = check_notebook(args.notebook, args.assignment, args.release)
    report = sys.stderr if args.classroom else sys.stdout
    for line in result.lines():
        print(line, file=report)
    if args.classroom:
        print(f"(GitHub Classroom points are {PUBLIC_POINTS_NOTE}.)", file=report)
        print(encode_classroom(result))
    return result.exit_status


def main(argv=None):
    """``python -m autograder check NOTEBOOK [--classroom]``: ``argv`` without the program
    name; a leading ``check`` is accepted. Returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:
        argv = argv[1:]
    parser = add_arguments(argparse.ArgumentParser(
        prog="python -m autograder check",
        description="Run the public (visible) checks of a notebook; the hidden tests check more."))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

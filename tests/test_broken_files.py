"""Broken submissions through the real command line: every one still gets a results file.

``python -m autograder grade FILE --results R`` exits 0, writes R with score 0 and a
top-level sentence; unreadable files are not "graded". A batch in nbgrader's layout grades
every student, whatever the others submitted.
"""
import csv
import json
import os
import subprocess
import sys
import textwrap

import pytest

from submissions import notebook_path, release_submission, submission

A = "logistic_regression"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args), "--quiet"],
                          cwd=cwd or ROOT, capture_output=True, text=True, timeout=600)


def grade_file(path, tmp_path):
    results = tmp_path / "results" / "results.json"
    done = cli(path, "--results", results)
    assert done.returncode == 0, done.stderr
    assert results.exists(), done.stderr
    return json.loads(results.read_text())


def write(tmp_path, data):
    path = tmp_path / "bob" / A / f"{A}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return path


def valid_notebook_text():
    return notebook_path(A, "source").read_bytes()


UNREADABLE = {
    "empty": b"",
    "only-whitespace": b"  \n\n ",
    "truncated-json": None,  # the first half of the source notebook
    "json-not-a-notebook": json.dumps({"hello": "world", "score": 10}).encode(),
    "json-list": b"[1, 2, 3]",
    "binary-random-bytes": None,  # os.urandom
    "cells-not-a-list": json.dumps({"cells": 42, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(),
}


@pytest.mark.parametrize("kind", UNREADABLE)
def test_unreadable_file_gets_a_results_file_saying_why(kind, tmp_path):
    data = UNREADABLE[kind]
    if kind == "truncated-json":
        text = valid_notebook_text()
        data = text[: len(text) // 2]
    elif kind == "binary-random-bytes":
        data = b"\x89PNG\x00\xff" + os.urandom(4096)
    result = grade_file(write(tmp_path, data), tmp_path)
    assert result["score"] == 0
    assert result["extra_data"]["status"] != "graded"
    sentence = result.get("output", "")
    assert sentence and sentence.rstrip().endswith((".", ")")) and "Traceback" not in sentence
    assert f"{A}.ipynb" in sentence


def test_wrongly_named_function_is_graded_with_zero_on_that_item(tmp_path):
    path = submission(tmp_path, A, student="bob", replace={"gradient-solution": textwrap.dedent("""
        def gradiant(w, x, t):
            x = np.asarray(x, dtype=float)
            return (nn(x, w) - t).T @ x / len(x)
    """)})
    result = grade_file(path, tmp_path)
    assert result["extra_data"]["status"] == "graded"
    gradient_tests = [t for t in result["tests"] if t["name"].startswith("gradient:")]
    assert sum(t["score"] for t in gradient_tests) == 0
    assert any("is not defined" in t["output"] for t in gradient_tests)
    assert result["score"] == pytest.approx(7.0)  # 10 - gradient (3)
    delta_w = [t for t in result["tests"] if t["name"].startswith("delta_w:")]
    # delta_w calls gradient, which does not exist: its calls get the reference's gradient (a bug costs once)
    assert delta_w and all(t["status"] == "passed" for t in delta_w)


def test_notebook_whose_cells_all_raise(tmp_path):
    notebook = json.loads(valid_notebook_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["source"] = "raise RuntimeError('broken on purpose')\n"
    result = grade_file(write(tmp_path, json.dumps(notebook).encode()), tmp_path)
    assert result["score"] == 0
    assert result["tests"] and all(t["score"] == 0 for t in result["tests"])
    assert any("not defined" in t["output"] for t in result["tests"])
    assert result["extra_data"]["status"] == "graded" or result.get("output")


def test_batch_in_nbgrader_layout_grades_every_student(tmp_path):
    submitted = tmp_path / "submitted"
    submission(submitted, A, student="good")
    write(submitted.parent / "x", b"")  # a decoy outside submitted/
    broken = submitted / "broken" / A / f"{A}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(valid_notebook_text()[:500])
    release_submission(submitted, A, student="hostile", append=[
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n"])
    out = tmp_path / "graded"
    done = cli(submitted, "--out", out)
    assert done.returncode == 0, done.stderr
    with open(out / "grades.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == ["broken", "good", "hostile"]
    assert float(rows["good"]["score"]) == pytest.approx(10.0)
    assert rows["good"]["status"] == "graded"
    assert rows["broken"]["status"] != "graded" and float(rows["broken"]["score"]) == 0
    assert rows["hostile"]["status"] != "graded" and float(rows["hostile"]["score"]) == 0
    for student in rows:
        data = json.loads((out / student / A / "results.json").read_text())
        assert "score" in data and "tests" in data
    hostile = json.loads((out / "hostile" / A / "results.json").read_text())
    assert "did not finish" in hostile["output"]

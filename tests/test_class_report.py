"""The class report (python -m autograder report OUT) of a real graded class.

A class of 30 submissions over the three assignments is built from the course's own notebooks
and the grading corpus (tests/test_corpus_*.py): the reference, correct variants, single-bug
mutants planted in several students each, a gradient that is off by 1e-4 (a failure no
diagnosis explains), an untouched release and a truncated file. It is graded once, by the real
``python -m autograder grade SUBMITTED --out OUT --workers 2``, and reported by the real
``python -m autograder report OUT``. The report must list each planted mistake with its count
and its students (the mistake ids come from the specs' catalogues), render in headless
Chromium with every figure and no script error, and show no hidden test or reference code.
"""
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup

from autograder.course import ASSIGNMENTS
from autograder.integrations.batch import save
from autograder.scores.results import SubmissionResult
from autograder.scores.results import TestResult as Check  # not collected as a test class
from conftest import ROOT
from submissions import mutate, release_submission, submission

LR, HL, DM = "logistic_regression", "hidden_layer", "digits_mlp"
NEAR_MISS = ("error.T @ inputs / inputs.shape[0]", "error.T @ inputs / inputs.shape[0] * (1 + 1e-4)")

# {(assignment, corpus mutant): students who made that one mistake}
PLANTED = {
    (LR, "gradient-sum-not-mean"): ["s01", "s02", "s03"],
    (LR, "loss-arguments-swapped"): ["s04", "s05"],
    (LR, "logistic-sign-flipped"): ["s06"],
    (HL, "times-N"): ["s01", "s07", "s08"],
    (HL, "negated"): ["s02"],
    (DM, "cross-entropy-sum-not-mean"): ["s03", "s09"],
    (DM, "linear-gW-transposed"): ["s04"],
}
# {assignment: {student: correct variant of the corpus, or None for the reference}}
CORRECT = {
    LR: {"s07": None, "s08": None, "s09": None, "s10": None, "s11": "einsum", "s12": "scipy-expit"},
    HL: {"s03": None, "s04": None, "s05": None, "s06": None, "s09": "loops-over-examples"},
    DM: {"s01": None, "s02": None, "s05": "einsum"},
}
STUB = (HL, "s10")  # the untouched release
BROKEN = (LR, "s16")  # truncated on upload
NEAR = (LR, "s13")  # the gradient off by 1e-4: fails with no diagnosis
ITEM_COUNT = sum(len(ASSIGNMENTS[a]) for a in (LR, HL, DM))


def corpus(assignment):
    return importlib.import_module(f"test_corpus_{assignment}")


def mutant(assignment, name):
    """(item, cell replacements) of a single-bug mutant of the corpus."""
    item, _, replace = corpus(assignment).MUTANTS[name]
    return item, replace


def build_class(submitted):
    """submitted/<student>/<assignment>/<assignment>.ipynb for the whole class; the number of submissions."""
    for (assignment, name), students in PLANTED.items():
        for student in students:
            submission(submitted, assignment, replace=mutant(assignment, name)[1], student=student)
    for assignment, students in CORRECT.items():
        for student, variant in students.items():
            submission(submitted, assignment, replace=variant and corpus(assignment).CORRECT[variant], student=student)
    release_submission(submitted, STUB[0], student=STUB[1])
    submission(submitted, NEAR[0], replace=mutate(LR, "gradient-solution", NEAR_MISS), student=NEAR[1])
    broken = submitted / BROKEN[1] / BROKEN[0] / f"{BROKEN[0]}.ipynb"
    broken.parent.mkdir(parents=True)
    text = (ROOT / "source" / LR / f"{LR}.ipynb").read_text()
    broken.write_text(text[: len(text) // 3])
    return len(list(submitted.glob("*/*/*.ipynb")))


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(OUT, the report command's output): the class graded and reported by the real commands."""
    root = tmp_path_factory.mktemp("class")
    count = build_class(root / "submitted")
    assert count == 30
    done = run("grade", root / "submitted", "--out", root / "graded", "--workers", 2, "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    reported = run("report", root / "graded", cwd=root)
    assert reported.returncode == 0, reported.stderr[-3000:]
    return root / "graded", reported.stdout


@pytest.fixture(scope="module")
def page(graded):
    return BeautifulSoup((graded[0] / "report.html").read_text(encoding="utf-8"), "html.parser")


def saved(out, student, assignment):
    return json.loads((out / student / assignment / "result.json").read_text())["result"]


def section(page, assignment):
    return page.find("section", id=assignment)


def names(cell):
    return sorted(span.get_text() for span in cell.select("span.student"))


# --- what the report says --------------------------------------------------------------------

@pytest.mark.parametrize("assignment, name", PLANTED, ids=[f"{a}-{m}" for a, m in PLANTED])
def test_each_planted_mistake_is_listed_with_its_count_and_students(graded, page, assignment, name):
    out, _ = graded
    students = PLANTED[(assignment, name)]
    item = mutant(assignment, name)[0]
    ids = [{t["mistake"]["id"] for t in saved(out, s, assignment)["tests"]
            if t["item"] == item and t["status"] != "passed" and t.get("mistake")} for s in students]
    common = set.intersection(*ids)
    assert common, (f"no mistake id diagnosed on {item} for all of {students} ({name}): the checks record none "
                    f"(ids per student: {ids})")
    rows = {row["data-id"]: row for row in section(page, assignment).select("tr.mistake")}
    listed = [mistake_id for mistake_id in common if mistake_id in rows and
              names(rows[mistake_id].select_one("td.students")) == students]
    assert listed, {i: rows[i].get_text(" ", strip=True) if i in rows else "missing" for i in common}
    row = rows[listed[0]]
    assert row.select_one("td.count").get_text() == str(len(students))
    assert item in row.get_text()


def test_mistakes_are_listed_most_common_first(page):
    for assignment in (LR, HL, DM):
        counts = [int(row.select_one("td.count").get_text()) for row in section(page, assignment).select("tr.mistake")]
        assert counts == sorted(counts, reverse=True), (assignment, counts)


def test_a_failure_no_diagnosis_explains_is_listed_as_the_next_to_catalogue(graded, page):
    out, _ = graded
    undiagnosed = [t["name"] for t in saved(out, NEAR[1], LR)["tests"] if t["status"] == "failed" and not t.get("mistake")]
    assert "gradient: matches the reference" in undiagnosed, undiagnosed
    rows = section(page, LR).select("tr.unexplained-check")
    shown = {row.select("td")[2].get_text(): names(row.select_one("td.students")) for row in rows}
    assert NEAR[1] in shown["gradient: matches the reference"], shown


def test_totals_quartiles_and_items(graded, page):
    out, _ = graded
    totals = [sum(t["score"] for t in saved(out, s, LR)["tests"])
              for s in os.listdir(out) if (out / s / LR).is_dir() and s != BROKEN[1]]
    text = section(page, LR).get_text(" ", strip=True)
    assert f"graded {len(totals)} of {len(totals) + 1}" in text
    assert f"median {np.percentile(totals, 50):g} / 10" in text
    q1, q3 = np.percentile(totals, [25, 75])
    assert f"quartiles {q1:g} and {q3:g}" in text
    items = {row.th.get_text(): [td.get_text() for td in row.select("td")] for row in
             section(page, LR).select("table.items tbody tr")}
    assert list(items) == [g.name for g in ASSIGNMENTS[LR]]
    gradient = [round(sum(t["score"] for t in saved(out, s, LR)["tests"] if t["item"] == "gradient"), 6)
                for s in os.listdir(out) if (out / s / LR).is_dir() and s != BROKEN[1]]
    assert items["gradient"][1] == f"{np.mean(gradient):.2f}"
    assert items["gradient"][2] == f"{100 * np.mean([g == 3 for g in gradient]):.0f} %"


def test_ungradeable_submissions_show_status_and_reason(graded, page):
    out, _ = graded
    rows = section(page, LR).select("table.ungradeable tbody tr")
    assert [row.select_one("td.student").get_text() for row in rows] == [BROKEN[1]]
    assert rows[0].select("td")[1].get_text() == "unreadable"
    assert saved(out, BROKEN[1], LR)["output"] in rows[0].get_text()
    assert "Every submission was graded." in section(page, HL).get_text()


def test_grading_time_is_recorded_and_shown(graded, page):
    out, _ = graded
    seconds = [saved(out, s, DM)["seconds"] for s in os.listdir(out) if (out / s / DM).is_dir()]
    assert all(isinstance(s, float) and s > 0 for s in seconds), seconds
    slowest = section(page, DM).select("table.slowest tbody tr")
    assert len(slowest) == 5
    shown = [float(row.select("td")[1].get_text()) for row in slowest]
    assert shown == sorted(shown, reverse=True) and shown[0] == pytest.approx(max(seconds), abs=0.01)


def test_the_command_prints_a_short_summary_and_writes_markdown(graded):
    out, printed = graded
    lines = printed.strip().splitlines()
    assert len(lines) == 4, printed
    assert lines[-1] == f"Report: {out / 'report.html'} and {out / 'report.md'}"
    assert re.match(rf"{LR}: 14 submission\(s\), 13 graded, median [\d.]+ / 10.*; 1 could not be graded$", lines[2])
    md = (out / "report.md").read_text()
    for assignment in (LR, HL, DM):
        assert f"\n## {assignment}\n" in md
    assert f"| {BROKEN[1]} | unreadable |" in md


def test_no_hidden_test_or_reference_code_on_the_page(graded):
    out, _ = graded
    text = (out / "report.html").read_text() + (out / "report.md").read_text()
    for forbidden in ("def test_", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "hidden_score", "<script", "import numpy"):
        assert forbidden not in text, forbidden
    for path in [*(ROOT / "reference").glob("*.py"), *(ROOT / "autograder" / "assignments").glob("*/spec.py")]:
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) > 30 and not line.startswith(("#", '"', "'")) and ("=" in line or "return" in line):
                assert line not in text, f"{path.name}: {line}"


# --- in a real browser --------------------------------------------------------------------------

def chromium(tmp_path, page, *args):
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.fail("chromium is not installed: run `make env`", pytrace=False)
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           "--enable-logging=stderr", "--v=0", *args, Path(page).as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def console_messages(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_the_report_renders_in_headless_chromium_with_every_figure(graded, tmp_path):
    from PIL import Image

    report = graded[0] / "report.html"
    dom = chromium(tmp_path, report, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    assert not console_messages(dom.stderr), console_messages(dom.stderr)
    rendered = BeautifulSoup(dom.stdout, "html.parser")
    assert not rendered.find("script")
    charts = rendered.select("figure.chart")
    assert len(charts) == 3 + ITEM_COUNT  # a histogram per assignment, a bar chart per item
    for chart in charts:
        svg = chart.find("svg")
        assert svg is not None and (svg.find("path") or svg.find("rect")), chart.get("data-figure")
    assert [s["id"] for s in rendered.select("section.assignment")] == [DM, HL, LR]

    shot = tmp_path / "shot.png"
    done = chromium(tmp_path, report, f"--screenshot={shot}", "--window-size=1200,1600")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-3000:]
    assert not console_messages(done.stderr), console_messages(done.stderr)
    with Image.open(shot) as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    blue = ((rgb[..., 2] > rgb[..., 0] + 80) & (rgb[..., 2] > 200)).sum()  # the histogram's bars
    assert blue > 500, "the totals histogram is not drawn"


# --- reports of saved results, written as a batch writes them ------------------------------

def write_saved(out, result):
    """result.json, results.json and feedback as a batch saves them (a "/" in the name kept out of the path)."""
    save(out / result.student.replace("/", "_") / result.assignment, "0" * 64, result)


def test_lists_of_students_fold_beyond_ten_and_every_name_is_escaped(tmp_path):
    out = tmp_path / "graded"
    evil = "O'Brien <script>alert(1)</script> & co"
    mistake = {"id": "gradient.sum-not-mean", "label": "sums <b>instead</b> of averaging"}
    students = [f"st{i:02d}" for i in range(24)] + [evil]
    for student in students:
        tests = [Check("gradient: matches the reference", "gradient", 0.0, 3.0,
                       "Likely mistake: <i>6 times</i> too large", "failed", mistake)]
        write_saved(out, SubmissionResult(student, LR, "x.ipynb", tests=tests, max_score=10.0, seconds=0.5))
    write_saved(out, SubmissionResult(evil + "2", LR, "x.ipynb", status="unreadable", output="<img src=x> broken",
                                      max_score=10.0))
    done = run("report", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (out / "report.html").read_text()
    page = BeautifulSoup(html, "html.parser")
    row = page.select_one("tr.mistake")
    assert row["data-id"] == "gradient.sum-not-mean" and row.select_one("td.count").get_text() == "25"
    cell = row.select_one("td.students")
    details = cell.find("details")
    assert details is not None and details.summary.get_text() == "and 15 more"
    assert len(cell.select("span.student")) == 25 and len(details.select("span.student")) == 15
    assert "<script" not in html and "<img" not in html and "<b>instead" not in html and "<i>6" not in html
    assert "O&#x27;Brien &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "&lt;img src=x&gt; broken" in html
    assert evil in names(cell)
    assert "Every failed check carries a diagnosis." in html


def test_results_graded_before_mistakes_and_times_were_recorded_still_load(tmp_path):
    """An old result.json (no mistake, no seconds), and a folder with results.json alone."""
    out = tmp_path / "graded"
    old = {"student": "old", "assignment": LR, "notebook": "x.ipynb", "status": "graded", "output": "", "max_score": 10.0,
           "tests": [{"name": "gradient: matches the reference", "item": "gradient", "score": 0.0, "max_score": 3.0,
                      "output": "Likely mistake: 7 times too large", "status": "failed"}]}
    (out / "old" / LR).mkdir(parents=True)
    (out / "old" / LR / "result.json").write_text(json.dumps({"fingerprint": "x", "result": old}))
    gradescope = {"score": 7.0, "tests": [
        {"name": "gradient: matches the reference", "score": 0.0, "max_score": 3.0, "output": "7 times too large",
         "status": "failed", "extra_data": {"mistake": {"id": "gradient.sum-not-mean", "label": "sums"}}},
        {"name": "loss: runs", "score": 7.0, "max_score": 7.0, "output": "", "status": "passed"}],
        "extra_data": {"status": "graded", "assignment": LR, "student": "gs", "max_score": 10.0}}
    (out / "gs" / LR).mkdir(parents=True)
    (out / "gs" / LR / "results.json").write_text(json.dumps(gradescope))
    done = run("report", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = BeautifulSoup((out / "report.html").read_text(), "html.parser")
    row = page.select_one("tr.mistake")
    assert row["data-id"] == "gradient.sum-not-mean" and names(row.select_one("td.students")) == ["gs"]
    unexplained = page.select_one("tr.unexplained-check")
    assert names(unexplained.select_one("td.students")) == ["old"]
    assert "graded 2 of 2" in page.get_text(" ", strip=True)
    assert "not recorded" in page.get_text().lower()


def test_a_sync_record_lists_possible_tampering(tmp_path):
    out, course = tmp_path / "graded", tmp_path / "course"
    write_saved(out, SubmissionResult("eve", LR, "x.ipynb", tests=[
        Check("gradient: runs", "gradient", 0.0, 3.0, "", "failed")], max_score=10.0))
    (course / "autograder_sync").mkdir(parents=True)
    (course / "autograder_sync" / f"{LR}.json").write_text(json.dumps([
        {"student": "eve", "status": "graded", "reason": "", "in_kernel": {"gradient": 3.0, "loss": 2.0},
         "sandbox": {"gradient": 0.0, "loss": 2.0}},
        {"student": "ada", "status": "graded", "reason": "", "in_kernel": {"gradient": 3.0}, "sandbox": {"gradient": 3.0}}]))
    done = run("report", out, "--course-dir", course, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = BeautifulSoup((out / "report.html").read_text(), "html.parser")
    rows = page.select("table.tampering tbody tr")
    assert [[td.get_text() for td in row.select("td")] for row in rows] == [["eve", "gradient", "5", "2"]]
    assert "1 flagged for possible tampering" in done.stdout

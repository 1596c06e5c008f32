"""Per-submission feedback (autograder/reports/feedback.py): Markdown and a self-contained HTML page.

Real submissions are graded in the sandbox (the reference notebook, a gradient that sums
instead of averaging, an unreadable file), their feedback is checked as text, and the HTML
is loaded in a real headless Chromium (Debian package ``chromium``; `make env` installs it):
it must render, produce a non-blank screenshot, log no JavaScript console message, and its
rendered DOM must hold the scores. The Markdown is plain Markdown: a message's ', ", <, >, &
appear as written (no HTML entity), and a Markdown renderer (mistune, which nbconvert uses)
that lets raw HTML through shows them as written too, with no script element.
"""
import dataclasses
import html as html_module
import os
import re
import shutil
import subprocess
from pathlib import Path

import mistune
import numpy as np
import pytest

from autograder.course import ASSIGNMENTS
from autograder.reports.feedback import html, markdown, write_feedback
from autograder.grade import grade_notebook
from autograder.scores.results import SubmissionResult
from autograder.scores.results import TestResult as Check  # not collected as a test class
from submissions import mutate, notebook_path, submission

ASSIGNMENT = "logistic_regression"
ITEMS = [g.name for g in ASSIGNMENTS[ASSIGNMENT]]
STUDENT = "<ben & co>"  # a student name that needs escaping, through the real grader
FORBIDDEN = ("def test_", "BEGIN HIDDEN TESTS", "hidden_score", "<script")
INJECTED = "<script>alert(1)</script> a<b && c>d"
FIX_FIRST = "Fix 'matches the reference' first."
NOT_SCORED = "Not scored: this counts once 'matches the reference' passes."  # gradient's robustness checks
MESSAGE = "<script>alert(1)</script> a < b & c > d: expected \"0.5\" and 'x', see `np.mean`"
ENTITIES = ("&#x27;", "&#39;", "&amp;", "&lt;", "&gt;", "&quot;", "&#124;")


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    result = grade_notebook(notebook_path(ASSIGNMENT), student="ada")
    assert result.status == "graded" and result.score == result.max_score == 10.0, result.output
    return result


@pytest.fixture(scope="module")
def buggy(tmp_path_factory):
    path = submission(tmp_path_factory.mktemp("buggy"), ASSIGNMENT, replace=mutate(
        ASSIGNMENT, "gradient-solution", ("error.T @ inputs / inputs.shape[0]", "error.T @ inputs")))
    result = grade_notebook(path, student=STUDENT)
    assert result.status == "graded", result.output
    # gradient sums instead of averaging: its value checks fail, so its robustness checks are not
    # scored and its gates are worth nothing (docs/scoring.md): 0 of its 3 points
    assert result.score == pytest.approx(7.0) and result.item_scores()["gradient"] == 0
    return result


@pytest.fixture(scope="module")
def unreadable(tmp_path_factory):
    path = tmp_path_factory.mktemp("unreadable") / f"{ASSIGNMENT}.ipynb"
    path.write_text('{"cells": [{"cell_type": "code", "source": "def logistic(z):')  # truncated upload
    result = grade_notebook(path, student="dee")
    assert result.status == "unreadable" and result.output, result
    return result


@pytest.fixture(scope="module")
def injected(buggy):
    """The buggy result with special characters in a failure message and the submission's output."""
    tests = [dataclasses.replace(t, output=t.output + " " + INJECTED) if t.status == "failed" else t
             for t in buggy.tests]
    return dataclasses.replace(buggy, tests=tests, output=f"Note: {INJECTED}")


@pytest.fixture
def special():
    """A result built directly, whose messages, names and note hold ' " < > & | and backticks."""
    tests = [Check("gradient: runs", "gradient", 0.75, 0.75, "", "passed"),
             Check("gradient: matches the reference", "gradient", 0.0, 0.75, MESSAGE, "failed"),
             Check("gradient: is \"finite\" at |z| = 1000", "gradient", 0.0, 0.75,
                        "Not checked: fix 'matches the reference' first.", "not checked"),
             Check("gradient: prints a < b & c > d", "gradient", 0.0, 0.75, "line 1 <b>\n```\n# line 3",
                        "failed"),
             Check("a|b: runs", "a|b", 1.0, 1.0, "", "passed")]
    return SubmissionResult("O'Brien & <co>", ASSIGNMENT, "x.ipynb", tests=tests, max_score=11.0,
                            output="Note: a < b & c > d, <script>alert(2)</script> 'quoted' \"too\"")


def both(result):
    return {"markdown": markdown(result), "html": html(result)}


def rendered(md):
    """``md`` rendered to HTML by mistune with raw HTML let through (as a lax renderer would)."""
    return mistune.create_markdown(escape=False, plugins=["table"])(md)


# --- content --------------------------------------------------------------------------------

def test_full_marks(full):
    for kind, text in both(full).items():
        assert "10 / 10" in text, kind
        assert "ada" in text and ASSIGNMENT in text, kind
        for item in ITEMS:
            assert item in text, (kind, item)
        body = re.sub(r"<style>.*?</style>", "", text, flags=re.S).lower()  # the text, not the CSS
        assert "failed" not in body and "not checked" not in body, kind
        assert text.lower().count("full marks") >= len(ITEMS), kind
    assert "| gradient | 3 | 3 | full marks |" in markdown(full)


def test_buggy_gradient_shows_scores_table_and_diagnosis(buggy):
    md, page = markdown(buggy), html(buggy)
    for kind, text in (("markdown", md), ("html", page)):
        assert "7 / 10" in text, kind
        assert "times too large" in text, kind
        assert "average over the" in text, kind
        assert "matches the reference" in text, kind
        assert "not checked (4)" in text.lower(), kind  # the robustness checks, in one line
        assert "no points" in text, kind
    assert md.count(NOT_SCORED) == 1 and "&#x27;" not in md
    assert page.count(NOT_SCORED.replace("'", "&#x27;")) == 1 and NOT_SCORED not in page
    assert "| item | score | max | result |" in md
    for item, max_score in ((g.name, g.points) for g in ASSIGNMENTS[ASSIGNMENT]):
        score = 0 if item == "gradient" else max_score  # a wrong value costs gradient all its 3 points
        assert re.search(rf"\| {item} \| {score:g} \| {max_score:g} \|", md), item
        assert re.search(rf'<th scope="row">{item}</th><td class="num">{score:g}</td>'
                         rf'<td class="num">{max_score:g}</td>', page), item
    assert "**FAILED:** matches the reference" in md
    assert "**Passed (5):** runs, is implemented" in md  # gradient's passed checks, as a count and a short list


def test_html_escapes_everything(buggy, injected, special):
    page = html(buggy)
    assert "&lt;ben &amp; co&gt;" in page and STUDENT not in page
    page = html(injected)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; a&lt;b &amp;&amp; c&gt;d" in page
    assert INJECTED not in page and "a<b" not in page and "c>d" not in page
    assert "times too large" in page
    page = html(special)
    assert html_module.escape(MESSAGE) in page  # &lt; &gt; &amp; &quot; &#x27;
    for entity in ("&lt;script&gt;alert(1)&lt;/script&gt;", "a &lt; b &amp; c &gt; d", "&quot;0.5&quot;",
                   "&#x27;x&#x27;", "Fix &#x27;matches the reference&#x27; first.", "O&#x27;Brien &amp; &lt;co&gt;",
                   "&lt;script&gt;alert(2)&lt;/script&gt;", "is &quot;finite&quot; at |z| = 1000"):
        assert entity in page, entity
    for raw in ("<script", "a < b", "'x'", '"0.5"', FIX_FIRST, "O'Brien", "<co>", '"finite"'):
        assert raw not in page, raw


def test_markdown_shows_text_as_written(buggy, injected, special):
    md = markdown(special)
    for entity in ENTITIES:
        assert entity not in md, entity
    assert f"  `` {MESSAGE} ``\n" in md  # the check's message verbatim, in a code span (it holds a backtick)
    assert FIX_FIRST in md
    assert "is \"finite\" at |z| = 1000" in md and "prints a < b & c > d" in md
    assert "Note: a < b & c > d, \\<script>alert(2)\\</script> 'quoted' \"too\"" in md  # "<" before a tag: "\<"
    assert "O'Brien & \\<co>" in md
    assert "| a\\|b | 1 | 1 | full marks |" in md  # "|" in a table cell is "\|"
    assert "  ````text\n  line 1 <b>\n  ```\n  # line 3\n  ````" in md  # several lines: a fenced block
    md = markdown(buggy)
    assert "\\<ben & co>" in md and "&lt;" not in md and "&amp;" not in md
    md = markdown(injected)
    assert INJECTED in md  # in the failed check's code span
    assert "> Note: \\<script>alert(1)\\</script> a\\<b && c>d" in md  # prose: "\<" where "<" would open a tag
    for entity in ENTITIES:
        assert entity not in md, entity


def test_markdown_renders_as_written(buggy, special):
    """A Markdown renderer shows the text as written: no script, no entity shown, the table intact."""
    page = rendered(markdown(special))
    assert "<script" not in page and "<co>" not in page and "<b>" not in page
    text = html_module.unescape(re.sub(r"<[^>]+>", "", page))  # what a reader sees
    for shown in (MESSAGE, FIX_FIRST, "O'Brien & <co>", 'is "finite" at |z| = 1000', "line 1 <b>\n```\n# line 3",
                  "Note: a < b & c > d, <script>alert(2)</script> 'quoted' \"too\""):
        assert shown in text, shown
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    assert len(rows) == 1 + len(ITEMS) + 2  # header, every item, "a|b", total
    assert all(len(re.findall(r"<t[hd]", row)) == 4 for row in rows)
    assert "<td>a|b</td>" in page
    page = rendered(markdown(buggy))
    assert "<h3>gradient — 0 / 3</h3>" in page and "&lt;ben &amp; co&gt;" in page
    assert "<code>gradient(w, x, t) for N = " in page


def test_unreadable_submission_shows_status_and_reason(unreadable):
    for kind, text in both(unreadable).items():
        assert "0 / 10" in text, kind
        assert "unreadable" in text, kind
        assert "Not graded" in text or "NOT GRADED" in text, kind
        for item in ITEMS:  # every item still listed, with 0 points
            assert item in text, (kind, item)
    assert __import__("html").escape(unreadable.output) in html(unreadable)
    page = html(unreadable)
    # prominent: the status box comes before the item table
    assert page.index('class="alert"') < page.index("<table>")


def test_no_hidden_test_code_and_no_script(full, buggy, unreadable, injected):
    for result in (full, buggy, unreadable, injected):
        for kind, text in {"markdown rendered": rendered(markdown(result)), "html": html(result)}.items():
            for bad in FORBIDDEN:
                assert bad not in text, (kind, bad)


def test_html_is_self_contained(full, buggy, unreadable):
    for result in (full, buggy, unreadable):
        page = html(result)
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
        assert "<style>" in page and "Content-Security-Policy" in page
        lowered = page.lower()
        for bad in ("<script", "javascript:", " on", "<link", "<img", "<iframe", "@import", "url(",
                    "http://", "https://", "src="):
            if bad == " on":
                assert not re.search(r"<[^>]*\son\w+\s*=", lowered)  # no event-handler attributes
            else:
                assert bad not in lowered, bad


def test_write_feedback(tmp_path, buggy):
    md_path, html_path = write_feedback(buggy, tmp_path / "out" / "ben")
    assert md_path == tmp_path / "out" / "ben" / "feedback.md"
    assert html_path == tmp_path / "out" / "ben" / "feedback.html"
    assert md_path.read_text(encoding="utf-8") == markdown(buggy)
    assert html_path.read_text(encoding="utf-8") == html(buggy)


# --- a real headless browser ----------------------------------------------------------------

def chromium():
    """Path of Debian's Chromium; a clear failure (never a skip) when it is missing: CI installs it."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed: run `make env` (it installs the Debian package "
                    "`chromium`, which the feedback tests load the HTML page in)", pytrace=False)
    return path


def run_chromium(tmp_path, page, *args):
    """Run headless Chromium on file ``page``; (returncode, stdout, stderr)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args, Path(page).as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def console_messages(stderr):
    """Lines of Chromium's log that report a page's console message or uncaught error."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def screenshot(tmp_path, page):
    shot = tmp_path / "shot.png"
    code, _, stderr = run_chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1000,1400")
    assert code == 0, stderr[-3000:]
    assert shot.is_file(), stderr[-3000:]
    return shot, stderr


def test_console_check_catches_javascript_errors(tmp_path):
    """The console check below is not vacuous: a page with a JS error is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>")
    _, stderr = screenshot(tmp_path, page)
    assert any("Uncaught" in line for line in console_messages(stderr)), stderr[-3000:]


@pytest.mark.parametrize("which, total", [("full", "10 / 10"), ("buggy", "7 / 10"),
                                          ("unreadable", "0 / 10")])
def test_html_renders_in_headless_chromium(request, tmp_path, which, total):
    from PIL import Image

    result = request.getfixturevalue(which)
    _, page = write_feedback(result, tmp_path / "feedback")
    shot, stderr = screenshot(tmp_path, page)
    assert not console_messages(stderr), console_messages(stderr)

    assert shot.stat().st_size > 20_000, shot.stat().st_size  # a blank 1000x1400 PNG is a few KB
    with Image.open(shot) as image:
        assert image.size == (1000, 1400)
        rgb = np.asarray(image.convert("RGB")).astype(int)
        colours, counts = np.unique(rgb.reshape(-1, 3), axis=0, return_counts=True)
        background = colours[counts.argmax()]
        ink = (np.abs(rgb - background).sum(axis=2) > 60).mean()  # text, borders, labels
        assert ink > 0.01, f"the screenshot is (almost) blank: {ink:.2%} of it differs from the background"
        assert len(colours) > 50, "the screenshot is nearly uniform"
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        # the colour labels are rendered: green (full marks) and/or red (failed, not graded)
        greenish = ((g > r + 40) & (g > b + 20)).sum() > 100
        reddish = ((r > g + 60) & (r > b + 60)).sum() > 100
        assert greenish if which != "unreadable" else reddish

    code, dom, stderr = run_chromium(tmp_path, page, "--dump-dom")
    assert code == 0, stderr[-3000:]
    assert not console_messages(stderr), console_messages(stderr)
    assert f"Total score: {total}" in dom
    assert "<table>" in dom and "<script" not in dom
    if which == "buggy":
        assert "times too large" in dom and "&lt;ben &amp; co&gt;" in dom

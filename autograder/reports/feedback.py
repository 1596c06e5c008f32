"""Per-submission feedback for the student: Markdown and a self-contained HTML page.

Both are rendered from the one result model (``autograder.scores.results.SubmissionResult``) and
from nothing else, through the Jinja2 templates ``templates/feedback.md.j2`` and
``templates/feedback.html.j2`` over one view of the result (``view``): the feedback shows
scores, each check's name and our message (which already names the likely mistake), never the
hidden tests' code, and never a diagnosis's id (that is for the instructor's class report). The
Markdown is plain Markdown, readable as text (in a terminal, on Gradescope): text from the
result appears as written, with a backslash only before a character that would start Markdown
markup, and a check's message verbatim in a code span. It holds no HTML entity. In the HTML
page every piece of text from the result is escaped as ``html.escape`` does (the HTML
environment of ``autograder.reports.render``); the page has inline CSS only, no JavaScript and
no external resource (a Content-Security-Policy forbids both).
"""
from dataclasses import dataclass
from pathlib import Path

from autograder.course import ASSIGNMENTS
from autograder.reports.render import HTML, MARKDOWN
from autograder.scores.results import GRADED

PASSED, FAILED, NOT_IMPLEMENTED, NOT_CHECKED = "passed", "failed", "not implemented", "not checked"


def _check_name(test):
    """The property a check tests: its name without the leading "<item>: "."""
    prefix = f"{test.item}: "
    return test.name[len(prefix):] if test.name.startswith(prefix) else test.name


@dataclass
class FailedCheck:
    """A failed (or not implemented) check as the feedback shows it: ``property`` is its name
    without the leading "<item>: "."""

    property: str
    status: str
    score: float
    max_score: float
    output: str


@dataclass
class ItemView:
    """One graded item of the feedback: its score, its (css class, label) verdict, its checks
    split into failed, not checked and passed, and the one-line texts of the last two."""

    name: str
    score: float
    max_score: float
    verdict: tuple
    tests: list
    failed: list
    not_checked: list
    passed: list

    @property
    def not_checked_line(self):
        return _not_checked_line(self.not_checked)

    @property
    def passed_names(self):
        return ", ".join(_check_name(t) for t in self.passed)


def _items(result):
    """[(item, score, max_score, tests)] in the order the items were checked.

    The item list and points come from the course when the assignment is known, so an
    ungradeable submission still shows every item (with 0 points).
    """
    scores = result.item_scores()
    course = {g.name: float(g.points) for g in ASSIGNMENTS.get(result.assignment, ())}
    order = list(scores) + [name for name in course if name not in scores]
    rows = []
    for item in order:
        tests = [t for t in result.tests if t.item == item]
        max_score = course.get(item, round(sum(t.max_score for t in tests), 6))
        rows.append((item, scores.get(item, 0.0), max_score, tests))
    return rows


def view(result):
    """What both templates render: {result, title, graded, total: (css, label), items: [ItemView]}."""
    graded = result.status == GRADED
    items = []
    for item, score, max_score, tests in _items(result):
        failed, not_checked, passed = _split(tests)
        items.append(ItemView(item, score, max_score, _verdict(score, max_score, graded), tests,
                              [FailedCheck(_check_name(t), t.status, t.score, t.max_score, t.output) for t in failed],
                              not_checked, passed))
    return {"result": result, "title": _title(result), "graded": graded,
            "total": _verdict(result.score, result.max_score, graded), "items": items}


def _verdict(score, max_score, graded):
    """(css class, text label) of an item's score."""
    if not graded:
        return "bad", "not graded"
    if max_score and score >= max_score - 1e-6:
        return "good", "full marks"
    if score > 0:
        return "partial", "partial credit"
    return "bad", "no points"


def _not_checked_line(tests):
    """One sentence for all the "not checked" checks of an item."""
    names = ", ".join(_check_name(t) for t in tests)
    reasons = list(dict.fromkeys(_without_prefix(t.output.strip(), "Not checked:") for t in tests))
    reason = " ".join(r[:1].upper() + r[1:] for r in reasons if r)
    return f"{names}." + (f" {reason}" if reason else "")


def _without_prefix(text, prefix):
    return text[len(prefix):].strip() if text.lower().startswith(prefix.lower()) else text


def _split(tests):
    failed = [t for t in tests if t.status not in (PASSED, NOT_CHECKED)]
    not_checked = [t for t in tests if t.status == NOT_CHECKED]
    passed = [t for t in tests if t.status == PASSED]
    return failed, not_checked, passed


def _title(result):
    return f"Feedback: {result.assignment}" + (f" for {result.student}" if result.student else "")


# --- Markdown ------------------------------------------------------------------------------

def markdown(result):
    """The student's feedback as Markdown: text from the result as written, no HTML entity."""
    return MARKDOWN.get_template("feedback.md.j2").render(view(result)).rstrip() + "\n"


# --- HTML ----------------------------------------------------------------------------------

def html(result):
    """The student's feedback as one self-contained HTML page (inline CSS, no JavaScript)."""
    return HTML.get_template("feedback.html.j2").render(view(result))


def write_feedback(result, folder):
    """Write feedback.md and feedback.html into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md_path, html_path = folder / "feedback.md", folder / "feedback.html"
    md_path.write_text(markdown(result), encoding="utf-8")
    html_path.write_text(html(result), encoding="utf-8")
    return md_path, html_path

"""Per-submission feedback for the student: Markdown and a self-contained HTML page.

Both are rendered from the one result model (``autograder.scores.results.SubmissionResult``) and
from nothing else: the feedback shows scores, each check's name and our message (which
already names the likely mistake), never the hidden tests' code. The Markdown is plain
Markdown, readable as text (in a terminal, on Gradescope): text from the result appears as
written, with a backslash only before a character that would start Markdown markup, and a
check's message verbatim in a code span. It holds no HTML entity. In the HTML page every
piece of text from the result is escaped with ``html.escape``; the page has inline CSS only,
no JavaScript and no external resource (a Content-Security-Policy forbids both).
"""
import html as _html
import re
from pathlib import Path

from autograder.course import ASSIGNMENTS
from autograder.scores.results import GRADED

PASSED, FAILED, NOT_IMPLEMENTED, NOT_CHECKED = "passed", "failed", "not implemented", "not checked"


def _e(text):
    return _html.escape(str(text), quote=True)


def _num(x):
    return f"{x:g}"


def _check_name(test):
    """The property a check tests: its name without the leading "<item>: "."""
    prefix = f"{test.item}: "
    return test.name[len(prefix):] if test.name.startswith(prefix) else test.name


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

def _md_text(text, cont="", starts_line=False):
    """``text`` for a Markdown heading, paragraph or list item, shown as written.

    Only a character that would start Markdown markup gets a backslash (CommonMark's escape,
    never an HTML entity): ``\\ ` * [ ] ~``, a "_" not between two letters or digits, a "<"
    that would open an HTML tag or an autolink, an "&" that would read as an entity, and a
    line's leading "#", ">", "+", "-", "=", "|", ":" or "1." that would start a block or a
    table's delimiter row (the first line's only when ``starts_line``). A "|" elsewhere stays
    (``_md_cell`` escapes it in a table cell). Line breaks stay line breaks; ``cont`` begins
    each further line ("> " in a block quote, "  " in a list item).
    """
    lines = []
    for n, line in enumerate(str(text).strip().splitlines() or [""]):
        line = re.sub(r"[\\`*\[\]~]", r"\\\g<0>", line.strip())
        line = re.sub(r"(?<![^\W_])_|_(?![^\W_])", r"\\_", line)  # "delta_w" stays as it is
        line = re.sub(r"<(?=[A-Za-z/!?])", r"\\<", line)  # "a < b" stays as it is
        line = re.sub(r"&(?=#?\w+;)", r"\\&", line)  # "a & b" stays as it is
        if n or starts_line:
            line = re.sub(r"^([#>+=|:-])", r"\\\1", line)
            line = re.sub(r"^(\d+)([.)])", r"\1\\\2", line)
        lines.append(line)
    return f"  \n{cont}".join(lines)


def _md_cell(text):
    """``text`` for one Markdown table cell: on one line, its "|" as "\\|"."""
    return _md_text(" ".join(str(text).splitlines())).replace("|", "\\|")


def _md_code(text, indent="  "):
    """``text`` verbatim: a code span, or a fenced code block (each line after the first
    begins with ``indent``) when it has several lines; fenced by more backticks than it holds."""
    text = str(text).rstrip().lstrip("\n")
    ticks = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    lines = text.splitlines()
    if len(lines) <= 1:
        pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""  # CommonMark strips one space each side
        return f"{ticks}{pad}{text}{pad}{ticks}"
    fence = "`" * max(3, len(ticks))
    body = [f"{indent}{line}" if line.strip() else "" for line in lines]
    return "\n".join([f"{fence}text", *body, f"{indent}{fence}"])


def markdown(result):
    """The student's feedback as Markdown: text from the result as written, no HTML entity."""
    graded = result.status == GRADED
    lines = [f"# {_md_text(_title(result))}", ""]
    lines.append(f"**Assignment:** {_md_text(result.assignment)}  ")
    lines.append(f"**Student:** {_md_text(result.student or '-')}  ")
    lines.append(f"**Total score: {_num(result.score)} / {_num(result.max_score)}**")
    lines.append("")
    if not graded:
        lines += [f"> **NOT GRADED — status: {_md_text(result.status)}**", ">",
                  f"> {_md_text(result.output or 'This submission could not be graded.', '> ', True)}", ""]
    elif result.output:
        lines += [f"> {_md_text(result.output, '> ', True)}", ""]

    items = _items(result)
    if items:
        lines += ["## Score per item", "", "| item | score | max | result |", "|---|---:|---:|---|"]
        for item, score, max_score, _ in items:
            _, label = _verdict(score, max_score, graded)
            lines.append(f"| {_md_cell(item)} | {_num(score)} | {_num(max_score)} | {_md_cell(label)} |")
        lines.append(f"| **total** | **{_num(result.score)}** | **{_num(result.max_score)}** | |")
        lines.append("")

    if graded:
        lines += ["## Checks", ""]
        for item, score, max_score, tests in items:
            failed, not_checked, passed = _split(tests)
            lines += [f"### {_md_text(item)} — {_num(score)} / {_num(max_score)}", ""]
            for t in failed:
                lines.append(f"- **{_md_text(t.status.upper())}:** {_md_text(_check_name(t), cont='  ')} "
                             f"({_num(t.score)} / {_num(t.max_score)})" + ("  " if t.output.strip() else ""))
                if t.output.strip():
                    lines.append(f"  {_md_code(t.output)}")
            if not_checked:
                lines.append(f"- **Not checked ({len(not_checked)}):** "
                             f"{_md_text(_not_checked_line(not_checked), cont='  ')}")
            if passed:
                names = ", ".join(_check_name(t) for t in passed)
                lines.append(f"- **Passed ({len(passed)}):** {_md_text(names, cont='  ')}")
            if not tests:
                lines.append("- No checks were run for this item.")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --- HTML ----------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 2rem 1rem; background: #f4f5f7; color: #1d2025;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 52rem; margin: 0 auto; background: #fff; padding: 1.5rem 2rem 2rem;
  border: 1px solid #d8dbe0; border-radius: 8px; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; padding-bottom: .25rem; border-bottom: 2px solid #e3e5e8; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.meta { margin: 0; color: #4a505a; }
.total { font-size: 1.5rem; font-weight: 700; margin: 1rem 0 0; }
.alert { margin: 1.25rem 0; padding: 1rem 1.25rem; border: 2px solid #b42318; border-left-width: 8px;
  background: #fef3f2; border-radius: 6px; }
.alert strong { display: block; color: #912018; font-size: 1.15rem; margin-bottom: .25rem; }
.note { margin: 1rem 0; padding: .75rem 1rem; background: #f2f4f7; border-left: 4px solid #98a2b3; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { padding: .5rem .75rem; border: 1px solid #d0d5dd; text-align: left; vertical-align: top; }
th { background: #eef0f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
tfoot td { font-weight: 700; background: #eef0f3; }
.label { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem;
  font-weight: 700; text-transform: uppercase; letter-spacing: .03em; border: 1px solid; white-space: nowrap; }
.good { color: #05603a; background: #ecfdf3; border-color: #6ce9a6; }
.partial { color: #93370d; background: #fffaeb; border-color: #fec84b; }
.bad { color: #912018; background: #fef3f2; border-color: #fda29b; }
.muted { color: #475467; background: #f2f4f7; border-color: #d0d5dd; }
ul.checks { list-style: none; padding: 0; margin: .25rem 0; }
ul.checks > li { margin: .5rem 0; }
.failed { border-left: 4px solid #d92d20; background: #fffbfa; padding: .5rem .75rem; border-radius: 4px; }
.message { margin: .35rem 0 0; white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .88rem; }
.summary { color: #475467; font-size: .95rem; }
.pts { color: #475467; font-weight: 400; }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _label(css, text):
    return f'<span class="label {css}">{_e(text)}</span>'


def html(result):
    """The student's feedback as one self-contained HTML page (inline CSS, no JavaScript)."""
    graded = result.status == GRADED
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(_title(result))}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", "<main>"]
    out.append(f"<h1>{_e(_title(result))}</h1>")
    out.append(f'<p class="meta">Assignment: <strong>{_e(result.assignment)}</strong> · '
               f'Student: <strong>{_e(result.student or "-")}</strong></p>')
    total_css = _verdict(result.score, result.max_score, graded)
    out.append(f'<p class="total" id="total">Total score: {_num(result.score)} / {_num(result.max_score)} '
               f'{_label(*total_css)}</p>')
    if not graded:
        out.append(f'<div class="alert" role="alert"><strong>Not graded — status: {_e(result.status)}</strong>'
                   f'{_e(result.output or "This submission could not be graded.")}</div>')
    elif result.output:
        out.append(f'<p class="note">{_e(result.output)}</p>')

    items = _items(result)
    if items:
        out += ["<h2>Score per item</h2>", "<table>",
                '<thead><tr><th scope="col">Item</th><th scope="col" class="num">Score</th>'
                '<th scope="col" class="num">Max</th><th scope="col">Result</th></tr></thead>', "<tbody>"]
        for item, score, max_score, _ in items:
            out.append(f'<tr><th scope="row">{_e(item)}</th><td class="num">{_num(score)}</td>'
                       f'<td class="num">{_num(max_score)}</td><td>{_label(*_verdict(score, max_score, graded))}'
                       f"</td></tr>")
        out.append(f'</tbody><tfoot><tr><td>Total</td><td class="num">{_num(result.score)}</td>'
                   f'<td class="num">{_num(result.max_score)}</td><td></td></tr></tfoot></table>')

    if graded:
        out.append("<h2>Checks</h2>")
        for item, score, max_score, tests in items:
            failed, not_checked, passed = _split(tests)
            out.append(f'<h3>{_e(item)} <span class="pts">{_num(score)} / {_num(max_score)}</span> '
                       f"{_label(*_verdict(score, max_score, graded))}</h3>")
            out.append('<ul class="checks">')
            for t in failed:
                out.append(f'<li class="failed">{_label("bad", t.status)} <strong>{_e(_check_name(t))}</strong> '
                           f'<span class="pts">({_num(t.score)} / {_num(t.max_score)})</span>'
                           f'<p class="message">{_e(t.output)}</p></li>')
            if not_checked:
                out.append(f'<li class="summary">{_label("muted", f"not checked ({len(not_checked)})")} '
                           f"{_e(_not_checked_line(not_checked))}</li>")
            if passed:
                names = ", ".join(_check_name(t) for t in passed)
                out.append(f'<li class="summary">{_label("good", f"passed ({len(passed)})")} {_e(names)}</li>')
            if not tests:
                out.append('<li class="summary">No checks were run for this item.</li>')
            out.append("</ul>")
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def write_feedback(result, folder):
    """Write feedback.md and feedback.html into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md_path, html_path = folder / "feedback.md", folder / "feedback.html"
    md_path.write_text(markdown(result), encoding="utf-8")
    html_path.write_text(html(result), encoding="utf-8")
    return md_path, html_path

"""The instructor's class report: ``python -m autograder report OUT``.

Reads a graded folder (``graded_folder``), sums it up per assignment (``class_summary``), and
writes ``OUT/report.html`` (self-contained: inline CSS and inline SVG figures from
``figures``, no script) and ``OUT/report.md`` from the Jinja2 templates
``templates/class_report.html.j2`` and ``.md.j2``. Student names appear here, for the
instructor, and never in a student's feedback; in the HTML every name and message is escaped,
and a list of more than ``FOLD`` students folds into a ``<details>``.
"""
from pathlib import Path

from autograder.integrations.nbgrader_sync import read_record, record_path
from autograder.reports import figures
from autograder.reports.class_summary import summarise
from autograder.reports.graded_folder import read_graded
from autograder.reports.render import HTML, MARKDOWN

FOLD = 10  # students shown before a list folds


def sync_records(course_dir, assignments):
    """{assignment: [SyncRow]} of nbgrader-sync's records in ``course_dir``, for those it has."""
    records = {}
    for assignment in assignments:
        path = record_path(course_dir, assignment)
        if path.is_file():
            records[assignment] = read_record(path)
    return records


def figures_of(summary):
    """{"totals": svg, "items": {item: svg}} of one AssignmentSummary (no figure without a graded submission)."""
    if not summary.graded:
        return {"totals": None, "items": {}}
    return {"totals": figures.totals_histogram(summary.totals, summary.max_score, summary.quartiles),
            "items": {item.name: figures.item_bars(item.counts, item.points) for item in summary.items}}


def write_report(out, course_dir="."):
    """Write OUT/report.html and OUT/report.md; returns (summaries, unreadable folders, paths)."""
    out = Path(out)
    graded = read_graded(out)
    summaries = summarise(graded.results, sync_records(course_dir, {r.assignment for r in graded.results}))
    context = {"summaries": summaries, "unreadable": graded.unreadable, "out": out, "fold": FOLD}
    html_path, md_path = out / "report.html", out / "report.md"
    html_path.write_text(HTML.get_template("class_report.html.j2").render(
        context, figures={s.name: figures_of(s) for s in summaries}), encoding="utf-8")
    md_path.write_text(MARKDOWN.get_template("class_report.md.j2").render(context), encoding="utf-8")
    return summaries, graded.unreadable, (html_path, md_path)


def summary_lines(summaries, unreadable, paths):
    """What the command prints: a line per assignment, then where the report is."""
    lines = []
    for s in summaries:
        line = f"{s.name}: {s.submissions} submission(s), {s.graded} graded"
        if s.quartiles:
            line += f", median {s.quartiles[1]:g} / {s.max_score:g}"
        if s.mistakes:
            top = s.mistakes[0]
            line += f"; most common mistake: {top.label or top.id} ({top.item}, {top.count} student(s))"
        if s.ungradeable:
            line += f"; {len(s.ungradeable)} could not be graded"
        if s.tampering:
            line += f"; {len(s.tampering)} flagged for possible tampering"
        lines.append(line)
    if unreadable:
        lines.append(f"{len(unreadable)} result folder(s) could not be read: see the report")
    lines.append(f"Report: {paths[0]} and {paths[1]}")
    return lines

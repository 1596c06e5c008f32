"""Reports rendered from SubmissionResult: Gradescope results.json, grades.csv, a terminal table.

``from_gradescope_json`` reads a results.json back into the result model, for a graded folder
whose full ``result.json`` is missing (as Gradescope writes it): what that format does not carry
(the check statuses "not implemented" and "not checked", the notebook, the grading time) is
read from the output where it can be, else left at its default.
"""
import csv
import json

from autograder.course import ASSIGNMENTS
from autograder.scores.results import GRADED, SubmissionResult, TestResult


def gradescope_json(result):
    """Gradescope's results.json structure for one submission."""
    data = {
        "score": result.score,
        "tests": [{"name": t.name, "score": t.score, "max_score": t.max_score, "output": t.output,
                   "status": "passed" if t.status == "passed" else "failed",
                   **({"extra_data": {"mistake": dict(t.mistake)}} if t.mistake else {})} for t in result.tests],
        "extra_data": {"status": result.status, "assignment": result.assignment, "student": result.student,
                       "max_score": result.max_score},
    }
    if result.output or result.status != GRADED:
        data["output"] = result.output or "Graded."
    return data


def from_gradescope_json(data, student="", assignment=""):
    """The SubmissionResult of a results.json dict; ``student`` and ``assignment`` when its
    extra_data does not name them (a results.json of another grader)."""
    extra = data.get("extra_data") or {}
    tests = []
    for test in data.get("tests", []):
        output = str(test.get("output", ""))
        status = "passed" if test.get("status") == "passed" else _status_from_output(output)
        tests.append(TestResult(str(test["name"]), str(test["name"]).split(": ", 1)[0], float(test.get("score", 0.0)),
                                float(test.get("max_score", 0.0)), output, status,
                                (test.get("extra_data") or {}).get("mistake")))
    status = extra.get("status", GRADED)
    return SubmissionResult(extra.get("student") or student, extra.get("assignment") or assignment, "", status,
                            data.get("output", "") if status != GRADED or data.get("output") != "Graded." else "",
                            tests, float(extra.get("max_score") or sum(t.max_score for t in tests)))


def _status_from_output(output):
    lowered = output.lower()
    return "not checked" if lowered.startswith(("not checked", "not scored")) else \
        "not implemented" if "not implemented" in lowered else "failed"


def write_gradescope_json(result, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope_json(result), indent=2) + "\n")


def write_grades_csv(results, path):
    """One row per student and assignment, one column per graded item of any assignment."""
    items = [g.name for a in ASSIGNMENTS for g in ASSIGNMENTS[a]
             if any(r.assignment == a for r in results)]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "status", "score", "max_score", *items])
        for r in sorted(results, key=lambda r: (r.student, r.assignment)):
            scores = r.item_scores()
            writer.writerow([r.student, r.assignment, r.status, f"{r.score:g}", f"{r.max_score:g}",
                             *[f"{scores[i]:g}" if i in scores else "" for i in items]])


def summary_table(results):
    """A short plain-text table: student, assignment, score, status."""
    rows = [("student", "assignment", "score", "status")]
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        rows.append((r.student or "-", r.assignment, f"{r.score:g} / {r.max_score:g}", r.status))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    graded = sum(r.status == GRADED for r in results)
    lines.append(f"{len(results)} submission(s): {graded} graded, {len(results) - graded} ungradeable")
    return "\n".join(lines)

"""What the audit tells the instructor: a table per item, DIR/audit.json, and a diff per hole.

``audit.json`` holds the counts per item and in total, and every mutant with its operator,
line, verdict and points lost. Every survivor, collateral and false alarm also gets its
unified diff against the source cell (in audit.json and as ``DIR/diffs/<mutant id>.diff``):
the mistake the spec should learn to catch, or to charge to its own item only.
"""
import difflib
import json
from pathlib import Path

from autograder.integrations.audit.classify import COLLATERAL, EQUIVALENT, KILLED, SURVIVED

COLUMNS = ("mutants", "equivalent", "killed", "diagnosed", "survived", "collateral")


def cell_diff(mutant):
    """The unified diff of the mutant's cell against the source's."""
    lines = difflib.unified_diff(mutant.original.splitlines(keepends=True), mutant.source.splitlines(keepends=True),
                                 f"source/{mutant.assignment} {mutant.grade_id}", f"mutant {mutant.id}", n=2)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def counts(verdicts):
    """{column: count} of a list of Verdicts."""
    return {"mutants": len(verdicts), "equivalent": sum(v.status == EQUIVALENT for v in verdicts),
            "killed": sum(v.status == KILLED for v in verdicts),
            "diagnosed": sum(v.status == KILLED and v.diagnosed for v in verdicts),
            "survived": sum(v.status == SURVIVED for v in verdicts),
            "collateral": sum(v.status == COLLATERAL for v in verdicts),
            "false_alarms": sum(v.false_alarm for v in verdicts)}


def per_item(mutants, verdicts):
    """{item: counts} in the order the items first appear."""
    grouped = {}
    for mutant in mutants:
        grouped.setdefault(mutant.items[0], []).append(verdicts[mutant.id])
    return {item: counts(found) for item, found in grouped.items()}


def needs_a_look(verdict):
    return verdict.status in (SURVIVED, COLLATERAL) or verdict.false_alarm


def audit_json(assignment, mutants, verdicts, seconds):
    rows = []
    for mutant in mutants:
        verdict = verdicts[mutant.id]
        rows.append({"id": mutant.id, "items": list(mutant.items), "cell": mutant.grade_id, "line": mutant.line,
                     "operator": mutant.operator, "change": mutant.description, "status": verdict.status,
                     "diagnosed": verdict.diagnosed, "false_alarm": verdict.false_alarm, "points_lost": verdict.lost,
                     "why": verdict.why, **({"diff": cell_diff(mutant)} if needs_a_look(verdict) else {})})
    return {"assignment": assignment, "seconds": round(seconds, 1), "items": per_item(mutants, verdicts),
            "total": counts(list(verdicts.values())), "mutants": rows}


def write(out, assignment, mutants, verdicts, seconds):
    """Write DIR/audit.json and DIR/diffs/; returns the audit.json data."""
    out = Path(out)
    data = audit_json(assignment, mutants, verdicts, seconds)
    diffs = out / "diffs"
    diffs.mkdir(parents=True, exist_ok=True)
    for stale in diffs.glob("*.diff"):
        stale.unlink()
    for row in data["mutants"]:
        if "diff" in row:
            (diffs / f"{row['id']}.diff").write_text(row["diff"], encoding="utf-8")
    (out / "audit.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def table(data, out):
    """The terminal's report: counts per item, a total line, then every mutant that needs a look."""
    width = max([len(item) for item in data["items"]] + [len("total")])
    lines = [f"mutation audit of {data['assignment']}: {data['total']['mutants']} mutant(s) in "
             f"{data['seconds']:.0f} s", "", f"{'item':<{width}}  " + "  ".join(COLUMNS),
             f"{'-' * width}  " + "  ".join("-" * len(c) for c in COLUMNS)]
    for name, row in [*data["items"].items(), ("total", data["total"])]:
        lines.append(f"{name:<{width}}  " + "  ".join(f"{row[c]:>{len(c)}}" for c in COLUMNS))
    for row in data["mutants"]:
        if "diff" in row:
            what = "false alarm (equivalent, yet lost points)" if row["false_alarm"] else row["status"]
            lost = ", ".join(f"{k} -{v:g}" for k, v in row["points_lost"].items()) or "no points lost"
            lines.append(f"{what}: {row['id']} ({row['change']}, line {row['line']} of {row['cell']}; {lost}): "
                         f"{Path(out) / 'diffs' / (row['id'] + '.diff')}")
    return "\n".join(lines)

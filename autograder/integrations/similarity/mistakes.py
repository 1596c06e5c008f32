"""The mistakes of a graded submission: its failed checks, each with its diagnosis.

A folder written by ``python -m autograder grade SUBMITTED --out OUT`` holds
``OUT/<student>/<assignment>/results.json`` (Gradescope's format, see shared/contract.md). A
mistake is a failed check that says what went wrong: its name and diagnosis (the sentence
after "Likely mistake:", else the whole message with its numbers masked, so that two
students with the same wrong answer have the same mistake). Left out: checks that failed
only because the item is not implemented yet, and those "not scored" until another passes.
"""
import json
import re
from pathlib import Path

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_SKIPPED = ("not implemented", "not scored")


def diagnosis(output):
    """The part of a check's message that says what went wrong, the same for the same mistake."""
    _, found, after = output.partition("Likely mistake:")
    return " ".join((after if found else _NUMBER.sub("#", output)).split())


def mistakes(results):
    """{key: check name} of the failed checks in a results.json dict."""
    found = {}
    for test in results.get("tests", []):
        output = str(test.get("output", ""))
        if test.get("status") != "failed" or any(s in output.lower() for s in _SKIPPED):
            continue
        name = str(test.get("name", ""))
        found[f"{name}\n{diagnosis(output)}"] = name
    return found


def graded_mistakes(graded, student, assignment):
    """{key: check name} of ``student``'s submission of ``assignment`` in the folder ``graded``,
    or None when it has no readable results.json there."""
    path = Path(graded) / student / assignment / "results.json"
    try:
        return mistakes(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError):
        return None

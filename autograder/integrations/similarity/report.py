"""What the similarity check writes: similarity.csv, similarity.html and one page per flagged pair.

The HTML comes from the Jinja2 templates in ``templates/`` beside this module, with every value
escaped (autoescape); the pages are self-contained (inline CSS, no script, a
Content-Security-Policy that forbids both). A pair's page shows the two students' own code
side by side, cell by cell, with what they share marked: one number per matching region, the
same number on both sides, darker the fewer students share it.
"""
import csv
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from autograder.integrations.similarity.pairs import FRAGMENT, regions

COLUMNS = ("assignment", "student_a", "student_b", "score", "shared_fragments", "shared_mistakes")
PAGES = "similarity-pairs"  # the folder of the pair pages, in DIR
MOST_PAGES = 500  # pages written at most, highest scores first (a threshold of 0 would flag every pair)
_ENVIRONMENT = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True),
                           trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def write_csv(rows, path):
    """One row per (assignment, Pair), as given (highest score first)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for assignment, pair in rows:
            writer.writerow([assignment, pair.a.name, pair.b.name, f"{pair.score:.3f}", pair.fragments,
                             "; ".join(pair.mistakes)])


def write_html(classes, rows, threshold, out):
    """DIR/similarity.html and a page per pair of ``rows`` [(assignment, Pair)], highest score
    first, that scores at least ``threshold`` (MOST_PAGES at most); ``classes`` is {assignment:
    ClassSummary}. Returns the flagged rows with their pages (None past MOST_PAGES)."""
    pages = Path(out) / PAGES
    pages.mkdir(parents=True, exist_ok=True)
    for old in pages.glob("*.html"):  # pages of an earlier run
        old.unlink()
    flagged = []
    for assignment, pair in rows:
        if pair.score < threshold:
            break
        if len(flagged) >= MOST_PAGES:
            flagged.append((assignment, pair, None))
            continue
        name = f"{len(flagged) + 1:03d}-{assignment}.html"
        page = _ENVIRONMENT.get_template("pair.html.j2").render(
            assignment=assignment, pair=pair, sides=sides(pair), index="../similarity.html")
        (pages / name).write_text(page, encoding="utf-8")
        flagged.append((assignment, pair, f"{PAGES}/{name}"))
    index = _ENVIRONMENT.get_template("similarity.html.j2").render(
        classes=classes, flagged=flagged, threshold=threshold, scored=len(rows), most_pages=MOST_PAGES)
    (Path(out) / "similarity.html").write_text(index, encoding="utf-8")
    return flagged


# --- a pair's two sides, as the template shows them ------------------------------------------

@dataclass
class Piece:
    """A run of characters on one line: ``mark`` 0 (not shared), else its fragment number,
    ``level`` how rare the match is (rare, some, common)."""

    text: str
    mark: int = 0
    level: str = ""
    title: str = ""
    first: bool = False  # the fragment's first piece in the cell: its number is shown here


def sides(pair):
    """[(student, cells)] for both students: each cell a dict with its label and lines, a line
    (number, [Piece]) or None for a run of given lines left out."""
    numbers = _fragment_numbers(pair)
    return [(student, [_cell(cell, c, student, pair, numbers) for c, cell in enumerate(student.cells)])
            for student in (pair.a, pair.b)]


def _fragment_numbers(pair):
    """{hash: fragment number}: regions of student a's code, numbered in order; the fingerprints
    of one region share its number (on b's side too)."""
    spans = sorted((s.cell, s.start, s.stop, h) for h in pair.shared for s in pair.a.prints[h])
    numbers = {}
    for (*_, h), number in zip(spans, regions(spans)):
        numbers.setdefault(h, number)
    return numbers


def _level(rarity):
    return "rare" if rarity >= 0.8 else "some" if rarity >= FRAGMENT else "common"


def _title(number, holders, students):
    return f"fragment {number}: {holders} of the {students} students have it"


def _cell(cell, index, student, pair, numbers):
    """The template's view of one written cell: own lines with their shared tokens marked."""
    marks = {}  # token index -> (fragment, rarity, holders)
    for h in pair.shared:
        rarity, holders = pair.rarity(h), pair.holders(h)
        for span in student.prints[h]:
            if span.cell == index:
                for i in range(span.start, span.stop):
                    if i in cell.own and rarity > marks.get(i, (0, -1, 0))[1]:
                        marks[i] = (numbers[h], rarity, holders)
    lines = cell.source.splitlines()
    columns = {}  # line -> {column: (fragment, rarity, holders)}
    for i, mark in marks.items():
        token = cell.tokens[i]
        for line in range(token.start[0], token.end[0] + 1):
            first = token.start[1] if line == token.start[0] else 0
            last = token.end[1] if line == token.end[0] else len(lines[line - 1])
            for col in range(first, last):
                columns.setdefault(line, {})[col] = mark
    for marked in columns.values():  # the spaces inside a fragment are the fragment's too
        cols = sorted(marked)
        for left, right in zip(cols, cols[1:]):
            if right - left > 1 and marked[left][0] == marked[right][0]:
                marked.update({col: marked[left] for col in range(left + 1, right)})
    shown, out, seen = cell.own_lines | set(columns), [], set()
    for number, text in enumerate(lines, start=1):
        if number in shown:
            out.append((number, _pieces(text, columns.get(number, {}), pair, seen)))
        elif not out or out[-1] is not None:  # one gap for a run of given lines
            out.append(None)
    while out and out[-1] is None:
        out.pop()
    return {"label": cell.label, "lines": out}


def _pieces(text, marked, pair, seen):
    """``text`` cut into Pieces by ``marked`` {column: (fragment, rarity, holders)}; ``seen``:
    the fragments already numbered in this cell."""
    pieces = []
    for col, char in enumerate(text):
        number, rarity, holders = marked.get(col, (0, 0.0, 0))
        if pieces and pieces[-1].mark == number:
            pieces[-1].text += char
        elif number:
            pieces.append(Piece(char, number, _level(rarity), _title(number, holders, pair.students),
                                first=number not in seen))
            seen.add(number)
        else:
            pieces.append(Piece(char))
    return pieces or [Piece("")]

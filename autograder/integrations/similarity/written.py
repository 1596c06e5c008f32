"""What a student wrote in a notebook: their code, without the release's.

The release notebook (``release/<assignment>/<assignment>.ipynb``) holds what every student was
given: the locked cells, the solution cells' signatures and docstrings, the stubs. A line of a
submitted code cell is given, not the student's, when it has the same tokens (comments and
spacing aside) as

- a line of any release code cell, wherever it stands: given code pasted into a cell of one's
  own is still given;
- a line of the release's version of the same cell (same nbgrader grade_id) once the names
  each binds are normalised (``tokens.normalised``): a given line with its variables renamed;
- a line of any release code cell, names normalised, when it is at least SHAPED tokens long
  (shorter ones, ``V = V + V``, may well be the student's).

Every other line is the student's own: the solution regions and the cells they added.
nbgrader's test cells are left out whatever they hold: they are the grader's, restored
before grading.
"""
from dataclasses import dataclass

from autograder.integrations.similarity.tokens import Bindings, bindings, normalised, raw_tokens
from autograder.notebook.code_cells import code_cells

SHAPED = 8  # tokens a line needs to be given because it is shaped like any given line


@dataclass(frozen=True)
class WrittenCell:
    """One code cell with tokens of the student's own: ``label`` says which cell (its nbgrader
    grade_id, or "added cell" and its place), ``tokens`` the raw tokens of the whole cell
    (``tokens.raw_tokens``), ``own`` the indices of the student's own among them."""

    label: str
    source: str
    tokens: tuple
    own: frozenset
    bindings: Bindings

    @property
    def own_lines(self):
        """Numbers (from 1) of the lines that hold a token of the student's own."""
        return {self.tokens[i].line for i in self.own}


def line_keys(tokens, texts=None, shortest=1):
    """{line number: the line's tokens (or ``texts``, one per token, "" for one left out) as one
    string}: what makes two lines the same line; lines of fewer than ``shortest`` tokens are
    left out."""
    words = {}
    for token, text in zip(tokens, texts or [t.text for t in tokens]):
        if token.kind != "end" and text:
            words.setdefault(token.line, []).append(text)
    return {line: " ".join(found) for line, found in words.items() if len(found) >= shortest}


def python_lines(source):
    """``source`` with IPython's lines (``%magic``, ``!shell``, ``name?``) blanked, so that the
    rest can be read as Python; line numbers unchanged."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) or line.rstrip().endswith("?") else line
                     for line in source.splitlines())


def _shape(tokens, binds):
    """A cell's tokens with the names it binds as ``V``: the same across renaming."""
    return normalised(tokens, binds.names, frozenset(), binds.parsed, keywords=binds.keywords)


@dataclass(frozen=True)
class Release:
    """What the release gives: its code lines (``keys``, as ``line_keys``), their shapes
    (``shaped``: names normalised, lines of SHAPED tokens or more; ``shapes``: {cell id: the
    shapes of that cell's lines}), its cells' sources, the names it binds and the attributes it
    stores."""

    keys: frozenset
    shaped: frozenset
    sources: frozenset
    shapes: dict
    names: frozenset
    attributes: frozenset

    @classmethod
    def of(cls, notebook):
        """The Release of a notebook read with ``read_notebook``."""
        cells = code_cells(notebook)
        tokens = {c.cell_id: raw_tokens(c.source) for c in cells}
        found = {c.cell_id: bindings(python_lines(c.source)) for c in cells}
        shapes = {i: line_keys(tokens[i], _shape(tokens[i], found[i])).values() for i in tokens}
        return cls(frozenset(key for t in tokens.values() for key in line_keys(t).values()),
                   frozenset(key for keys in shapes.values() for key in keys if _length(key) >= SHAPED),
                   frozenset(c.source for c in cells), {i: frozenset(keys) for i, keys in shapes.items()},
                   frozenset().union(*(b.names for b in found.values())),
                   frozenset().union(*(b.attributes for b in found.values())))

    def gives(self, key, shape, cell_id):
        """Whether a line of cell ``cell_id`` with tokens ``key`` and shape ``shape`` is given."""
        return (key in self.keys or shape in self.shapes.get(cell_id, ())
                or (_length(shape) >= SHAPED and shape in self.shaped))


def _length(key):
    return key.count(" ") + 1


def written_cells(notebook, release):
    """The student's own code of ``notebook`` against ``release`` (a Release), as WrittenCell,
    in notebook order; cells with nothing of their own are left out."""
    written, added = [], 0
    for cell in code_cells(notebook):
        if cell.is_test or cell.source in release.sources:  # untouched given cells, the common case
            continue
        added += cell.cell_id not in release.shapes
        tokens = raw_tokens(cell.source)
        binds = bindings(python_lines(cell.source))
        keys, shapes = line_keys(tokens), line_keys(tokens, _shape(tokens, binds))
        mine = {line for line, key in keys.items() if not release.gives(key, shapes[line], cell.cell_id)}
        if mine:
            label = cell.cell_id if cell.cell_id in release.shapes else f"added cell {added}"
            own = frozenset(i for i, t in enumerate(tokens) if t.line in mine)
            written.append(WrittenCell(label, cell.source, tuple(tokens), own, binds))
    return written

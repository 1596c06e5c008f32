"""The solution regions of a source notebook, and the graded item each one belongs to.

A solution region is the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a
solution cell (nbgrader ``solution: true``, grade_id ``<name>-solution``). Every region lies in
the body of one function or method: the item it belongs to is that definition's name
("gradient", "Layer.backward"), when it is a graded name; otherwise (a helper of the student's
own) the graded names its cell defines.
"""
import ast
from dataclasses import dataclass

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Region:
    """Lines ``first``..``last`` (1-based, inclusive) of a solution cell's source, in ``items``."""

    grade_id: str
    first: int
    last: int
    items: tuple


@dataclass(frozen=True)
class SolutionCell:
    grade_id: str
    source: str
    regions: tuple


def definitions(tree):
    """[(qualified name, first line, last line)] of the functions and methods of a cell."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found.append((node.name, node.lineno, node.end_lineno))
        elif isinstance(node, ast.ClassDef):
            found += [(f"{node.name}.{f.name}", f.lineno, f.end_lineno) for f in node.body
                      if isinstance(f, ast.FunctionDef)]
    return found


def regions_of(grade_id, source, graded):
    """The solution regions of one cell's ``source``, each with the graded items it belongs to."""
    lines = source.splitlines()
    defined = definitions(ast.parse(source))
    own = tuple(name for name, *_ in defined if name in graded)
    regions, first = [], None
    for number, line in enumerate(lines, start=1):
        if line.strip() == BEGIN:
            first = number + 1
        elif line.strip() == END and first is not None:
            inside = [name for name, start, end in defined if start <= first <= end]
            items = tuple(name for name in inside if name in graded) or own
            regions.append(Region(grade_id, first, number - 1, items))
            first = None
    return tuple(regions)


def solution_cells(notebook, graded):
    """The solution cells of ``notebook`` (as read_notebook reads it) that hold a region, in
    order; ``graded`` is the assignment's graded names."""
    cells = []
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution") and meta.get("grade_id"):
            source = cell["source"]  # one string, as read_notebook gives it
            regions = regions_of(meta["grade_id"], source, set(graded))
            if regions:
                cells.append(SolutionCell(meta["grade_id"], source, regions))
    return cells

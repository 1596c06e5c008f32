"""The course's assignments and their graded names, read from the source notebooks.

The source notebooks are the one place these facts are written (see docs/authoring.md):

- the assignments are the folders ``source/<assignment>/`` that hold ``<assignment>.ipynb``
  (the contract's layout), in alphabetical order;
- an assignment's graded names are its notebook's graded test cells (nbgrader ``grade: true``),
  in notebook order. The name is the string the cell passes to ``hidden_score("<name>", ...)``
  (the graded cell's grade_id ``check-<name>``, with ``.`` written as ``_``, cannot tell
  ``delta_w`` from a method ``delta.w``, so it is only checked against the name); ``points`` is
  the cell's nbgrader ``points``;
- ``signature`` lists the parameter names (without ``self``) of the graded function or method
  as its solution cell (grade_id ``<name>-solution``, or ``<Class>-solution`` for
  ``Class.method``) defines it, read with ``ast``.

``read_course(root)`` reads them from any kit folder; ``ASSIGNMENTS`` is the kit's own, read
once when this module is first imported (three small JSON files, a few milliseconds).
"""
import ast
import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CourseError(ValueError):
    """A source notebook does not state its graded names as docs/authoring.md says."""


@dataclass(frozen=True)
class GradedName:
    name: str  # "gradient" or "Class.method"
    signature: tuple
    points: float

    @property
    def grade_id(self):
        """The grade_id of the nbgrader check cell of this name."""
        return "check-" + self.name.replace(".", "_")


def notebook_name(assignment):
    """File name of the assignment's notebook: the contract names it after the assignment."""
    return f"{assignment}.ipynb"


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _graded_name(cell, where):
    """The string literal passed to hidden_score(...) in a graded cell."""
    try:
        tree = ast.parse(_source(cell))
    except SyntaxError as error:
        raise CourseError(f"{where}: the graded cell does not parse: {error}") from None
    names = [node.args[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hidden_score"
             and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]
    if len(names) != 1:
        raise CourseError(f"{where}: a graded cell must call hidden_score(\"<name>\", globals()) once")
    return names[0]


def _signature(name, solutions, where):
    """Parameter names (without self) of ``name`` as its solution cell defines it."""
    top, _, method = name.partition(".")
    cell = solutions.get(f"{top}-solution")
    if cell is None:
        raise CourseError(f"{where}: no solution cell {top}-solution defines {name}")
    try:
        tree = ast.parse(_source(cell))
    except SyntaxError as error:
        raise CourseError(f"{where}: the solution cell {top}-solution does not parse: {error}") from None
    for node in tree.body:
        if method and isinstance(node, ast.ClassDef) and node.name == top:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    return tuple(a.arg for a in item.args.args[1:])
        elif not method and isinstance(node, ast.FunctionDef) and node.name == top:
            return tuple(a.arg for a in node.args.args)
    raise CourseError(f"{where}: the solution cell {top}-solution does not define {name}")


def read_assignment(path):
    """The graded names of the source notebook at ``path``, in notebook order."""
    path = Path(path)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    meta = [cell.get("metadata", {}).get("nbgrader", {}) for cell in cells]
    solutions = {m["grade_id"]: cell for cell, m in zip(cells, meta) if m.get("solution") and m.get("grade_id")}
    graded = []
    for cell, m in zip(cells, meta):
        if not m.get("grade"):
            continue
        where = f"{path}, cell {m.get('grade_id')!r}"
        name = _graded_name(cell, where)
        item = GradedName(name, _signature(name, solutions, where), m.get("points"))
        if m.get("grade_id") != item.grade_id:
            raise CourseError(f"{where}: the graded cell of {name} must have grade_id {item.grade_id}")
        if not isinstance(item.points, (int, float)) or item.points <= 0:
            raise CourseError(f"{where}: the graded cell of {name} has no positive points")
        graded.append(item)
    if len({g.name for g in graded}) != len(graded):
        raise CourseError(f"{path}: a graded name has more than one graded cell")
    return tuple(graded)


def read_course(root=ROOT):
    """{assignment: (GradedName, ...)} of every source/<assignment>/<assignment>.ipynb under ``root``."""
    source = Path(root) / "source"
    folders = sorted(p for p in source.iterdir() if (p / notebook_name(p.name)).is_file()) if source.is_dir() else []
    return {folder.name: read_assignment(folder / notebook_name(folder.name)) for folder in folders}


ASSIGNMENTS = read_course(ROOT)

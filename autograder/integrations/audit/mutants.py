"""Mutants of the reference solution: one small, plausible mistake each, made with ``ast``.

Each operator looks at one node of a solution region (solutions.py) and yields the ways to
change it, each as text edits of the cell, so that a mutant differs from the source cell in
one place only and its diff shows exactly that place (comments and layout stay). The
operators are those of mutation testing (MutPy's AOR, ROR, CRP, UOD; mutmut's numbers and
keywords; cosmic-ray's binary, comparison and number replacers), narrowed to the mistakes of
array code:

- ``arithmetic``: ``+ - * / @ **`` swapped (``+``↔``-``, ``*``↔``/``, ``@``→``*``, ``**``→``*``);
- ``sign``: a unary minus dropped, ``a - b`` turned into ``b - a``, a returned value negated;
- ``sum/mean``: ``.sum``↔``.mean`` and ``np.sum``↔``np.mean``; ``axis``: 0↔1, or dropped;
  other keyword arguments (``keepdims``, ``dtype``) dropped;
- ``transpose``: a ``.T`` dropped, or added to an operand of ``@``; ``swap``: two adjacent
  arguments of a call, or the operands of ``@``, swapped;
- ``constant``: a number changed (1 → 2, 0.5, 0; 0 → 1; c → 0, 2c, c/2), True↔False;
- ``drop term``: one operand of a ``+``/``-`` dropped;
- ``off by one``: an integer index or slice bound ±1, ``range(n)`` → ``range(n ± 1)``;
- ``function``: ``np.log``↔``np.log1p``, ``np.exp(x)``→``np.exp(-x)``;
- ``comparison``: ``>=``↔``>``, ``<=``↔``<``, and each negated (``>=``→``<``);
- ``statement``: a call made for its effect (``network.set_parameters(params)``) dropped.

A mutant that does not parse, or whose cell equals the source or another mutant's, is left
out. Mutants are numbered per item in source order: ``gradient-03`` is stable as long as the
solution cells do not change.
"""
import ast
import bisect
from dataclasses import dataclass

from autograder.integrations.audit.solutions import solution_cells

SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@", ast.Pow: "**"}
ARITHMETIC = {ast.Add: (ast.Sub,), ast.Sub: (ast.Add,), ast.Mult: (ast.Div,), ast.Div: (ast.Mult,),
              ast.MatMult: (ast.Mult,), ast.Pow: (ast.Mult,)}
COMPARISONS = {ast.GtE: (">=", ">", "<"), ast.Gt: (">", ">=", "<="), ast.LtE: ("<=", "<", ">"),
               ast.Lt: ("<", "<=", ">=")}
FUNCTIONS = {"sum": "mean", "mean": "sum", "log": "log1p", "log1p": "log"}


@dataclass(frozen=True)
class Mutant:
    """One mutant: the solution cell ``grade_id`` with ``source`` in place of the original."""

    id: str  # "gradient-03"
    assignment: str
    items: tuple  # the graded items whose code it changes
    grade_id: str
    operator: str
    line: int  # in the cell
    description: str  # "`/` -> `*`"
    original: str  # the source cell
    source: str  # the mutated cell


class Cell:
    """A cell's source as bytes (``ast`` positions are UTF-8 byte offsets), with edits by position."""

    def __init__(self, source):
        self.data = source.encode()
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line, col):
        return self.starts[line - 1] + col

    def span(self, node):
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def line_of(self, offset):
        """The 1-based line holding the byte ``offset``."""
        return bisect.bisect_right(self.starts, offset)

    def text(self, start, end):
        return self.data[start:end].decode()

    def segment(self, node):
        return self.text(*self.span(node))

    def edited(self, edits):
        """The source with ``edits`` [((start, end), new text)] applied (non-overlapping)."""
        data = self.data
        for (start, end), new in sorted(edits, reverse=True):
            data = data[:start] + new.encode() + data[end:]
        return data.decode()


def wrapped(text, node):
    """``text`` (the source of ``node``) as an operand that binds tighter than any operator."""
    simple = isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant))
    return text if simple else f"({text})"


def operator_edit(cell, left, right, old, new):
    """The edit replacing the operator ``old`` between the nodes ``left`` and ``right`` by ``new``."""
    start, end = cell.span(left)[1], cell.span(right)[0]
    gap = cell.text(start, end)
    at = gap.find(old)
    if at < 0 or "#" in gap[:at]:
        return None
    begin = start + len(gap[:at].encode())
    return (begin, begin + len(old.encode())), new


def mutations(cell, node, parents):
    """(operator, description, [edits]) of every mutation of ``node``."""
    seg = cell.segment
    if isinstance(node, ast.BinOp):
        old = SYMBOLS.get(type(node.op))
        for new in ARITHMETIC.get(type(node.op), ()):
            edit = operator_edit(cell, node.left, node.right, old, SYMBOLS[new])
            if edit:
                yield "arithmetic", f"`{old}` -> `{SYMBOLS[new]}`", [edit]
        if isinstance(node.op, ast.Sub):
            yield "sign", "`a - b` -> `b - a`", [(cell.span(node.left), seg(node.right)), (cell.span(node.right),
                                                                                        seg(node.left))]
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield "drop term", f"`{seg(node)}` -> `{seg(node.left)}`", [(cell.span(node), wrapped(seg(node.left),
                                                                                                  node.left))]
            right = seg(node.right) if isinstance(node.op, ast.Add) else "-" + wrapped(seg(node.right), node.right)
            yield "drop term", f"`{seg(node)}` -> `{right}`", [(cell.span(node), f"({right})")]
        if isinstance(node.op, ast.MatMult):
            yield "swap", "operands of `@` swapped", [(cell.span(node.left), seg(node.right)),
                                                      (cell.span(node.right), seg(node.left))]
            for operand in (node.left, node.right):
                if not (isinstance(operand, ast.Attribute) and operand.attr == "T"):
                    yield "transpose", f"`.T` added to `{seg(operand)}`", [
                        (cell.span(operand), wrapped(seg(operand), operand) + ".T")]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign", f"`{seg(node)}` -> `{seg(node.operand)}`", [(cell.span(node),
                                                                    wrapped(seg(node.operand), node.operand))]
    elif isinstance(node, ast.Attribute) and node.attr == "T":
        yield "transpose", f"`.T` dropped from `{seg(node)}`", [(cell.span(node), seg(node.value))]
    elif isinstance(node, ast.Attribute) and node.attr in FUNCTIONS:
        start, end = cell.span(node.value)[1], cell.span(node)[1]
        yield "function", f"`{node.attr}` -> `{FUNCTIONS[node.attr]}`", [((start, end), "." + FUNCTIONS[node.attr])]
    elif isinstance(node, ast.Call):
        yield from call_mutations(cell, node)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARISONS:
        old, *news = COMPARISONS[type(node.ops[0])]
        for new in news:
            edit = operator_edit(cell, node.left, node.comparators[0], old, new)
            if edit:
                yield "comparison", f"`{old}` -> `{new}`", [edit]
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
        yield from constant_mutations(cell, node, parents)
    elif isinstance(node, ast.Return) and node.value is not None:
        yield from return_mutations(cell, node.value)
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield "statement", f"`{seg(node)}` dropped", [(cell.span(node), "pass")]


def call_mutations(cell, node):
    seg = cell.segment
    args = node.args
    for a, b in zip(args, args[1:]):
        if not isinstance(a, ast.Starred) and not isinstance(b, ast.Starred):
            yield "swap", f"arguments `{seg(a)}` and `{seg(b)}` swapped", [(cell.span(a), seg(b)),
                                                                           (cell.span(b), seg(a))]
    for index, keyword in enumerate(node.keywords):
        if keyword.arg is None:
            continue
        if keyword.arg == "axis" and isinstance(keyword.value, ast.Constant) and keyword.value.value in (0, 1):
            other = 1 - keyword.value.value
            yield "axis", f"`axis={keyword.value.value}` -> `axis={other}`", [(cell.span(keyword.value), str(other))]
        before = node.keywords[index - 1] if index else (args[-1] if args else None)
        if before is not None:  # the keyword and the comma before it
            yield "keyword", f"`{seg(keyword)}` dropped", [((cell.span(before)[1], cell.span(keyword)[1]), "")]
    function = node.func
    if isinstance(function, ast.Name) and function.id == "range" and len(args) == 1:
        for sign in ("+", "-"):
            yield "off by one", f"`range({seg(args[0])})` -> `range({seg(args[0])} {sign} 1)`", [
                (cell.span(args[0]), f"{wrapped(seg(args[0]), args[0])} {sign} 1")]
    if isinstance(function, ast.Attribute) and function.attr == "exp" and len(args) == 1 and not (
            isinstance(args[0], ast.UnaryOp) and isinstance(args[0].op, ast.USub)):
        yield "function", f"`exp({seg(args[0])})` -> `exp(-{seg(args[0])})`", [
            (cell.span(args[0]), "-" + wrapped(seg(args[0]), args[0]))]


def constant_mutations(cell, node, parents):
    value = node.value
    span = cell.span(node)
    if isinstance(value, bool):
        yield "constant", f"`{value}` -> `{not value}`", [(span, str(not value))]
        return
    if not isinstance(value, (int, float)):
        return
    parent = parents.get(node)
    if isinstance(parent, ast.keyword) and parent.arg == "axis":
        return  # the axis operator's
    in_index = any(isinstance(p, (ast.Subscript, ast.Slice)) for p in ancestors(node, parents, 3))
    if isinstance(value, int) and in_index:
        news = [value + 1] + ([value - 1] if value > 0 else [])
        for new in news:
            yield "off by one", f"index `{value}` -> `{new}`", [(span, str(new))]
        return
    if value == 1:
        news = [2, 0.5, 0]
    elif value == 0:
        news = [1]
    else:
        news = [0, value * 2, value / 2]
    for new in news:
        text = repr(type(value)(new)) if isinstance(value, float) or float(new).is_integer() else repr(new)
        yield "constant", f"`{cell.segment(node)}` -> `{text}`", [(span, text)]


def return_mutations(cell, value):
    """A returned value negated: the whole value, or each part of a returned tuple or dict."""
    parts = value.elts if isinstance(value, ast.Tuple) else value.values if isinstance(value, ast.Dict) else [value]
    for part in parts:
        if not (isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.USub)):
            yield "sign", f"returned `{cell.segment(part)}` negated", [(cell.span(part),
                                                                         "-" + wrapped(cell.segment(part), part))]


def ancestors(node, parents, depth):
    found = []
    while node in parents and len(found) < depth:
        node = parents[node]
        found.append(node)
    return found


def index_slices(cell, node):
    """Slice bounds that are expressions (``a[:n]``): ±1."""
    for bound in (node.lower, node.upper):
        if bound is not None and not isinstance(bound, ast.Constant):
            for sign in ("+", "-"):
                yield "off by one", f"slice bound `{cell.segment(bound)}` {sign} 1", [
                    (cell.span(bound), f"{wrapped(cell.segment(bound), bound)} {sign} 1")]


def cell_mutants(assignment, solution):
    """[(items, operator, line, description, mutated source)] of one solution cell, in source order."""
    cell = Cell(solution.source)
    tree = ast.parse(solution.source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or isinstance(node, (ast.stmt, ast.expr_context)) and not isinstance(
                node, (ast.Return, ast.Expr)):
            continue
        region = next((r for r in solution.regions if r.first <= node.lineno and node.end_lineno <= r.last), None)
        if region is None:
            continue
        changes = list(mutations(cell, node, parents))
        if isinstance(node, ast.Slice):
            changes += list(index_slices(cell, node))
        for operator, description, edits in changes:
            where = min(start for (start, _), _ in edits)
            found.append((where, region.items, operator, cell.line_of(where), description, cell.edited(edits)))
    found.sort(key=lambda change: change[0])
    return [change[1:] for change in found]


def parses(source):
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def mutants_of(assignment, notebook, graded):
    """Every mutant of the solution cells of ``notebook`` (the source notebook, as read_notebook
    reads it), in notebook and source order; ``graded`` the assignment's graded names."""
    mutants, seen, counts = [], set(), {}
    for solution in solution_cells(notebook, graded):
        seen.add(solution.source)
        for items, operator, line, description, source in cell_mutants(assignment, solution):
            if source in seen or not parses(source):
                continue
            seen.add(source)
            slug = items[0].replace(".", "_")
            counts[slug] = counts.get(slug, 0) + 1
            mutants.append(Mutant(f"{slug}-{counts[slug]:02d}", assignment, items, solution.grade_id, operator,
                                  line, description, solution.source, source))
    return mutants

"""Module imports that grading never uses, made lazy: the plotting libraries.

A source notebook imports matplotlib (and scipy.stats) in its set-up cell, for plots that
are tagged ``skip-grading``. The grader never runs those cells, yet the import would make
every student process carry the libraries: 40 to 100 MB more for each fork to copy, which
costs more than most calls it answers.

So an ``import module [as name]`` statement at the top level of a cell, whose name no graded
cell of the source notebook uses, is rewritten as ``name = __lazy_module__(module, name,
top)``. In the student process (autograder/sandbox/inside/submission.py, LazyModule) that binds a stand-in which
imports the module on its first attribute access and takes the name's place: a student
who plots anyway gets the real module, only later. ``from module import name`` is never
made lazy: what it binds need not be a module.
"""
import ast


def module_bindings(node):
    """[(name, module, top)] that an ``import`` statement binds; top: the name is the top-level
    package (``import a.b`` binds ``a``), not the module itself (``import a.b as name``)."""
    return [(alias.asname or alias.name.partition(".")[0], alias.name, alias.asname is None)
            for alias in node.names]


def parsed(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def unused_module_imports(graded_sources):
    """{name: (module, top)} for each name a top-level ``import`` of ``graded_sources`` (the
    source notebook's graded cells) binds and no code of them uses."""
    trees = [tree for tree in map(parsed, graded_sources) if tree is not None]
    used = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                used.update(node.names)
    return {name: (module, top) for tree in trees for node in tree.body if isinstance(node, ast.Import)
            for name, module, top in module_bindings(node) if name not in used}


def with_lazy_imports(source, lazy):
    """``source`` with each top-level ``import`` statement that binds only names of ``lazy``
    {name: (module, top)}, each to that module, rewritten as lazy bindings on the same lines."""
    if not any(module in source for module, _ in lazy.values()):  # most cells: no parse needed
        return source
    tree = parsed(source)
    if tree is None:
        return source
    lines = source.encode().splitlines(keepends=True)  # ast offsets count UTF-8 bytes
    for node in reversed(tree.body):
        bindings = module_bindings(node) if isinstance(node, ast.Import) else []
        if not bindings or any(lazy.get(name) != (module, top) for name, module, top in bindings):
            continue
        extra_lines = "\n" * (node.end_lineno - node.lineno)  # inside the parentheses: line numbers stay
        calls = [f"{name} = __lazy_module__({module!r}, {name!r}, {top})" for name, module, top in bindings]
        calls[-1] = calls[-1][:-1] + extra_lines + ")"
        first, last = lines[node.lineno - 1], lines[node.end_lineno - 1]
        replaced = first[:node.col_offset] + "; ".join(calls).encode() + last[node.end_col_offset:]
        lines[node.lineno - 1:node.end_lineno] = [replaced]
    return b"".join(lines).decode()

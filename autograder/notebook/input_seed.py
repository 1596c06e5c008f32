"""The seed of a submission's hidden inputs, drawn from the student's own code.

Each submission gets inputs of its own, so the expected values one student's feedback shows
do not fit another's answers. The seed depends only on the definitions of the assignment's
graded names, as parsed (comments and layout do not count), so the sandbox (from the
notebook file) and the kernel (from the cells it ran) draw the same inputs, on every worker,
under Dask and on every rerun.
"""
import ast
import hashlib


def graded_definitions(sources, names):
    """{name: ast dump of its last top-level definition} for the top-level ``names`` (a class
    for its methods) in the code cells ``sources``, in order. A cell that is not plain Python
    (IPython magics) is skipped, the same way in the sandbox and in the kernel."""
    found = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
                found[node.name] = ast.dump(node)
    return found


def input_seed(sources, graded_names):
    """A 63-bit seed from the definitions of ``graded_names`` ("gradient", "Layer.backward")
    in the code cells ``sources``; a name that is not defined counts as empty."""
    tops = sorted({name.split(".")[0] for name in graded_names})
    found = graded_definitions(sources, set(tops))
    text = "\0".join(f"{name}\0{found.get(name, '')}" for name in tops)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def notebook_sources(notebook):
    """The code cells of a notebook read by code_cells.read_notebook, in order."""
    return [cell["source"] for cell in notebook["cells"] if cell.get("cell_type") == "code"]

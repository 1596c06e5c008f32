"""The README's layout table matches the tree: every folder and module of autograder/ is named there."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "autograder"


def layout_rows():
    """{path column: description} of the README's layout table."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Layout", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in table.splitlines()[2:]:
        path, holds = line.strip("|").split("|", 1)
        rows[path.strip().strip("`")] = holds
    return rows


def test_every_folder_and_module_of_the_grader_is_in_the_readme_layout_table():
    rows = layout_rows()
    folders = sorted(p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__")
    for folder in folders:
        relative = folder.relative_to(ROOT).as_posix() + "/"
        if folder.parent == PACKAGE / "assignments":
            relative = "autograder/assignments/<assignment>/"
            assert (ROOT / "reference" / f"{folder.name}.py").exists() and (ROOT / "source" / folder.name).is_dir()
        owner = relative if relative in rows else next(  # its own row, or the row of a folder holding it
            (r for r in rows if r != "autograder/" and (relative.startswith(r) or r.startswith(relative))), None)
        assert owner, f"{relative} is not in the README's layout table"
    for module in sorted(PACKAGE.rglob("*.py")):
        if module.name == "__init__.py" or module.parent.parent == PACKAGE / "assignments":
            continue
        relative = module.relative_to(ROOT).as_posix()
        folder = module.parent.relative_to(ROOT).as_posix() + "/"
        row = rows.get(relative) or rows.get(folder) or next(
            (rows[r] for r in rows if folder.startswith(r) and r != "autograder/"), "")
        if module.parent == PACKAGE:
            row = rows.get(relative, "") + rows["autograder/"]
        assert f"`{module.name}`" in row or relative in rows, f"{relative} is not named in its row of the layout table"


def test_every_folder_of_the_grader_says_what_it_holds():
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init.relative_to(ROOT)} has no docstring"


def test_the_grading_path_visits_the_core_folders_in_the_order_a_submission_travels():
    """grade.py imports from notebook, then sandbox, then checks, then scores, each once."""
    imports = [node.module for node in ast.parse((PACKAGE / "grade.py").read_text()).body
               if isinstance(node, ast.ImportFrom) and node.module.startswith("autograder.")]
    folders = [m.split(".")[1] for m in imports if m.count(".") >= 2]
    stages = list(dict.fromkeys(folders))
    assert stages == ["notebook", "sandbox", "checks", "scores"], stages
    assert folders == sorted(folders, key=stages.index), "grade.py goes back to a folder it has left"
    assert not re.search(r"autograder\.(integrations|reports)", (PACKAGE / "grade.py").read_text())

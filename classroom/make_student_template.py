"""Build the GitHub Classroom template repository of one assignment (public part only).

    .venv/bin/python classroom/make_student_template.py logistic_regression build/classroom/logistic_regression

writes into the target folder (then push it as a template repository on GitHub):

    <assignment>.ipynb                      the release notebook the student edits
    autograder/__init__.py                  empty package marker
    autograder/__main__.py                  `python -m autograder check ...` -> self_check.main
    autograder/self_check.py                a copy of the kit's autograder/integrations/self_check.py
    autograder/release/<assignment>.ipynb   pristine release notebook (locked cells restored from it)
    requirements.txt                        the kit's requirements.lock (pinned versions)
    .github/workflows/classroom.yml         classroom/student-workflow.yml with NOTEBOOK set
    README.md                               how to run the public checks

Nothing else from the kit is copied: no hidden tests, no reference, no source notebooks.
"""
import argparse
import shutil
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]

MAIN = '''"""`python -m autograder check NOTEBOOK [--classroom]`: the public checks only."""
import sys

from autograder.self_check import main

sys.exit(main(sys.argv[1:]))
'''

README = """# {assignment}

Fill in the stubs of `{assignment}.ipynb`, then check your work:

```sh
python -m pip install -r requirements.txt
python -m autograder check {assignment}.ipynb
```

This runs the notebook's *visible* checks only. "public checks passed — the hidden tests check
more" means exactly that: your grade comes from hidden tests run when your work is graded.
Every push runs the same checks on GitHub (Actions tab); the points shown there are
public-check points only.
"""


def build(assignment, target):
    release = KIT / "release" / assignment / f"{assignment}.ipynb"
    if not release.is_file():
        raise SystemExit(f"no release notebook {release}")
    target = Path(target)
    (target / "autograder" / "release").mkdir(parents=True, exist_ok=True)
    (target / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(release, target / f"{assignment}.ipynb")
    shutil.copyfile(release, target / "autograder" / "release" / f"{assignment}.ipynb")
    shutil.copyfile(KIT / "autograder" / "integrations" / "self_check.py", target / "autograder" / "self_check.py")
    (target / "autograder" / "__init__.py").write_text('"""Public checks of the course kit."""\n')
    (target / "autograder" / "__main__.py").write_text(MAIN)
    shutil.copyfile(KIT / "requirements.lock", target / "requirements.txt")
    workflow = (KIT / "classroom" / "student-workflow.yml").read_text()
    workflow = workflow.replace("NOTEBOOK: logistic_regression.ipynb", f"NOTEBOOK: {assignment}.ipynb")
    (target / ".github" / "workflows" / "classroom.yml").write_text(workflow)
    (target / "README.md").write_text(README.format(assignment=assignment))
    (target / ".gitignore").write_text("public-checks.b64\n.ipynb_checkpoints/\n__pycache__/\n")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("target", help="folder to write the template repository into")
    args = parser.parse_args(argv)
    print(f"template repository of {args.assignment} in {build(args.assignment, args.target)}")


if __name__ == "__main__":
    sys.exit(main())

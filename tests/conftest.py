"""Shared fixtures: paths of the repository and a freshly generated release."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import ASSIGNMENTS

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_NAMES = tuple(ASSIGNMENTS)  # the folders of source/ (autograder/course.py)
NBGRADER = str(Path(sys.executable).with_name("nbgrader"))


def course_copy(dest):
    """A minimal course directory at ``dest``: config, the kit's package and source/."""
    dest = Path(dest)
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(ROOT / "autograder", dest / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "source", dest / "source")
    return dest


@pytest.fixture(scope="session")
def fresh_release(tmp_path_factory):
    """release/ as `nbgrader generate_assignment` makes it today from source/."""
    course = course_copy(tmp_path_factory.mktemp("course"))
    for assignment in ASSIGNMENT_NAMES:
        subprocess.run([NBGRADER, "generate_assignment", assignment, "--force", "--no-db",
                        "--log-level=WARN"], cwd=course, check=True, capture_output=True)
    return course / "release"

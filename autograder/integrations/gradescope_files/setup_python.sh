#!/usr/bin/env bash
# The Python part of setup.sh: a venv holding exactly what grading needs, every version
# pinned by the kit's requirements.lock (pip's -c). The kit itself is not pip-installed:
# run_autograder puts /autograder/source on PYTHONPATH, so the grader imports autograder/
# and reference/ from there.
#
# Environment (all optional; the defaults are Gradescope's layout):
#   AUTOGRADER_SOURCE       the unpacked zip        (default: this script's folder)
#   AUTOGRADER_VENV         the venv to create/use  (default: /autograder/venv)
#   AUTOGRADER_BASE_PYTHON  Python that creates it  (default: python3)
set -euo pipefail
SOURCE="${AUTOGRADER_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
VENV="${AUTOGRADER_VENV:-/autograder/venv}"
BASE_PYTHON="${AUTOGRADER_BASE_PYTHON:-python3}"

# What grading imports: the grader (numpy, nbformat, pytest for the hidden suite) and what
# the course's notebooks import while they run in the sandbox (matplotlib, scipy, scikit-learn).
GRADING_PACKAGES="numpy nbformat pytest matplotlib scipy scikit-learn"

check_python() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "the kit needs Python >= 3.11, "
        + sys.executable + " is " + sys.version.split()[0] + ": use the Ubuntu 24.04 base image")'
}

CREATED=0
if [ ! -x "$VENV/bin/python" ]; then
    check_python "$BASE_PYTHON"
    "$BASE_PYTHON" -m venv "$VENV"
    CREATED=1
fi
check_python "$VENV/bin/python"
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
    -c "$SOURCE/requirements.lock" $GRADING_PACKAGES
# The venv lives outside source/ (which run_autograder makes unreadable to the sandbox's
# uid), and the sandboxed student process runs this venv's python: everyone may read it.
if [ "$CREATED" = 1 ]; then chmod -R a+rX "$VENV"; fi
# Smoke test: the grader imports with this venv and this source folder.
PYTHONPATH="$SOURCE" "$VENV/bin/python" -c "import autograder.integrations.gradescope, autograder.grade, reference"
echo "autograder environment ready: $VENV"

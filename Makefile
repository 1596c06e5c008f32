# Two commands do all the set-up:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NBGRADER := $(VENV)/bin/nbgrader
# The assignments: the folders source/<a>/ that hold source/<a>/<a>.ipynb (as autograder/course.py reads them).
ASSIGNMENTS := $(strip $(foreach a,$(sort $(notdir $(wildcard source/*))),$(if $(wildcard source/$(a)/$(a).ipynb),$(a))))

.PHONY: demo test env sandbox-tools browser release notebooks validate clean audit

# The main job: environment, release built from source/ and validated, then the bundled
# demo class (demo/build_class.py) graded in the sandbox, with its grade table printed, and
# its class report written (the last line printed is the report's path).
demo: env release validate
	rm -rf build/demo
	$(PY) demo/build_class.py build/demo/submitted
	$(PY) -m autograder grade build/demo/submitted --out build/demo/graded
	$(PY) -m autograder report build/demo/graded

# The whole test suite (CI runs exactly this through .ci/run).
test: env
	$(PY) -m pytest -n 2 tests

env: $(VENV)/ready sandbox-tools browser

# bubblewrap isolates student code; the grader warns loudly (and --require-sandbox refuses) without it.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) || echo "WARNING: could not install bubblewrap"; \
	  else echo "WARNING: bubblewrap missing: install it (apt-get install bubblewrap) for an isolated sandbox"; fi; }

$(VENV)/ready: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c requirements.lock -e '.[test,cluster]'
	touch $@

# Headless Chromium renders the students' feedback.html in tests/test_feedback.py.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "WARNING: could not install chromium"; \
	  else echo "WARNING: chromium missing: apt-get install chromium (needed by tests/test_feedback.py)"; fi; }

# Student versions, exactly as nbgrader generates them from source/.
release: env
	for a in $(ASSIGNMENTS); do $(NBGRADER) generate_assignment $$a --force --no-db --log-level=WARN || exit 1; done

# After editing a source notebook: re-execute it so its committed figures are fresh.
notebooks: env
	for a in $(ASSIGNMENTS); do $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace source/$$a/$$a.ipynb || exit 1; done

# Every source notebook passes its own checks.
validate: env
	$(NBGRADER) validate source/*/*.ipynb

# The mutation audit of every assignment's hidden checks (README, "Mutation audit"), 2 workers;
# fails when a mutant of the reference kept full marks or cost points on another item.
audit: env
	status=0; for a in $(ASSIGNMENTS); do $(PY) -m autograder audit $$a --workers 2 --out build/audit/$$a || status=1; done; exit $$status

clean:
	rm -rf $(VENV) gradebook.db

# ansible-test sanity for the collection (included by the root Makefile).
#
# ansible-test only runs inside .../ansible_collections/<namespace>/<name>, so `make sanity` copies
# the checkout to $(SANITY_ROOT)/ansible_collections/notejam/aws, with the amazon.aws and
# community.aws collections from .venv beside it (for doc fragments and module_utils), and runs the
# tests there with .venv's Python (--local: no containers).
#
# ansible-test gives validate-modules its own virtual environment and bootstraps pip into it with
# a script from ci-files.testing.ansible.com. Where that host cannot be reached, ansible-test reads
# the script from ~/.ansible/test/cache; we save mk/ansible_test_get_pip.py there (installs pip
# from the interpreter's ensurepip, then the pinned packages from the configured index). An existing
# cached script, real or not, is left alone.

SANITY_TESTS ?= validate-modules compile import
SANITY_PYTHON ?= 3.11
# Paths inside the collection to test (empty: the whole collection).
SANITY_PATHS ?=
# Outside the git work tree: inside it, ansible-test would take the file list from git, which
# ignores .run/, and find nothing to test.
SANITY_ROOT ?= $(or $(TMPDIR),/tmp)/notejam-aws-sanity
SANITY_COPY := $(SANITY_ROOT)/ansible_collections/notejam/aws
ANSIBLE_TEST_CACHE := $(HOME)/.ansible/test/cache

.PHONY: sanity
sanity: install ## ansible-test sanity (validate-modules, compile, import) on a copy of the collection
	rm -rf $(SANITY_ROOT)
	mkdir -p $(SANITY_COPY)
	rsync -a --exclude .git --exclude .venv --exclude .run --exclude .collections \
	  --exclude __pycache__ --exclude .pytest_cache --exclude .ruff_cache --exclude tests/output \
	  --exclude '*.egg-info' --exclude notejam/instance ./ $(SANITY_COPY)/
	for collection in amazon.aws community.aws; do \
	  src=$$($(BIN)/python -c "import importlib; print(list(importlib.import_module('ansible_collections.' + '$$collection').__path__)[0])"); \
	  mkdir -p $(SANITY_ROOT)/ansible_collections/$${collection%%.*}; \
	  cp -a "$$src" $(SANITY_ROOT)/ansible_collections/$${collection%%.*}/$${collection#*.}; \
	done
	pip_version=$$($(BIN)/python -c "import inspect, re; from ansible_test._internal import python_requirements as r; print(re.search(r\"pip='([0-9.]+)'\", inspect.getsource(r.get_venv_packages)).group(1))"); \
	cached=$(ANSIBLE_TEST_CACHE)/get_pip_$${pip_version//./_}.py; \
	if [ ! -s "$$cached" ]; then \
	  mkdir -p $(ANSIBLE_TEST_CACHE); \
	  curl -fsS --max-time 20 -o "$$cached" "https://ci-files.testing.ansible.com/ansible-test/get-pip-$$pip_version.py" \
	    || cp mk/ansible_test_get_pip.py "$$cached"; \
	fi
	cd $(SANITY_COPY) && $(BIN)/ansible-test sanity --local --python $(SANITY_PYTHON) \
	  --python-interpreter $(BIN)/python $(addprefix --test ,$(SANITY_TESTS)) $(SANITY_PATHS)

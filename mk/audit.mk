# Security audit (issue 16): the dependency audit (pip-audit) and the static security lint (bandit),
# with the policy in mk/audit.py and the reviewed exceptions in mk/audit-ignore.toml. Included by
# the root Makefile. The tools live in their own venv, .venv/audit, installed with hashes from
# requirements-audit.txt (so they never change what the project's .venv resolves).
#
# `make audit` needs the vulnerability database (OSV by default, AUDIT_SERVICE=pypi for PyPI's
# JSON API): where it cannot be reached the audit says so and exits 3 (never a silent pass).

AUDIT_VENV := $(VENV)/audit
AUDIT_BIN := $(CURDIR)/$(AUDIT_VENV)/bin
AUDIT_SERVICE ?= osv
export AUDIT_SERVICE
# What we ship: the image's hash lock (every package the image installs), the controller's
# requirements.txt (resolved by pip, so the packages its pins bring are audited too; it includes the
# app's pins) and the audit tools' own hash lock.
AUDIT_REQUIREMENTS := notejam/requirements.lock requirements.txt requirements-audit.txt
AUDIT_CODE := notejam/notejam plugins
# pip-compile takes the locks from PyPI alone: no machine's pip.conf, local wheel folder or extra index.
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	$(AUDIT_BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --index-url https://pypi.org/simple

.PHONY: audit audit-deps audit-code audit-tools lock

# -k: both halves run and report even when the first fails; the status is non-zero if either did.
audit: ## dependency audit (pip-audit) and static security lint (bandit); fails on known vulnerabilities and high findings
	$(MAKE) --no-print-directory -k audit-deps audit-code

audit-deps: audit-tools ## pip-audit over notejam/requirements.lock, requirements.txt and the audit tools (exit 3: database unreachable)
	$(AUDIT_BIN)/python mk/audit.py deps $(addprefix --requirement ,$(AUDIT_REQUIREMENTS))

audit-code: audit-tools ## bandit over the app and plugins/: fails on high-severity findings
	$(AUDIT_BIN)/python mk/audit.py bandit --config pyproject.toml $(AUDIT_CODE)

audit-tools: $(AUDIT_VENV)/.installed ## the audit venv (.venv/audit) from requirements-audit.txt, with hashes

$(AUDIT_VENV)/.installed: requirements-audit.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-audit.txt
	touch $@

# The audit test (tests/unit/test_audit.py) runs these tools.
test-unit: audit-tools

lock: audit-tools ## regenerate the hash locks (notejam/requirements.lock, requirements-audit.txt) with pip-compile
	cd notejam && $(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --output-file requirements-audit.txt requirements-audit.in

# The pipeline's CodeBuild stages on this machine (issue 12): buildspecs/test.yml, build.yml and
# deploy.yml run in order by tests/pipeline/buildspec.py against a private emulator holding a
# converged local environment. Included by the root Makefile; `make test` runs it.
# Docker steps are skipped (a stand-in image is put into the emulator's ECR) when there is no
# docker daemon; PIPELINE_LOCAL_TESTS selects the test stage's pytest paths (a bounded subset by
# default: the full suites run in `make test` themselves). Logs: .run/pipeline-local/.

PIPELINE_LOCAL_CONVERGE ?= app
# Empty: tests/pipeline/local.py's DEFAULT_TESTS. E.g. make pipeline-local PIPELINE_LOCAL_TESTS="tests/pipeline"
PIPELINE_LOCAL_TESTS ?=

.PHONY: pipeline-local
pipeline-local: install ## run buildspecs/{test,build,deploy}.yml like CodeBuild, against a private emulator
	$(BIN)/python -m tests.pipeline.local --converge $(PIPELINE_LOCAL_CONVERGE) --log-dir $(RUN)/pipeline-local \
		$(if $(strip $(PIPELINE_LOCAL_TESTS)),--tests "$(strip $(PIPELINE_LOCAL_TESTS))")

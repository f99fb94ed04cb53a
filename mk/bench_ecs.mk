# Side-by-side benchmark of notejam.aws's ECS modules against community.aws's (issue 5).
# Included by the root Makefile, whose `bench` target runs it with the other benchmarks.

BENCH_ECS_RUNS ?= 3

.PHONY: bench-ecs

bench-ecs: install ## our ECS task definition/service modules vs community.aws's: first run, no-op, change probes
	$(BIN)/python bench/ecs_modules.py --runs $(BENCH_ECS_RUNS) --out docs/benchmarks-ecs.md

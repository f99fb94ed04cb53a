# The Notejam app: development server, tests on SQLite and MariaDB, the demo service, the benchmark.
# Included by the root Makefile, which owns install/demo/down/test/lint/bench and calls these.

APP_DEV_PORT ?= 5050
APP_BIND ?= 127.0.0.1:8000
APP_DATABASE_URL ?= sqlite:///$(RUN)/notejam.db
APP_HEALTH_WAIT ?= 20
# The MariaDB the app suite also runs on; `NOTEJAM_REQUIRE_MYSQL=1` (CI) turns "unreachable" from
# a skip into a failure.
NOTEJAM_TEST_MYSQL_URL ?= mysql+mysqldb://root@127.0.0.1:3306/notejam_test?charset=utf8mb4
NOTEJAM_BENCH_MYSQL_URL ?= mysql+mysqldb://root@127.0.0.1:3306/notejam_bench?charset=utf8mb4
APP_GUNICORN = $(BIN)/gunicorn -c $(CURDIR)/notejam/gunicorn.conf.py

.PHONY: run test-app app-up app-down bench-app bench-app-mixed

run: install ## serve Notejam for development on SQLite, migrated first (http://127.0.0.1:5050; 5000 is the emulator's)
	FLASK_DEBUG=1 $(BIN)/flask --app notejam db upgrade
	FLASK_DEBUG=1 $(BIN)/flask --app notejam run --host 127.0.0.1 --port $(APP_DEV_PORT)

test-app: install ## run the app's tests on SQLite and on MariaDB
	NOTEJAM_TEST_MYSQL_URL='$(NOTEJAM_TEST_MYSQL_URL)' $(BIN)/pytest tests/app

# The demo service: production settings (gunicorn, SECRET_KEY required) on a local SQLite file.
# The session cookie is not marked Secure because the demo is served over plain HTTP.
app-up: install ## migrate and start Notejam in the background on http://127.0.0.1:8000
	@mkdir -p $(RUN)
	@if [ -f $(RUN)/app.pid ] && kill -0 "$$(cat $(RUN)/app.pid)" 2>/dev/null; then \
	  echo "notejam: already running (pid $$(cat $(RUN)/app.pid)) on http://$(APP_BIND)"; exit 0; \
	fi; \
	rm -f $(RUN)/app.pid; \
	if [ ! -s $(RUN)/secret_key ]; then \
	  (umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > $(RUN)/secret_key); \
	fi; \
	export SECRET_KEY="$$(cat $(RUN)/secret_key)" DATABASE_URL='$(APP_DATABASE_URL)' \
	  NOTEJAM_BASE_URL=http://$(APP_BIND) NOTEJAM_MAIL_OUTBOX=$(RUN)/outbox SESSION_COOKIE_SECURE=0; \
	$(BIN)/flask --app notejam db upgrade; \
	setsid nohup $(APP_GUNICORN) --bind $(APP_BIND) --pid $(RUN)/app.pid 'notejam:create_app()' \
	  >> $(RUN)/app.log 2>&1 < /dev/null & \
	for i in $$(seq 1 $$(( $(APP_HEALTH_WAIT) * 4 ))); do \
	  if $(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
	       http://$(APP_BIND)/healthz 2>/dev/null; then \
	    echo "notejam: serving http://$(APP_BIND) (pid $$(cat $(RUN)/app.pid), log $(RUN)/app.log)"; exit 0; \
	  fi; \
	  sleep 0.25; \
	done; \
	echo "notejam: /healthz did not answer within $(APP_HEALTH_WAIT) s; last lines of $(RUN)/app.log:" >&2; \
	tail -n 30 $(RUN)/app.log >&2; \
	exit 1

app-down: ## stop the Notejam started by app-up (by its pid file)
	@if [ ! -f $(RUN)/app.pid ]; then echo "notejam: not running"; exit 0; fi; \
	pid="$$(cat $(RUN)/app.pid)"; \
	if kill -0 "$$pid" 2>/dev/null; then \
	  kill -TERM "$$pid"; \
	  for i in $$(seq 1 120); do kill -0 "$$pid" 2>/dev/null || break; sleep 0.25; done; \
	  if kill -0 "$$pid" 2>/dev/null; then echo "notejam: pid $$pid still running after 30 s" >&2; exit 1; fi; \
	  echo "notejam: stopped (pid $$pid)"; \
	else \
	  echo "notejam: not running (stale pid file)"; \
	fi; \
	rm -f $(RUN)/app.pid

bench-app: install ## benchmark Notejam under gunicorn with wrk (writes docs/benchmarks-app.md)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	NOTEJAM_BENCH_MYSQL_URL='$(NOTEJAM_BENCH_MYSQL_URL)' $(BIN)/python bench/app/bench.py \
	  --output docs/benchmarks-app.md --workers-matrix --repeat 3

bench-app-mixed: install ## only the mixed workload beside the one-line endpoint, 5 alternating rounds (prints, writes nothing)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	NOTEJAM_BENCH_MYSQL_URL='$(NOTEJAM_BENCH_MYSQL_URL)' $(BIN)/python bench/app/bench.py \
	  --mixed-only --repeat 5

"""gunicorn settings for Notejam on ECS Fargate behind an ALB (also used by `make app-up`/`bench-app`).

Run: gunicorn -c notejam/gunicorn.conf.py 'notejam:create_app()'
Every value can be overridden from the environment (or gunicorn's own GUNICORN_CMD_ARGS / flags).
"""

from __future__ import annotations

import gc
import math
import os


def available_cpus() -> int:
    """CPUs this container may use: the cgroup quota (ECS task CPU), else the affinity mask."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as handle:
            quota, period = handle.read().split()
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, len(os.sched_getaffinity(0)))


cpus = available_cpus()

# ECS sends traffic to the container port; the task definition sets PORT if it is not 8000.
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")

# gthread workers, one per CPU (at least 2, so one busy or restarting worker never stops the
# task), with 4 threads each: threads keep a worker's CPU busy while requests wait on Aurora or
# SES across the network, and gthread keeps the ALB's connections alive, where sync workers close
# every one. Against loopback MariaDB (docs/benchmarks-app.md) fewer threads had the lower p99 and
# sync workers the same throughput; only a load test against real Aurora can settle the count.
# BalancedThreadWorker is gunicorn's gthread that shares new connections out evenly among the
# workers (notejam/gunicorn_worker.py): left to the kernel, a burst of keep-alive connections can
# all land in one worker and leave a CPU idle.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "notejam.gunicorn_worker.BalancedThreadWorker")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, cpus)))
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# ECS stops a task with SIGTERM and, stopTimeout later (30 s by default), SIGKILL. gunicorn stops
# accepting, lets in-flight requests finish for graceful_timeout, then exits: 25 s < 30 s.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 25))
# A worker silent for this long is killed and replaced (a hung request, not a slow one).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# The ALB keeps idle connections to targets for 60 s: the target must keep them longer, or the
# ALB may send a request on a connection gunicorn is closing (sporadic 502s).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))

# gunicorn trusts forwarding headers (X-Forwarded-Proto, and a SCRIPT_NAME header that moves
# every link of the site) only from these peers: none but the host itself. The app trusts exactly
# one hop of X-Forwarded-For/-Proto, the ALB's, through ProxyFix (notejam/__init__.py), which is
# all it needs behind the ALB; "*" would let any client that reaches gunicorn set them.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The app writes one JSON line per request to stdout; gunicorn's own access log stays off.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# Heartbeat files on tmpfs: a container's overlay filesystem can stall workers' heartbeats.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - tmpfs by design


def post_worker_init(worker) -> None:
    """Once the worker has loaded the app: move what it loaded out of the garbage collector's way.

    Flask, SQLAlchemy's metadata and the compiled templates live as long as the worker. Left in
    the collector's oldest generation, each full collection walked all of them: a ~45 ms pause
    every few thousand requests (docs/benchmarks-app.md), felt by every request in flight in that
    worker. Frozen, they are never scanned again; objects made later are collected as usual.
    """
    gc.collect()
    gc.freeze()

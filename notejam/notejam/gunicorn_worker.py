"""gunicorn's gthread worker, sharing the server's connections out evenly among its workers.

Every worker of a gunicorn server waits on the same listening socket, and the kernel wakes all of
them for a new connection: whichever gets the CPU first accepts it. A burst of connections (an
ALB opening connections to a new target, wrk starting) often lands entirely in one worker, and as
keep-alive connections they stay there: measured on this project's benchmark, 16 connections split
0/16 in half the runs, one worker's GIL capped the server at one core while the other idled, and
throughput halved (docs/benchmarks-app.md). Nothing moves a connection between workers later.

This worker takes a new connection only while no live worker of the same server holds fewer. The
workers share a small table in memory, made by the arbiter before it forks them, where each writes
how many connections it holds and when its loop last ran. A worker that should leave a connection
to another stops listening and looks again every few milliseconds; if the connection is still
waiting after ``MAX_DEFER`` (its peer is busy or gone), it takes it anyway, so a client never waits
longer than that. A worker whose loop has not run for ``STALE`` seconds (stuck, or killed without
cleaning up) no longer counts. Everything else is gunicorn's gthread worker.

Use: ``worker_class = "notejam.gunicorn_worker.BalancedThreadWorker"`` (gunicorn.conf.py's default).
"""

from __future__ import annotations

import ctypes
import mmap
import selectors
import time

from gunicorn.workers.gthread import ThreadWorker

# Seconds a connection may wait for a less loaded worker before this one takes it.
MAX_DEFER = 0.02
# While leaving connections to others, how often (seconds) a worker looks again.
DEFER_POLL = 0.002
# A worker whose loop has not run for this long (seconds) is not counted. gthread's loop runs at
# least once a second.
STALE = 5.0
# Workers per server that can take part; more than this and the rest accept as gunicorn does.
SLOTS = 64


class _Slot(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_int64), ("connections", ctypes.c_int64), ("seen", ctypes.c_double)]


# Made when the arbiter loads the worker class, before it forks a worker: every worker of the
# server inherits the same anonymous shared mapping (no file: the container's root filesystem is
# read-only, and /dev/shm is not promised on Fargate).
_MEMORY = mmap.mmap(-1, ctypes.sizeof(_Slot) * SLOTS)
_TABLE = (_Slot * SLOTS).from_buffer(_MEMORY)


def _claim_slot(pid: int, connections: int, now: float) -> _Slot | None:
    """A free (or stale) entry of the table, now this process's.

    No lock: two workers claiming at once may both write one entry; the one whose pid did not stick
    finds out on its next heartbeat (``balance``) and claims another.
    """
    for slot in _TABLE:
        if slot.pid == 0 or now - slot.seen > STALE:
            slot.pid, slot.connections, slot.seen = pid, connections, now
            return slot
    return None


class _BalancingSelector(selectors.DefaultSelector):
    """The worker loop's selector: a heartbeat on every turn, and short waits while deferring."""

    def __init__(self, worker: BalancedThreadWorker):
        super().__init__()
        self._worker = worker

    def select(self, timeout=None):
        if self._worker.balance():
            timeout = DEFER_POLL if timeout is None else min(timeout, DEFER_POLL)
        return super().select(timeout)


class BalancedThreadWorker(ThreadWorker):
    """A gthread worker that accepts only while no other live worker holds fewer connections."""

    _slot: _Slot | None = None
    _connections = 0

    @property
    def nr_conns(self) -> int:
        return self._connections

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        # gthread counts its open connections here (accept, close, keep-alive timeout).
        self._connections = value
        slot = self._slot
        if slot is not None and slot.pid == self.pid:  # not an entry another worker took over
            slot.connections = value

    def run(self) -> None:
        self._deferred_since: float | None = None
        self._parked: list[selectors.SelectorKey] = []
        self._forced = False
        self.poller.close()
        # The selector's first turn claims this worker's entry in the table (balance).
        self.poller = _BalancingSelector(self)
        try:
            super().run()
        finally:
            self._release()

    def handle_exit(self, sig, frame) -> None:
        # SIGTERM: gunicorn finishes the requests in flight, for up to graceful_timeout; new
        # connections should not be left for this worker meanwhile.
        self._release()
        super().handle_exit(sig, frame)

    def _release(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None and slot.pid == self.pid:
            slot.pid = 0

    def accept(self, server, listener) -> None:
        if self._forced or self._fewest(time.monotonic()):
            super().accept(server, listener)
        elif self._deferred_since is None:
            # Stop listening (the socket stays readable until someone accepts: no busy loop) and
            # let the selector look again shortly.
            self._parked = [self.poller.unregister(sock) for sock in self.sockets]
            self._deferred_since = time.monotonic()

    def balance(self) -> bool:
        """Called on every turn of the loop: heartbeat; listen again when it is this worker's turn.

        Returns whether the worker is still leaving new connections to others.
        """
        now = time.monotonic()
        slot = self._slot
        if slot is not None and slot.pid == self.pid:
            slot.seen = now
        elif self.alive:
            # The loop's first turn, the table full last time, or the entry claimed by another
            # worker at the same time or after it went stale: take a free one.
            self._slot = _claim_slot(self.pid, self._connections, now)
        if self._deferred_since is None:
            return False
        overdue = now - self._deferred_since >= MAX_DEFER
        if not overdue and not self._fewest(now):
            return True
        parked, self._parked, self._deferred_since = self._parked, [], None
        for key in parked:
            self.poller.register(key.fileobj, key.events, key.data)
        if overdue:
            # The connection waited long enough for a less loaded worker: take it.
            self._forced = True
            try:
                for key in parked:
                    key.data(key.fileobj)
            finally:
                self._forced = False
        return False

    def _fewest(self, now: float) -> bool:
        """No other live worker of this server holds fewer connections than this one."""
        mine = self._connections
        for slot in _TABLE:
            if slot.pid and slot.pid != self.pid and slot.connections < mine and now - slot.seen <= STALE:
                return False
        return True

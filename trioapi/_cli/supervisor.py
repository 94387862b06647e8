"""The parent process of ``trioapi run --workers N``: it keeps N workers serving.

The supervisor opens the listening sockets once and hands them to every
worker it spawns, so restarting a worker never closes them (connections
wait in the backlog meanwhile). It

- restarts a worker that dies, with a log line and a backoff that grows
  while workers keep dying soon after they start (0.5 s doubling to 30 s);
- on SIGTERM or SIGINT stops them all: each drains within
  ``--graceful-timeout``; a worker still running 5 s after that is killed;
- on SIGHUP restarts them one by one: a new worker starts, and only once it
  serves is the old one told to drain (so a bad deploy keeps the old ones);
- with ``--reload``, does the same rolling restart when a ``.py`` file
  changes; a worker that cannot load the app (a syntax error saved
  mid-edit) is not restarted until the next change.

A worker that fails to load the app at the first start, without
``--reload``, stops the command with exit code 3: restarting cannot help.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.synchronize import Event
from types import FrameType

from hypercorn.config import Config, Sockets

from trioapi._cli.options import ServeOptions
from trioapi._cli.reload import FileWatcher
from trioapi._cli.worker import run_worker

logger = logging.getLogger("trioapi.server")

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
STABLE_AFTER = 30.0
"""A worker that served this many seconds resets its slot's backoff."""
KILL_AFTER = 5.0
"""Seconds past the graceful timeout after which a draining worker is killed."""
LOOP_INTERVAL = 0.25


@dataclass
class Worker:
    """One worker process and the events the supervisor shares with it."""

    process: SpawnProcess
    stop: Event
    ready: Event
    started: float = field(default_factory=time.monotonic)


@dataclass
class Slot:
    """A place for one worker: its current process and the backoff of its restarts."""

    index: int
    worker: Worker | None = None
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None


class Supervisor:
    """Spawns, watches, restarts and stops the workers of one ``trioapi run``/``dev``."""

    def __init__(self, config: Config, options: ServeOptions) -> None:
        self.config = config
        self.options = options
        self.context: SpawnContext = multiprocessing.get_context("spawn")
        self.sockets: Sockets | None = None
        self.slots = [Slot(index) for index in range(config.workers)]
        self.stopping = False
        self.rolling_requested = False
        self.exit_code = 0
        self.watcher = FileWatcher(options.reload_dirs) if options.reload else None

    def run(self) -> int:
        """Serve until a stop signal; returns the exit code."""
        self.sockets = self.config.create_sockets()
        from trioapi import __version__

        logger.info(
            "trioapi %s: starting %d worker(s) for %s%s (Ctrl+C to quit)",
            __version__,
            len(self.slots),
            self.options.location.describe(),
            ", reloading on changes" if self.watcher else "",
        )
        # Workers inherit an ignored SIGINT: Ctrl-C reaches the whole process
        # group, and only the supervisor should act on it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for slot in self.slots:
            slot.worker = self._spawn()
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hangup)
        try:
            while not self.stopping:
                self._tick()
        finally:
            self._stop_all()
            for sock in (*self.sockets.secure_sockets, *self.sockets.insecure_sockets):
                sock.close()
        return self.exit_code

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            raise KeyboardInterrupt  # a second Ctrl-C: stop without waiting
        logger.info("%s received: stopping the workers", signal.Signals(signum).name)
        self.stopping = True

    def _on_hangup(self, signum: int, frame: FrameType | None) -> None:
        self.rolling_requested = True

    def _spawn(self) -> Worker:
        stop, ready = self.context.Event(), self.context.Event()
        process = self.context.Process(
            target=run_worker,
            kwargs={
                "config": self.config,
                "options": self.options,
                "sockets": self.sockets,
                "stop": stop,
                "ready": ready,
            },
        )
        process.start()
        return Worker(process, stop, ready)

    def _tick(self) -> None:
        live = [slot.worker.process.sentinel for slot in self.slots if slot.worker]
        wait(live, timeout=LOOP_INTERVAL)
        if self.stopping:
            return
        self._reap()
        self._restart_due()
        changed = self.watcher.changed() if self.watcher is not None else []
        if changed:
            logger.info("Changed: %s; restarting the workers", ", ".join(changed[:3]))
        if self.rolling_requested or changed:
            self.rolling_requested = False
            self._rolling_restart()

    def _reap(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            worker = slot.worker
            if worker is None or worker.process.is_alive():
                continue
            worker.process.join()
            slot.worker = None
            code = worker.process.exitcode
            served = worker.ready.is_set()
            if not served and self.watcher is not None:
                logger.error("Worker %d could not start; waiting for a change", slot.index)
            elif not served and not any(s.worker and s.worker.ready.is_set() for s in self.slots):
                logger.error("Worker %d could not start (exit code %s); stopping", slot.index, code)
                self.exit_code = 3
                self.stopping = True
            else:
                if now - worker.started > STABLE_AFTER:
                    slot.backoff = FIRST_BACKOFF
                logger.warning(
                    "Worker %d (pid %s) exited with code %s; restarting in %.1f s",
                    slot.index,
                    worker.process.pid,
                    code,
                    slot.backoff,
                )
                slot.restart_at = now + slot.backoff
                slot.backoff = min(slot.backoff * 2, MAX_BACKOFF)

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.worker is None and slot.restart_at is not None and now >= slot.restart_at:
                slot.restart_at = None
                slot.worker = self._spawn()
                logger.info("Worker %d restarted (pid %s)", slot.index, slot.worker.process.pid)

    def _rolling_restart(self) -> None:
        """Replace each worker by a new one, the old one draining only once the new one serves."""
        for slot in self.slots:
            if self.stopping:
                return
            new = self._spawn()
            if not self._wait_until_ready(new):
                if new.process.is_alive():  # a stop signal came meanwhile
                    self._drain([new])
                    return
                new.process.join()
                if slot.worker is not None:
                    logger.error(
                        "New worker %d could not start; the old one keeps serving", slot.index
                    )
                else:
                    logger.error("Worker %d could not start; waiting for a change", slot.index)
                return
            old, slot.worker = slot.worker, new
            slot.restart_at = None
            if old is not None:
                self._drain([old])
        logger.info("Restarted %d worker(s)", len(self.slots))

    def _wait_until_ready(self, worker: Worker) -> bool:
        while not worker.ready.is_set():
            if not worker.process.is_alive() or self.stopping:
                return worker.ready.is_set()
            wait([worker.process.sentinel], timeout=LOOP_INTERVAL)
        return True

    def _drain(self, workers: list[Worker]) -> None:
        for worker in workers:
            worker.stop.set()
        deadline = time.monotonic() + self.config.graceful_timeout + KILL_AFTER
        for worker in workers:
            worker.process.join(max(deadline - time.monotonic(), 0))
            if worker.process.is_alive():
                logger.warning("Worker pid %s did not stop in time; killing it", worker.process.pid)
                worker.process.kill()
                worker.process.join()

    def _stop_all(self) -> None:
        workers = [slot.worker for slot in self.slots if slot.worker is not None]
        self._drain(workers)
        for slot in self.slots:
            slot.worker = None
        logger.info("Stopped %d worker(s)", len(workers))

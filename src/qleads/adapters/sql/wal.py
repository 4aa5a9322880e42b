"""The WAL checkpoint thread of SQLite file engines: checkpoints off the request path.

In WAL mode SQLite writes every commit to the log and copies the log back into the
database file (a *checkpoint*) inside the commit that takes the log past
``wal_autocheckpoint`` pages, 1,000 by default. On a large file the pages a commit
changed sit far apart, so that copy and its ``fsync`` grow with the file: on a million
leads the two checkpoints of a 1,000-deadline sweep took a third of its time, and a claim
that happens to cross the line waits for one.

:class:`WalCheckpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a daemon thread of
its own instead, every few seconds. A passive checkpoint neither waits for nor blocks
readers and writers, and the thread holds no connection between runs. The commit-time
checkpoint stays, raised to :data:`BACKSTOP_PAGES`, for a log the thread cannot keep
short (a process that writes faster than it checkpoints, or a stopped thread).
``make_engine`` starts one checkpointer per SQLite file engine (:func:`start_checkpoints`)
and :func:`stop_checkpoints` ends it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import urllib.parse
import weakref
from typing import Final

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

__all__ = [
    "BACKSTOP_PAGES",
    "DEFAULT_INTERVAL_S",
    "WalCheckpointer",
    "start_checkpoints",
    "stop_checkpoints",
]

log = logging.getLogger(__name__)

#: ``wal_autocheckpoint`` of the engine's connections while a checkpointer runs: about
#: 40 MB of log (4 KiB pages) before a committing writer checkpoints by itself.
BACKSTOP_PAGES: Final = 10_000
#: How often the thread checkpoints (seconds).
DEFAULT_INTERVAL_S: Final = 1.0


class WalCheckpointer:
    """Passive checkpoints of the SQLite database at ``path``, every ``interval``
    seconds, on a daemon thread (:meth:`start`, :meth:`stop`)."""

    def __init__(self, path: str, interval: float = DEFAULT_INTERVAL_S) -> None:
        if not interval > 0:
            raise ValueError(f"checkpoint interval must be positive, got {interval!r}")
        self.path = path
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"qleads-checkpoint {path}", daemon=True
        )

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """End the thread (idempotent); waits for a checkpoint in progress."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint now: ``(busy, log pages, checkpointed pages)`` as
        SQLite reports them. The file is opened read-write but never created: before the
        application's first connection there is nothing to checkpoint."""
        uri = f"file:{urllib.parse.quote(self.path)}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()
        return int(row[0]), int(row[1]), int(row[2])

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.checkpoint()
            except sqlite3.Error as e:
                # Not there yet, or busy: the next round tries again, and the
                # commit-time backstop still bounds the log.
                log.debug("checkpoint of %s skipped: %s", self.path, e)


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()


def start_checkpoints(engine: Engine, checkpointer: WalCheckpointer) -> None:
    """Run ``checkpointer`` for ``engine`` (a SQLite file engine) until the engine is
    garbage collected or :func:`stop_checkpoints` is called; meanwhile its connections
    checkpoint by themselves only at :data:`BACKSTOP_PAGES`."""

    def backstop(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

    sa_event.listen(engine, "connect", backstop)
    _CHECKPOINTERS[engine] = checkpointer
    weakref.finalize(engine, checkpointer.stop, 0)
    checkpointer.start()


def stop_checkpoints(engine: Engine) -> None:
    """Stop the checkpoint thread ``make_engine`` started for ``engine`` (if any);
    commits checkpoint by themselves again at the backstop size. ``close()`` of a
    repository made by ``from_url`` calls it."""
    checkpointer = _CHECKPOINTERS.pop(engine, None)
    if checkpointer is not None:
        checkpointer.stop()

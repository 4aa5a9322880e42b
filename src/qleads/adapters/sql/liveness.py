"""Pooled PostgreSQL connections are checked before each use, without a round trip.

When the server restarts (or a failover, a proxy or an idle timeout closes connections),
every connection the pool holds is dead, and without a check the first statement on each
of them fails: not only the calls in flight at the restart, but the next call of every
pooled connection after it. SQLAlchemy's ``pool_pre_ping`` prevents that with a
``SELECT 1`` at each checkout, which is one round trip more for every unit of work, a
directory read and an outbox call; a claim would take three instead of two.

This check costs a system call instead. A connection resting in the pool has nothing to
read: every unit of work reads its results to the end before it gives the connection
back. So a pooled connection whose socket has something to read has heard from the
server out of turn, and on an idle session that is the server closing it (its
"terminating connection" message and the end of the stream). The ``checkout`` listener
raises :class:`~sqlalchemy.exc.DisconnectionError` for such a connection, and the pool
replaces it with a new one before lending it out (SQLAlchemy's pooling chapter,
"Disconnect Handling - Pessimistic"). A connection is checked from its second checkout
on; the first follows its connect, which read everything the server sent.

What the check cannot see is a server that vanished without closing its connections (a
host switched off, a network cut): the next statement on such a connection fails as one
in flight does, with :class:`~qleads.errors.StorageError`, and the pool drops it.
"""

from __future__ import annotations

import select
from typing import Any, Final

from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

__all__ = ["check_before_use", "check_connections", "closed_by_server"]

#: Set in a pool entry's ``info`` (which is emptied when its connection is replaced)
#: after its first checkout.
_LENT: Final = "qleads_lent"


def check_connections(engine: Engine) -> None:
    """Check ``engine``'s pooled connections before each use (PostgreSQL; once per
    engine, and a no-op on other databases)."""
    if engine.dialect.name != "postgresql":
        return
    if not sa_event.contains(engine, "checkout", check_before_use):
        sa_event.listen(engine, "checkout", check_before_use)


def closed_by_server(connection: Any) -> bool:
    """Whether the psycopg ``connection``, idle in the pool, is closed or has been
    closed by the server (its socket has something to read)."""
    if connection.closed or connection.broken:
        return True
    fd = connection.fileno()
    if not hasattr(select, "poll"):  # pragma: no cover - Windows has no poll()
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()  # select() would refuse descriptors above FD_SETSIZE
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def check_before_use(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """The pool's ``checkout`` listener that :func:`check_connections` installs (public
    so that a benchmark can remove it, ``bench/checkout.py``)."""
    info = record.info
    if not info.get(_LENT):
        info[_LENT] = True
        return
    if closed_by_server(dbapi_connection):
        raise sa_exc.DisconnectionError("the database server closed the pooled connection")

"""Instants: the one guard every instant passes on its way into qleads (aware, then UTC).

qleads keeps every instant as an aware ``datetime`` in UTC (R9, R13): deadlines are
compared across calendars in different time zones, history is ordered by them, and a
naive ``datetime`` names no instant at all. A use case's arguments, the clock's reading,
a calendar's starting point and every instant a storage adapter binds all go through
:func:`require_utc`, so the rule and its error are the same wherever an instant enters.
"""

from __future__ import annotations

import datetime as dt

from qleads.errors import InvalidInput

__all__ = ["require_utc"]

_UTC = dt.UTC


def require_utc(name: str, value: dt.datetime) -> dt.datetime:
    """``value`` as an aware ``datetime`` in UTC.

    Raises :class:`~qleads.errors.InvalidInput` with ``field=name`` when ``value`` is not
    a ``datetime`` or is naive (it has no UTC offset): nothing is guessed. An instant
    already in UTC comes back as it is, which is the common case and costs two checks;
    storage adapters call this for every instant they write.
    """
    if not isinstance(value, dt.datetime):
        raise InvalidInput(name, f"needs a datetime, got {type(value).__name__}")
    if value.tzinfo is _UTC:
        return value
    if value.utcoffset() is None:
        raise InvalidInput(name, f"needs a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(_UTC)

"""Deprecated home of SQLite's WAL checkpoint thread, kept for one release: it moved to
:mod:`qleads.adapters.sql.wal`, and this module only re-exports it. Importing it warns
(:class:`DeprecationWarning`); it goes in qleads 0.3.
"""

import warnings

from qleads.adapters.sql.wal import BACKSTOP_PAGES, DEFAULT_INTERVAL_S, WalCheckpointer

__all__ = ["BACKSTOP_PAGES", "DEFAULT_INTERVAL_S", "WalCheckpointer"]

warnings.warn(
    "qleads.adapters.checkpoint is deprecated and goes in qleads 0.3: import from "
    "qleads.adapters.sql.wal",
    DeprecationWarning,
    stacklevel=2,
)

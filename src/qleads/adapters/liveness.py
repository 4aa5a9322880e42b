"""Deprecated home of the check of pooled PostgreSQL connections, kept for one release:
it moved to :mod:`qleads.adapters.sql.liveness`, and this module only re-exports it.
Importing it warns (:class:`DeprecationWarning`); it goes in qleads 0.3.
"""

import warnings

from qleads.adapters.sql.liveness import check_before_use, check_connections, closed_by_server

__all__ = ["check_before_use", "check_connections", "closed_by_server"]

warnings.warn(
    "qleads.adapters.liveness is deprecated and goes in qleads 0.3: import from "
    "qleads.adapters.sql.liveness",
    DeprecationWarning,
    stacklevel=2,
)

"""Deprecated home of the SQL outbox, kept for one release: it moved to
:mod:`qleads.adapters.sql.outbox` (and its digest table to
:mod:`qleads.adapters.sql.schema`); this module only re-exports them. Importing it warns
(:class:`DeprecationWarning`); it goes in qleads 0.3.
"""

import warnings

from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.adapters.sql.schema import digest_table

__all__ = ["SqlAlchemyOutbox", "digest_table"]

warnings.warn(
    "qleads.adapters.sqlalchemy_outbox is deprecated and goes in qleads 0.3: import "
    "SqlAlchemyOutbox from qleads.adapters.sql.outbox",
    DeprecationWarning,
    stacklevel=2,
)

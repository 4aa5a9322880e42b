"""Deprecated home of qleads' schema migrations, kept for one release: they moved to
:mod:`qleads.adapters.sql.migrations` (same revisions, same version table
``qleads_alembic_version``), and this package only re-exports its functions. Importing it
warns (:class:`DeprecationWarning`); it goes in qleads 0.3.
"""

import warnings

from qleads.adapters.sql.migrations import (
    Upgrade,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)

__all__ = ["Upgrade", "alembic_config", "current_revision", "head_revision", "upgrade"]

warnings.warn(
    "qleads.adapters.migrations is deprecated and goes in qleads 0.3: import from "
    "qleads.adapters.sql.migrations",
    DeprecationWarning,
    stacklevel=2,
)

"""The admin's ORM read models: qleads' Core tables mapped for Flask-Admin's model views.

They have a declarative base of their own (:class:`AdminReadBase`); the frozen domain
classes stay unmapped. The columns come from the tables; the annotations only tell the
type checker what the portal's code reads. The directory rows may be edited here (reps, installers,
territories, sources); leads and outbox rows are read-only, because every change of
them goes through the library's service (R10, R12).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from qleads.adapters.sql.schema import (
    installer_table,
    lead_table,
    outbox_table,
    rep_table,
    source_table,
    territory_prefix_table,
    territory_table,
)

__all__ = [
    "AdminReadBase",
    "InstallerRow",
    "LeadRow",
    "OutboxRow",
    "RepRow",
    "SourceRow",
    "TerritoryPrefixRow",
    "TerritoryRow",
]


class AdminReadBase(DeclarativeBase):
    """Declarative base of the admin's ORM read-models (qleads' tables, mapped here)."""


class RepRow(AdminReadBase):
    __table__ = rep_table
    id: Mapped[str]
    name: Mapped[str]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class InstallerRow(AdminReadBase):
    __table__ = installer_table
    id: Mapped[str]
    name: Mapped[str]
    rep_id: Mapped[str]
    rep: Mapped[RepRow] = relationship(RepRow, lazy="joined")

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class TerritoryPrefixRow(AdminReadBase):
    __table__ = territory_prefix_table
    prefix: Mapped[str]

    def __str__(self) -> str:
        return str(self.prefix)


class TerritoryRow(AdminReadBase):
    __table__ = territory_table
    id: Mapped[str]
    name: Mapped[str]
    rep: Mapped[RepRow] = relationship(RepRow, lazy="joined")
    prefixes: Mapped[list[TerritoryPrefixRow]] = relationship(
        TerritoryPrefixRow,
        cascade="all, delete-orphan",
        order_by=territory_prefix_table.c.prefix,
        lazy="selectin",
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class SourceRow(AdminReadBase):
    __table__ = source_table
    id: Mapped[str]
    name: Mapped[str]
    token_hash: Mapped[str | None]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class LeadRow(AdminReadBase):
    """Read-only: every change of a lead goes through ``LeadDesk`` (R12)."""

    __table__ = lead_table
    id: Mapped[int]
    name: Mapped[str]
    postal_code: Mapped[str]
    city: Mapped[str]
    received_at: Mapped[dt.datetime]
    status: Mapped[str]
    territory_id: Mapped[str | None]


class OutboxRow(AdminReadBase):
    """Read-only: delivery state changes go through the ``Outbox`` port (R10)."""

    __table__ = outbox_table
    key: Mapped[str]
    state: Mapped[str]

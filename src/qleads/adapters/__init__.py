"""Adapters: one entry per technology (``memory``, ``sql``, ``smtp``, ``clock``).

``sqlalchemy``, ``sqlalchemy_outbox``, ``checkpoint``, ``liveness`` and ``migrations``
are the SQL adapter's former homes, kept for one release as deprecated re-exports of
:mod:`qleads.adapters.sql`.
"""

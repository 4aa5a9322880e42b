"""Adapters: one flat module per technology (``memory``, ``sqlalchemy``, ``smtp``, ``clock``)."""

"""Runnable examples built on qleads (see ``examples/admin_app``: the reference portal)."""

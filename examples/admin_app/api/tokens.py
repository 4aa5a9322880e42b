"""The lead sources' bearer tokens: issued once, stored only as their SHA-256 (R12).

An admin issues a token for a lead source (``admin.sources``); the source sends it as
``Authorization: Bearer <token>`` and the intake API finds the source by its digest
(``Directory.source_by_token``), so a leaked database does not leak a usable token.
"""

from __future__ import annotations

import secrets
from typing import Protocol

__all__ = ["TokenStore", "create_source_token"]

_TOKEN_PREFIX = "qls_"  # noqa: S105 - a public marker, not a secret


class TokenStore(Protocol):
    """What issuing a token needs from the directory (``SqlAlchemyDirectory`` has it)."""

    def set_source_token(self, source_id: str, token: str | None) -> None: ...


def create_source_token(directory: TokenStore, source_id: str) -> str:
    """Issue a new bearer token for the lead source ``source_id`` and return it.

    The token is returned exactly once; the directory keeps only its SHA-256, and the
    source's previous token stops working at once (rotation). Raises
    :class:`~qleads.errors.InvalidInput` for an unknown source.
    """
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    directory.set_source_token(source_id, token)
    return token

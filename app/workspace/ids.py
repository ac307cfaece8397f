"""Workspace ids: 128 random bits, URL-safe, never derived from anything a visitor could guess."""

from __future__ import annotations

import re
import secrets

ID_BYTES = 16  # 128 bits
_ID = re.compile(r"[A-Za-z0-9_-]{22}")  # base64url of 16 bytes, without padding


def new_workspace_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_workspace_id(text: object) -> bool:
    """Whether `text` has the form of an id (anything else never reaches the store: ids are
    never paths, SQL or log text)."""
    return isinstance(text, str) and _ID.fullmatch(text) is not None

"""Who a username and password belong to: the one check behind every password login the emulator
serves (the OAuth password flow in ``routes/oauth.py`` and SOAP ``login()`` in ``soap/calls.py``), so
the two flows can never disagree on what a valid login is."""

from __future__ import annotations

import hmac
from typing import Any

from airflow_provider_sfpy.emulator.state import EmulatorState


def password_login_user(state: EmulatorState, username: str, password: str) -> dict[str, Any] | None:
    """The active user these credentials (password with the security token appended) belong to, else
    ``None``. The username is matched case-insensitively, as Salesforce does; the password in constant time."""
    config = state.config
    expected = config.password + config.security_token
    password_ok = hmac.compare_digest(password.encode(), expected.encode())
    if username.lower() != config.username.lower() or not password_ok:
        return None
    user = state.store.user_by_username(username)
    return user if user is not None and user["IsActive"] else None

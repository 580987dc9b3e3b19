"""A Jupyter identity provider with several named users (one token each), so the
authorization matrix can tell an admin, a host, a member and an outsider apart."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User

USERS = {"admin", "host", "member", "outsider"} | {f"student{n}" for n in range(40)}


def token_of(user: str) -> str:
    return f"token-of-{user}"


class NamedTokenUsers(IdentityProvider):
    def get_user(self, handler: Any) -> User | None:
        header = handler.request.headers.get("Authorization", "")
        token = header.removeprefix("token ").strip() or handler.get_argument("token", "")
        for user in USERS:
            if token == token_of(user):
                return User(username=user, name=user, display_name=user)
        return None

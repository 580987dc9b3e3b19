"""Classroom-only hub tokens for users' servers, minted by the hub (used in jupyterhub_config.py).

The classroom service must never hold a token that could enter a user's Jupyter server. A
single-user server's own ``$JUPYTERHUB_API_TOKEN`` holds ``access:servers!server``, and the
token JupyterLab's page holds (the server's OAuth token) always includes access to that server
whatever ``Spawner.oauth_client_allowed_scopes`` says; so neither may be sent to the service.
Instead the hub gives each server, at spawn, one more token of its user whose only scope is
``access:services!service=<name>``, in ``$JUPYTER_CLASSROOM_HUB_TOKEN``; the server's kernels
(``Client()``) and its JupyterLab pages (through PageConfig) send that one.

It is minted inside the hub process (``Spawner.environment`` values may be callables of the
spawner), so no token anywhere needs the ``tokens`` scope to mint it, and revoked when the
server stops (``Spawner.post_stop_hook``)::

    from jupyter_classroom.hub_tokens import ClassroomTokens

    tokens = ClassroomTokens("classroom")
    c.Spawner.environment = {
        "JUPYTER_CLASSROOM_URL": "https://hub.example.org/services/classroom/",
        "JUPYTER_CLASSROOM_HUB_TOKEN": tokens.mint,
    }
    c.Spawner.post_stop_hook = tokens.revoke

Only the hub imports this module; it needs jupyterhub's database objects through the spawner.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("jupyter_classroom.hub_tokens")


class ClassroomTokens:
    """Mints and revokes each server's classroom token (scope ``access:services!service=…``)."""

    def __init__(self, service: str = "classroom", expires_in: int | None = None) -> None:
        self.service = service
        self.scopes = [f"access:services!service={service}"]
        # None: the token lives until the server stops (like the server's own token)
        self.expires_in = expires_in

    def note(self, spawner: Any) -> str:
        """The token's note in the hub: which server it was minted for."""
        return (
            f"jupyter_classroom: {self.service} token for server {spawner.user.name}/{spawner.name}"
        )

    def mint(self, spawner: Any) -> str:
        """A ``Spawner.environment`` value: a new classroom-only token of the spawner's user.

        Tokens minted earlier for the same server (one that stopped without the stop hook)
        are revoked first, unless the spawner resumes its old environment (``will_resume``).
        The user must hold the scope (the ``user`` role in the documented config); the hub
        refuses to mint it otherwise and the server does not start, saying why.
        """
        if not spawner.will_resume:
            self._revoke(spawner)
        token: str = spawner.user.new_api_token(
            note=self.note(spawner), scopes=self.scopes, expires_in=self.expires_in
        )
        return token

    def revoke(self, spawner: Any) -> None:
        """A ``Spawner.post_stop_hook``: revoke this server's classroom tokens."""
        if not spawner.will_resume:
            self._revoke(spawner)

    def _revoke(self, spawner: Any) -> None:
        note = self.note(spawner)
        db = spawner.user.db
        stale = [token for token in spawner.user.api_tokens if token.note == note]
        for token in stale:
            db.delete(token)
        if stale:
            db.commit()
            server = f"{spawner.user.name}:{spawner.name}" if spawner.name else spawner.user.name
            log.info("classroom: revoked %d classroom token(s) of %s", len(stale), server)

"""JupyterHub service mode: one room server for every user of a hub.

On a hub each user has a single-user server, so a room server inside each would be shared by
nobody. ``jupyter classroom`` run as a hub service (at ``/services/classroom/``) is shared by
all: identities are hub usernames, proven by hub tokens limited to this service (the token the
hub config mints for each user's server, ``$JUPYTER_CLASSROOM_HUB_TOKEN``, which kernels and
pages send in the Socket.IO ``auth`` payload; see :mod:`jupyter_classroom.hub_tokens`) or the
service's own OAuth cookie. A token that could also enter users' Jupyter servers is refused:
whoever runs the service must never hold one. Hub admins, and members of one hub group, are
the instructors.

:class:`ClassroomApp` installs :class:`HubIdentityProvider` and :class:`HubAuthorizer` when it
starts the server as a service (see :func:`service_server_config`); the authorizer allows the
classroom and nothing else, so the service's Jupyter server runs no kernels, files or
terminals for hub users.
"""

from __future__ import annotations

import html
import os
from typing import Any
from urllib.parse import urlsplit

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider
from tornado import web
from traitlets import Bool, Instance

from .names import HUB_SERVICE_PREFIX_ENV, HUB_SERVICE_URL_ENV
from .policy import HubRoles
from .server.events import ConnectRefused
from .server.handler import AUTH_RESOURCE

HOME_PATH = "/classroom/"  # the service's landing page (and where the hub's link leads)
# Scopes (before any `!filter`) that let a token's holder enter or take over users' Jupyter
# servers: the service refuses tokens holding any of them, so it never holds such a token.
SERVER_SCOPES = frozenset({"access:servers", "servers", "admin:servers", "tokens", "inherit"})
SETUP_HINT = "see the classroom's JupyterHub set-up (docs/jupyterhub.md)"


def service_server_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``ServerApp`` settings for a hub service, from the environment the hub gives it.

    The hub routes ``$JUPYTERHUB_SERVICE_PREFIX`` to ``$JUPYTERHUB_SERVICE_URL``: serve that
    prefix there. The proxy keeps the public Host header, so the loopback-only Host check
    is off; hub tokens guard every request instead.
    """
    env = os.environ if environ is None else environ
    prefix = env.get(HUB_SERVICE_PREFIX_ENV)
    if not prefix:
        raise RuntimeError(
            f"a JupyterHub service needs ${HUB_SERVICE_PREFIX_ENV} (and ${HUB_SERVICE_URL_ENV}, "
            "$JUPYTERHUB_API_TOKEN, $JUPYTERHUB_API_URL): set them for an external service"
        )
    config: dict[str, Any] = {
        "base_url": prefix,
        "identity_provider_class": HubIdentityProvider,
        "authorizer_class": HubAuthorizer,
        "allow_remote_access": True,
        "open_browser": False,
        "terminals_enabled": False,
        "default_url": HOME_PATH,
    }
    url = urlsplit(env.get(HUB_SERVICE_URL_ENV, ""))
    if url.hostname:
        config["ip"] = url.hostname
    if url.port:
        config["port"] = url.port
        config["port_retries"] = 0  # the hub routes to this port and no other
    return config


class HubUser(User):
    """A hub user, with what the hub says about them (``hub``: the hub's user model)."""

    hub: dict[str, Any]

    def __init__(self, model: dict[str, Any]) -> None:
        info = model.get("user_info") or {}
        name = str(model["name"])
        super().__init__(username=name, name=str(info.get("name") or name))
        self.hub = model

    @property
    def admin(self) -> bool:
        return bool(self.hub.get("admin"))

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(self.hub.get("groups") or ())


class HubOAuthCallback(HubOAuthCallbackHandler):
    """Completes a browser's OAuth with the hub and sets the service's cookie.

    Reached before anyone is authenticated (it is how they become so): open by design, as
    Jupyter's own login page is. It checks the OAuth state cookie and the code with the hub.
    """

    def initialize(self, hub_auth: HubOAuth) -> None:
        self.hub_auth = hub_auth

    @allow_unauthenticated
    async def get(self) -> None:
        await super().get()


class ServiceHomeHandler(JupyterHandler):
    """The service's page: who you are to the classroom, your rooms, the way back to the hub.

    A browser logs in through it (the hub's OAuth); ``Accept: application/json`` gets the
    same facts as JSON.
    """

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        user = self.current_user
        room_server = self.settings["classroom_room_server"]
        admin = room_server.policy.is_admin(user.username)
        may_create = room_server.policy.may_create(user.username)
        rooms = await room_server.rooms.owned_rooms(user.username)
        facts = {
            "service": "jupyter_classroom",
            "user": user.username,
            "admin": admin,
            "may_create": may_create,
            "groups": sorted(getattr(user, "groups", ())),
            "rooms": [{"id": r["id"], "title": r["title"], "members": r["members"]} for r in rooms],
        }
        if "application/json" in self.request.headers.get("Accept", ""):
            self.finish(facts)
            return
        hub_home = url_path_join(self.identity_provider.hub_auth.hub_prefix, "home")  # type: ignore[attr-defined]
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(home_page(facts, hub_home))


def home_page(facts: dict[str, Any], hub_home: str) -> str:
    """The service's page for a person: plain HTML, every value escaped."""
    name = html.escape(facts["user"])
    if facts["admin"]:
        role = "a hub admin: you may create rooms and send announcements."
    elif facts["may_create"]:
        role = "an instructor: you may create rooms."
    else:
        role = "a participant: you may join rooms (with their password); instructors create them."
    if facts["rooms"]:
        items = "".join(
            f"<li><b>{html.escape(r['title'])}</b>: {int(r['members'])} present</li>"
            for r in facts["rooms"]
        )
        rooms = f"<p>Rooms you opened:</p><ul class='jc-home-rooms'>{items}</ul>"
    else:
        rooms = "<p>You have no open rooms.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Classroom</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5}}</style>
</head><body>
<h1>Classroom</h1>
<p>Signed in as <b class="jc-home-user">{name}</b>, {role}</p>
{rooms}
<p>The classroom lives in your notebooks: in JupyterLab, run
<code>from jupyter_classroom import Lobby; Lobby()</code> to see the rooms and join one.</p>
<p><a class="jc-home-hub" href="{html.escape(hub_home)}">Back to the hub</a></p>
</body></html>
"""


class HubIdentityProvider(JupyterHubIdentityProvider):
    """Identifies hub users by their hub tokens, for a service built on Jupyter Server.

    JupyterHub's own provider for single-user servers, with the classroom's rules: it accepts
    users (not services) holding the service's access scope
    (``access:services!service=<name>``), and refuses tokens that could also enter or control
    users' servers (:data:`SERVER_SCOPES`), saying why (:class:`ConnectRefused`). Inherited:
    ``hub_auth`` (a ``HubOAuth`` configured from the service's environment), the login
    redirect to the hub's OAuth (``_patch_get_login_url``), no security warnings.
    """

    classroom_roles = Instance(HubRoles, ())
    need_token = Bool(False)  # no Jupyter token: hub tokens only

    @property
    def token(self) -> str:
        """No Jupyter token. (JupyterHub's provider answers its API token here, which Jupyter
        Server writes into its runtime files and URLs; the service's must stay with it.)"""
        return ""

    async def get_user(self, handler: web.RequestHandler) -> HubUser | None:
        if hasattr(handler, "_classroom_hub_user"):
            return handler._classroom_hub_user
        handler._classroom_hub_user = None  # type: ignore[attr-defined]
        self._patch_get_login_url(handler)
        try:
            model = await self.hub_auth.get_user(handler, sync=False)
        except web.HTTPError as error:  # the hub did not answer
            self.log.warning("classroom: cannot check a token with the hub: %s", error)
            return None
        if not model:
            return None
        try:
            user = self._accept(model)
        except ConnectRefused as refused:
            # a socket's connect reports it (server/handler.py); a page gets a 403
            handler._classroom_refusal = refused  # type: ignore[attr-defined]
            message = refused.message

            def forbid(*args: Any, **kwargs: Any) -> None:
                raise web.HTTPError(403, message)

            handler.redirect = forbid  # type: ignore[method-assign]  # not back to login
            return None
        handler._classroom_hub_user = user  # type: ignore[attr-defined]
        return user

    async def classroom_user_for_token(self, token: str) -> HubUser:
        """The hub user a token from a socket's ``auth`` payload belongs to.

        Asked of the hub (``HubAuth.user_for_token``) and cached as HubAuth caches
        (``cache_max_age``, 5 minutes). Raises :class:`ConnectRefused` saying why not.
        """
        try:
            model = await self.hub_auth.user_for_token(token, sync=False)
        except web.HTTPError as error:
            raise ConnectRefused(
                "the classroom could not check your sign-in with the hub; try again shortly",
                f"the hub did not answer a token check: {error}",
            ) from None
        if not model:
            raise ConnectRefused(
                "the hub does not know your classroom token (expired or revoked): restart "
                "your server from the hub's home page, then reload this page",
                "a token the hub does not know",
            )
        return self._accept(model)

    def _accept(self, model: dict[str, Any]) -> HubUser:
        """A hub user whose token may be used here; else :class:`ConnectRefused`."""
        name = str(model.get("name", "?"))
        if model.get("kind", "user") != "user":
            raise ConnectRefused(
                "the classroom takes users' tokens, not a hub service's",
                f"a token of hub service {name}",
            )
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            needed = max(self.hub_auth.access_scopes, key=len)  # access:services!service=…
            raise ConnectRefused(
                f"{name} may not use this classroom: the hub gives this token no {needed} "
                f"({SETUP_HINT})",
                f"hub user {name}'s token lacks {sorted(self.hub_auth.access_scopes)}",
            )
        risky = sorted(
            scope for scope in model.get("scopes", ()) if scope.split("!")[0] in SERVER_SCOPES
        )
        if risky:
            raise ConnectRefused(
                "this hub token could also enter Jupyter servers, so the classroom does not "
                f"accept it: use a token limited to the classroom ({SETUP_HINT})",
                f"hub user {name}'s token also holds {', '.join(risky)}",
            )
        user = HubUser(model)
        self.classroom_roles.record(user.username, user.admin, user.groups)
        return user

    def get_handlers(self) -> list[tuple[str, object]]:
        return [
            ("/oauth_callback", HubOAuthCallback, {"hub_auth": self.hub_auth}),  # type: ignore[list-item]
            (HOME_PATH, ServiceHomeHandler),
        ]

    @property
    def login_available(self) -> bool:
        return False

    @property
    def logout_available(self) -> bool:
        return False


class HubAuthorizer(Authorizer):
    """Allows hub users the classroom, and nothing else this Jupyter server could do."""

    def is_authorized(
        self, handler: JupyterHandler, user: User, action: str, resource: str
    ) -> bool:
        return resource == AUTH_RESOURCE and isinstance(user, HubUser)

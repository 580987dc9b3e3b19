"""Who may do what on the server: the questions the room server asks about a user.

The room server asks a :class:`Policy` when a socket connects (and records the answers in
its :class:`~jupyter_classroom.rooms.Identity`). Two answer them:

- :class:`StaticPolicy`: the configured ``ClassroomApp.admin_users`` / ``instructor_users``;
- :class:`HubPolicy`: a JupyterHub service's, which adds what the hub says (hub admins are
  admins; they and the members of one hub group are instructors), as
  :class:`HubRoles` recorded it when each user last authenticated.

Pure logic, importable without JupyterHub.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class Policy(Protocol):
    """The server's rules about a user (a username as authentication decided it)."""

    def is_admin(self, user: str) -> bool:
        """May use the server-admin events (``server:announce``)."""
        ...

    def may_create(self, user: str) -> bool:
        """May open rooms (``room:create``; ``room:list`` tells the lobby)."""
        ...

    def is_instructor(self, user: str) -> bool:
        """May open the rooms kept in reserve (``Limits.room_reserve``), which others may not."""
        ...


@dataclass(frozen=True)
class StaticPolicy:
    """Roles from configured usernames.

    ``admin_users`` empty: everyone is an admin. ``instructor_users`` None: everyone may
    create rooms, yet only admins take the reserved rooms; a set (even an empty one): admins
    and those users may create, and take the reserve.
    """

    admin_users: frozenset[str] = frozenset()
    instructor_users: frozenset[str] | None = None

    @classmethod
    def for_server(
        cls,
        admin_users: Iterable[str],
        instructor_users: Iterable[str] | None,
        *,
        owner: str,
        one_person: bool,
    ) -> StaticPolicy:
        """The policy of a server that is no hub service. With no ``admin_users``, a server
        of one person (Jupyter's token or password login) makes everyone an admin, since
        everyone there is its owner; under an identity provider that names several users, the
        ``owner`` (``kernel_user``) alone is."""
        admins = frozenset(admin_users)
        if not admins and not one_person:
            admins = frozenset({owner})
        instructors = None if instructor_users is None else frozenset(instructor_users)
        return cls(admins, instructors)

    def is_admin(self, user: str) -> bool:
        return not self.admin_users or user in self.admin_users

    def may_create(self, user: str) -> bool:
        return self.instructor_users is None or self.is_instructor(user)

    def is_instructor(self, user: str) -> bool:
        return self.is_admin(user) or (
            self.instructor_users is not None and user in self.instructor_users
        )


class HubRoles:
    """What the hub said about each user when they last authenticated: admin, groups.

    Filled by the hub service's identity provider (:mod:`jupyter_classroom.hub`) when it
    identifies a request, read when the socket of that request connects (the hub's answers
    are cached for ``HubAuth.cache_max_age``).
    """

    def __init__(self) -> None:
        self._users: dict[str, tuple[bool, frozenset[str]]] = {}

    def record(self, username: str, admin: bool, groups: Iterable[str]) -> None:
        self._users[username] = (admin, frozenset(groups))

    def is_admin(self, username: str) -> bool:
        return self._users.get(username, (False, frozenset()))[0]

    def in_group(self, username: str, group: str) -> bool:
        return group in self._users.get(username, (False, frozenset()))[1]


@dataclass(frozen=True)
class HubPolicy:
    """A JupyterHub service's roles: hub admins (and ``admin_users``) are admins; they, the
    members of ``instructor_group`` and ``instructor_users`` are instructors, who alone may
    create rooms. Nobody is an admin or an instructor by default."""

    roles: HubRoles
    instructor_group: str
    admin_users: frozenset[str] = frozenset()
    instructor_users: frozenset[str] = frozenset()

    def is_admin(self, user: str) -> bool:
        return user in self.admin_users or self.roles.is_admin(user)

    def may_create(self, user: str) -> bool:
        return self.is_instructor(user)

    def is_instructor(self, user: str) -> bool:
        return (
            self.is_admin(user)
            or user in self.instructor_users
            or self.roles.in_group(user, self.instructor_group)
        )

"""``Settings``: the one object ``ClassroomApp`` builds from its traits. Each default is
written once (in Settings, Limits or Quotas) and each trait's value reaches the server."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_classroom import protocol as p
from jupyter_classroom.server.app import ClassroomApp
from jupyter_classroom.server.settings import Settings

# ClassroomApp trait -> where its value lives in Settings
TRAITS = {
    **{
        name: f"limits.{name}"
        for name in (
            "max_rooms", "max_rooms_per_user", "max_members", "chat_backlog", "max_board_ops",
            "join_failures", "join_lockout", "join_failures_per_address", "ticket_ttl",
            "max_board_bytes", "max_image_bytes_per_member", "room_reserve",
        )
    },
    "max_title": "limits.title",
    "max_chat_text": "limits.chat_text",
    "max_points": "limits.points",
    **{
        name: f"quotas.{name}"
        for name in (
            "ops_per_second", "chats_per_second", "media_per_second", "signals_per_second",
            "joins_per_second", "bytes_per_second", "bytes_burst", "tickets_per_second",
            "ticket_burst", "max_sockets_per_user", "max_send_buffer",
        )
    },
    **{
        name: name
        for name in (
            "max_publishers", "max_message_size", "slow_grace", "extend_window",
            "empty_room_ttl", "empty_unlisted_room_ttl", "process_ttl", "gc_young_threshold",
            "hub_instructor_group",
        )
    },
}  # fmt: skip


def lookup(settings: Settings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


def settings_of(config: dict[str, Any], *, one_person: bool = True, hub: bool = False) -> Settings:
    app = ClassroomApp(config=Config({"ClassroomApp": config}))
    return app.make_settings(one_person=one_person, hub=hub)


def changed(value: Any) -> Any:
    """Another value of the same kind (lower: some traits are capped by others)."""
    if isinstance(value, str):
        return value + "-changed"
    return value - 1 if isinstance(value, int) else value / 2


def test_every_trait_defaults_to_its_settings_default() -> None:
    defaults = Settings()
    traits = ClassroomApp.class_traits()
    for trait, path in TRAITS.items():
        assert traits[trait].default() == lookup(defaults, path), trait
    assert lookup(settings_of({}), "limits") == defaults.limits
    assert settings_of({}).quotas == defaults.quotas


@pytest.mark.parametrize("trait", sorted(TRAITS))
def test_a_changed_trait_reaches_the_settings(trait: str) -> None:
    value = changed(lookup(Settings(), TRAITS[trait]))
    settings = settings_of({trait: value})
    assert lookup(settings, TRAITS[trait]) == value
    others = {t: path for t, path in TRAITS.items() if t != trait}
    assert all(lookup(settings, path) == lookup(Settings(), path) for path in others.values())


def test_settings_decide_what_depends_on_the_server() -> None:
    people = {"admin_users": ["ops"], "instructor_users": ["teacher"], "kernel_user": "owner"}
    settings = settings_of(people)
    assert settings.admin_users == {"ops"} and settings.instructor_users == {"teacher"}
    assert settings.kernel_user == "owner" and settings.kernel_token  # a generated one
    assert settings_of({}).instructor_users is None  # everyone may create
    # display names: chosen on a server of one person, unless configured
    assert settings_of({}).allow_display_name is True
    assert settings_of({}, one_person=False).allow_display_name is False
    assert settings_of({}, hub=True).allow_display_name is False
    assert settings_of({"allow_display_name": True}, hub=True).allow_display_name is True
    # a hub service takes no kernel token
    assert settings_of({}, hub=True).kernel_token == ""
    # the protocol's limits and other traits cap some values
    capped = settings_of(
        {"max_title": p.MAX_TITLE + 1, "max_rooms": 3, "empty_unlisted_room_ttl": 9e9}
    )
    assert capped.limits.title == p.MAX_TITLE and capped.limits.room_reserve == 3
    assert capped.empty_unlisted_room_ttl == capped.empty_room_ttl
    ice = [{"urls": "stun:stun.example.org"}]
    assert settings_of({"ice_servers": ice}).ice_servers == tuple(ice)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().max_publishers = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "classroom_config", [{"max_title": 8, "chats_per_second": 0.01, "instructor_users": []}]
)
async def test_changed_traits_reach_the_running_server(server: Any, connect: Any) -> None:
    settings = server.app.classroom_settings
    assert settings.limits.title == 8 and settings.quotas.chats_per_second == 0.01
    peer = await connect("alice")
    # a single-user server without admin_users: everyone is an admin, so may create although
    # instructor_users is empty
    assert (await peer.ok("room:list"))["can_create"] is True
    assert await peer.error("room:create", {"title": "nine char"}) == "too_large"
    room_id = (await peer.create("eight ch"))["room"]["id"]
    # a burst of 4 x 0.01 chats: the first message passes, the next waits 100 s
    await peer.ok("chat:send", {"room_id": room_id, "text": "first"})
    assert await peer.error("chat:send", {"room_id": room_id, "text": "second"}) == "rate_limited"

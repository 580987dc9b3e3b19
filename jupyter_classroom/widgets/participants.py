"""The participants panel: who is here, their roles and colours; the host's controls."""

from __future__ import annotations

import html
from typing import Any

from ipywidgets import HTML, Button, HBox, Layout, VBox

from ..client import Client
from ..protocol import Event
from ._runtime import ClientListeners, describe, submit


class Participants(VBox):
    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        self.client = client
        self.room_id = room_id
        self.status = HTML()
        self.close_button = Button(description="Close room", icon="times", button_style="danger")
        self.close_button.on_click(self._on_close_clicked)
        self._confirm_close = False
        self._media: dict[str, tuple[bool, bool]] = {}  # member -> (audio, video), rtc:media
        self._listeners = ClientListeners(
            client,
            (Event.ROOM_MEMBER_JOINED, self._refresh),
            (Event.ROOM_MEMBER_LEFT, self._refresh),
            (Event.ROOM_UPDATED, self._refresh),
            (Event.ROOM_CLOSED, self._refresh),
            ("resync", self._refresh),
            (Event.RTC_MEDIA, self._on_media),
        )
        super().__init__(**kwargs)
        self.add_class("jc-participants")
        self._refresh()

    def _request(self, event: str, payload: dict[str, Any]) -> None:
        def refused(error: BaseException) -> None:
            self.status.value = html.escape(describe(error))

        submit(self.client, self.client.connection.request(event, payload), on_error=refused)

    def kick(self, member_id: str) -> None:
        self._request(Event.ROOM_KICK, {"room_id": self.room_id, "member_id": member_id})

    def make_host(self, member_id: str) -> None:
        self._request(Event.ROOM_UPDATE, {"room_id": self.room_id, "host": member_id})

    def close_room(self) -> None:
        self._request(Event.ROOM_CLOSE, {"room_id": self.room_id})

    def _on_close_clicked(self, _: Any) -> None:
        if not self._confirm_close:
            self._confirm_close = True
            self.close_button.description = "Click again to close"
            return
        self.close_room()

    def _row(self, member: dict[str, Any], you: str, host: bool) -> HBox:
        label = html.escape(member["name"]) + (" (you)" if member["id"] == you else "")
        badge = " <small>host</small>" if member["role"] == "host" else ""
        audio, video = self._media.get(member["id"], (True, True))
        badge += "" if audio else ' <span title="microphone off">&#128263;</span>'
        badge += "" if video else " <small>camera off</small>"
        name = HTML(f'<span style="color:{member["color"]}">&#9679;</span> {label}{badge}',
                    layout=Layout(flex="1"))  # fmt: skip
        row = [name]
        if host and member["id"] != you:
            kick = Button(description="Kick", layout=Layout(width="60px"))
            promote = Button(description="Make host", layout=Layout(width="90px"))
            kick.on_click(lambda _, m=member["id"]: self.kick(m))
            promote.on_click(lambda _, m=member["id"]: self.make_host(m))
            row += [promote, kick]
        item = HBox(row)
        item.add_class("jc-participant")
        return item

    def _on_media(self, data: dict[str, Any]) -> None:
        """A member's browser view said whether its microphone and camera are on."""
        if data.get("room_id") == self.room_id:
            self._media[data["from"]] = (bool(data["audio"]), bool(data["video"]))
            self._refresh()

    def _refresh(self, data: dict[str, Any] | None = None) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        if room is None:
            self.children = [HTML("<i>You are no longer in this room.</i>"), self.status]
            return
        rows = [self._row(m, room.you["id"], room.is_host) for m in room.members.values()]
        header = HTML(f"<b>{len(rows)} here</b>")
        self.children = [header, *rows, *([self.close_button] if room.is_host else []), self.status]

    def close(self) -> None:
        self._listeners.remove()
        super().close()

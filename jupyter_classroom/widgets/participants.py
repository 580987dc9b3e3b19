"""The participants panel: who is here, their roles and colours; the host's controls.

``Participants(client, room_id)`` is, where the JupyterLab extension is installed, the
browser's list (:class:`BrowserParticipants`: joins, leaves, microphone state and the host's
controls run on the page's own socket, so they work while a cell runs) and elsewhere the
kernel-drawn one (:class:`KernelParticipants`). ``mode=`` overrides the choice, as for the
board, and like the board a browser list that no front-end loads becomes the kernel-drawn one. Both keep the Python API: :meth:`kick`, :meth:`make_host`, :meth:`lock_board`,
:meth:`close_room` and :attr:`members`.
"""

from __future__ import annotations

import html
from typing import Any

from ipywidgets import HTML, Button, HBox, Layout, VBox

from ..client import Client
from ..protocol import Event
from ._runtime import ClientListeners, describe, submit
from .frontend import BrowserFallback, board_mode


class Participants(VBox):
    """The room's members. ``Participants(client, room_id)`` picks the browser or kernel one."""

    mode = "kernel"

    def __new__(cls, client: Client, room_id: str, *, mode: str | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        if cls is Participants:
            cls = BrowserParticipants if board_mode(mode) == "browser" else KernelParticipants
        return super().__new__(cls)

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        kwargs.pop("mode", None)
        self.client = client
        self.room_id = room_id
        self.status = HTML()
        super().__init__(**kwargs)

    @property
    def members(self) -> list[dict[str, Any]]:
        """Who is in the room now."""
        room = self.client.connection.rooms.get(self.room_id)
        return list(room.members.values()) if room else []

    def _request(self, event: str, payload: dict[str, Any]) -> None:
        def refused(error: BaseException) -> None:
            self.status.value = html.escape(describe(error))

        submit(self.client, self.client.connection.request(event, payload), on_error=refused)

    def kick(self, member_id: str) -> None:
        self._request(Event.ROOM_KICK, {"room_id": self.room_id, "member_id": member_id})

    def make_host(self, member_id: str) -> None:
        self._request(Event.ROOM_UPDATE, {"room_id": self.room_id, "host": member_id})

    def lock_board(self, locked: bool = True) -> None:
        """Only the host draws while the board is locked (host only; without waiting)."""
        self._request(Event.ROOM_UPDATE, {"room_id": self.room_id, "board_locked": locked})

    def close_room(self) -> None:
        self._request(Event.ROOM_CLOSE, {"room_id": self.room_id})


class BrowserParticipants(BrowserFallback, Participants):
    """The list drawn by the JupyterLab extension; host controls sent from the page.

    Where no front-end loads its view in time after it is shown, a
    :class:`KernelParticipants` takes its place for good (``mode`` turns ``"kernel"``; see
    ``frontend.BrowserFallback``).
    """

    mode = "browser"

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        from .page_views import ParticipantsPanel

        super().__init__(client, room_id, **kwargs)
        self.panel = ParticipantsPanel(client, room_id, layout=Layout(width="100%"))
        self.children = [self.panel, self.status]
        self.add_class("jc-participants-box")
        self._watch_view(self.panel, "participants list")

    def _kernel_drawn(self) -> KernelParticipants:
        return KernelParticipants(self.client, self.room_id)

    def _request(self, event: str, payload: dict[str, Any]) -> None:
        if isinstance(self.kernel_drawn, KernelParticipants):  # its status line is shown
            self.kernel_drawn._request(event, payload)
        else:
            super()._request(event, payload)

    def close(self) -> None:
        self.panel.close()
        super().close()


class KernelParticipants(Participants):
    """The fallback where the extension is not there: the kernel draws the list."""

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        super().__init__(client, room_id, **kwargs)
        self.close_button = Button(description="Close room", icon="times", button_style="danger")
        self.close_button.on_click(self._on_close_clicked)
        self.lock_button = Button(description="Lock board", icon="lock")
        self.lock_button.on_click(self._on_lock_clicked)
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
        self.add_class("jc-participants")
        self._refresh()

    def _on_lock_clicked(self, _: Any) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        if room is not None:
            self.lock_board(not room.info["board_locked"])

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
        self.lock_button.description = "Unlock board" if room.info["board_locked"] else "Lock board"
        controls = [HBox([self.lock_button, self.close_button])] if room.is_host else []
        self.children = [header, *rows, *controls, self.status]

    def close(self) -> None:
        self._listeners.remove()
        super().close()

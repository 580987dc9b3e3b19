"""``Lobby``: the live list of rooms, a create form, and a join dialog."""

from __future__ import annotations

import html
from typing import Any

from ipywidgets import HTML, Button, Checkbox, HBox, Layout, Password, Text, VBox

from ..client import ClassroomError, Client
from ..protocol import Event
from ._runtime import describe, submit
from .classroom import Classroom


class Lobby(VBox):
    """Pick a room (asking for its password only if it has one), or open a new one."""

    def __init__(
        self, client: Client | None = None, *, name: str | None = None, **kwargs: Any
    ) -> None:
        self.client = client or Client(name=name)
        self.classroom: Classroom | None = None
        self.rooms: list[dict[str, Any]] = []
        self.room_list = VBox()
        self.message = HTML()
        self.title = Text(placeholder="Room title", layout=Layout(width="220px"))
        self.new_password = Password(
            placeholder="Password (optional)", layout=Layout(width="180px")
        )
        self.listed = Checkbox(
            value=True, description="Listed", indent=False, layout=Layout(width="80px")
        )
        self.create_button = Button(description="Create room", icon="plus", button_style="primary")
        self.create_button.on_click(lambda _: self.create())
        self.join_password = Password(placeholder="Room password", layout=Layout(width="180px"))
        self.join_button = Button(description="Join", button_style="success")
        self.cancel_button = Button(description="Cancel")
        self.join_dialog = HBox([HTML(), self.join_password, self.join_button, self.cancel_button])
        self.join_dialog.layout.display = "none"
        self.join_button.on_click(lambda _: self._join_pending())
        self.cancel_button.on_click(lambda _: self._hide_dialog())
        self._pending_room: str | None = None
        self.room_slot = VBox()
        self.client.on(Event.ROOM_LIST_CHANGED, lambda data: self._show_rooms(data["rooms"]))
        super().__init__(
            [
                HTML("<h3 style='margin:4px 0'>Classrooms</h3>"),
                self.room_list,
                self.join_dialog,
                HBox([self.title, self.new_password, self.listed, self.create_button]),
                self.message,
                self.room_slot,
            ],
            **kwargs,
        )
        self.add_class("jc-lobby")
        self._show_rooms(self.client.list_rooms())

    # ---------------------------------------------------------------------------------------

    def _show_rooms(self, rooms: list[dict[str, Any]]) -> None:
        self.rooms = rooms
        rows = []
        for room in rooms:
            lock = (
                ' <small class="jc-locked" style="border:1px solid #999;border-radius:3px;padding:0 3px">password</small>'
                if room["locked"]
                else ""
            )
            label = HTML(
                f"<b>{html.escape(room['title'])}</b>{lock} "
                f"<small>by {html.escape(room['host']['name'])}, {room['members']} here</small>",
                layout=Layout(flex="1"),
            )
            button = Button(description="Join", layout=Layout(width="70px"))
            button.on_click(lambda _, r=room: self.choose(r["id"]))
            row = HBox([label, button])
            row.add_class("jc-lobby-room")
            rows.append(row)
        self.room_list.children = rows or [HTML("<i>No rooms yet. Create one below.</i>")]

    def _hide_dialog(self) -> None:
        self._pending_room = None
        self.join_dialog.layout.display = "none"

    def choose(self, room_id: str) -> None:
        """Join a room from the list, asking for its password if it is locked."""
        room = next((r for r in self.rooms if r["id"] == room_id), None)
        if room is not None and room["locked"]:
            self._pending_room = room_id
            prompt = self.join_dialog.children[0]
            assert isinstance(prompt, HTML)
            prompt.value = f"Password for <b>{html.escape(room['title'])}</b>:"
            self.join_password.value = ""
            self.join_dialog.layout.display = "flex"
            self.message.value = ""
            return
        self.join(room_id)

    def _join_pending(self) -> None:
        if self._pending_room is not None:
            self.join(self._pending_room, self.join_password.value)

    def join(self, room_id: str, password: str | None = None) -> Classroom | None:
        """Join and show the room; on failure, say why and return None."""
        try:
            room = self.client.join(room_id, password or None)
        except ClassroomError as error:
            self.message.value = (
                f'<span class="jc-error" style="color:#b00">{html.escape(describe(error))}</span>'
            )
            return None
        self._hide_dialog()
        return self._show(room.id)

    def create(self) -> Classroom | None:
        """Create a room from the form and show it."""
        title = self.title.value.strip()
        if not title:
            self.message.value = (
                '<span class="jc-error" style="color:#b00">Give the room a title.</span>'
            )
            return None
        try:
            room = self.client.create_room(
                title, self.new_password.value or None, listed=self.listed.value
            )
        except ClassroomError as error:
            self.message.value = (
                f'<span class="jc-error" style="color:#b00">{html.escape(describe(error))}</span>'
            )
            return None
        self.title.value = self.new_password.value = ""
        return self._show(room.id)

    def _show(self, room_id: str) -> Classroom:
        if self.classroom is not None and self.classroom.room_id != room_id:
            self.classroom.close()
        self.message.value = ""
        self.classroom = Classroom(self.client, room_id)
        self.room_slot.children = [self.classroom]
        return self.classroom

    def refresh(self) -> None:
        submit(self.client, self.client.connection.list_rooms(), on_done=self._show_rooms)

"""``Lobby``: the live list of rooms, a create form, and a join dialog."""

from __future__ import annotations

import html
from typing import Any

from ipywidgets import HTML, Button, Checkbox, HBox, Layout, Password, Text, VBox

from ..client import ClassroomError, Client
from ..protocol import Event
from ._runtime import describe, submit
from .classroom import Classroom


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, final full stop."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


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
        self.create_form = HBox([self.title, self.new_password, self.listed, self.create_button])
        self.create_form.add_class("jc-lobby-create")
        self.client.on(Event.ROOM_LIST_CHANGED, lambda data: self._show_rooms(data["rooms"]))
        super().__init__(
            [
                HTML("<h3 style='margin:4px 0'>Classrooms</h3>"),
                self.room_list,
                self.join_dialog,
                self.create_form,
                self.message,
                self.room_slot,
            ],
            **kwargs,
        )
        self.add_class("jc-lobby")
        rooms = self.client.list_rooms()
        # The server says whether this user may create rooms (room:list's can_create): no
        # "Create room" for those who may only join.
        self.may_create = self.client.connection.can_create is not False
        if not self.may_create:
            self.create_form.layout.display = "none"
        self._show_rooms(rooms)

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
        if rows:
            self.room_list.children = rows
        elif self.may_create:
            self.room_list.children = [HTML("<i>No rooms yet. Create one below.</i>")]
        else:
            self.room_list.children = [
                HTML("<i>No rooms yet. Your instructor's room will show up here.</i>")
            ]

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
            # a refusal says why in the server's own words (who may create, which limit)
            reason = describe(error) if error.code != "forbidden" else sentence(error.message)
            self.message.value = (
                f'<span class="jc-error" style="color:#b00">{html.escape(reason)}</span>'
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

"""The chat panel: history with names, colours and times; room and direct messages.

``Chat(client, room_id)`` is, where the JupyterLab extension is installed, the browser's chat
(:class:`BrowserChat`: the view sends and receives on the page's own socket, so chat works
while a cell runs) and elsewhere the kernel-drawn one (:class:`KernelChat`). ``mode=`` or
``$JUPYTER_CLASSROOM_BOARD`` ("browser" / "kernel") overrides the choice, as for the board,
and like the board a browser chat that no front-end loads becomes the kernel-drawn one.
Both keep the Python API: :meth:`Chat.post`, :attr:`Chat.messages`, :attr:`Chat.members`.
"""

from __future__ import annotations

import html
from typing import Any

from ipywidgets import HTML, Button, Dropdown, HBox, Layout, Text, VBox

from ..client import Client
from ..protocol import Event
from ._runtime import ClientListeners, describe, submit
from .frontend import BrowserFallback, board_mode

SHOWN = 200  # messages kept on screen
EVERYONE = ""


def _time(ts: str) -> str:
    return ts[11:16] if len(ts) >= 16 else ""


class Chat(VBox):
    """The room's chat. ``Chat(client, room_id)`` picks the browser or the kernel-drawn one."""

    mode = "kernel"

    def __new__(cls, client: Client, room_id: str, *, mode: str | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        if cls is Chat:
            cls = BrowserChat if board_mode(mode) == "browser" else KernelChat
        return super().__new__(cls)

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        kwargs.pop("mode", None)
        self.client = client
        self.room_id = room_id
        self.status = HTML()
        super().__init__(**kwargs)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat this member sees (public and its direct messages), oldest first."""
        room = self.client.connection.rooms.get(self.room_id)
        return list(room.chat) if room else []

    @property
    def members(self) -> list[dict[str, Any]]:
        """Who is in the room now."""
        room = self.client.connection.rooms.get(self.room_id)
        return list(room.members.values()) if room else []

    def post(self, text: str | None = None, to: str | None = None) -> None:
        """Send ``text`` to the room, or to the member ``to`` only (without waiting)."""
        if text is None or not text.strip():
            return
        self._send_text(text, to)

    def _send_text(self, text: str, to: str | None) -> None:
        self.status.value = ""

        def refused(error: BaseException) -> None:
            self.status.value = html.escape(describe(error))
            self._refused(text)

        submit(self.client, self.client.connection.say(self.room_id, text, to), on_error=refused)

    def _refused(self, text: str) -> None:
        """A message was refused: give the person their text back where there is a text box."""


class BrowserChat(BrowserFallback, Chat):
    """The chat drawn and sent by the JupyterLab extension, on the page's socket.

    Where no front-end loads its view in time after it is shown, a :class:`KernelChat`
    takes its place for good (``mode`` turns ``"kernel"``; see ``frontend.BrowserFallback``).
    """

    mode = "browser"

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        from .page_views import ChatPanel

        super().__init__(client, room_id, **kwargs)
        self.panel = ChatPanel(client, room_id, layout=Layout(width="100%"))
        self.children = [self.panel, self.status]
        self.add_class("jc-chat-box")
        self._watch_view(self.panel, "chat")

    def _kernel_drawn(self) -> KernelChat:
        return KernelChat(self.client, self.room_id)

    def post(self, text: str | None = None, to: str | None = None) -> None:
        if isinstance(self.kernel_drawn, KernelChat):  # its status line is the one shown
            self.kernel_drawn.post(text, to)
        else:
            super().post(text, to)

    def close(self) -> None:
        self.panel.close()
        super().close()


class KernelChat(Chat):
    """The fallback where the extension is not there: the kernel draws the chat."""

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        super().__init__(client, room_id, **kwargs)
        self.history = HTML(
            layout=Layout(height="220px", overflow_y="auto", border="1px solid #ddd", padding="4px")
        )
        self.text = Text(placeholder="Message", layout=Layout(flex="1"))
        self.to = Dropdown(
            options=[("Everyone", EVERYONE)], value=EVERYONE, layout=Layout(width="140px")
        )
        self.send_button = Button(
            description="Send", icon="paper-plane", layout=Layout(width="80px")
        )
        self.send_button.on_click(lambda _: self.post())
        self.text.on_msg(self._on_text_msg)  # Enter sends too
        self._lines: list[str] = []
        room = client.connection.rooms.get(room_id)
        for message in room.chat if room else []:
            self._lines.append(self._format(message))
        self._listeners = ClientListeners(
            client,
            (Event.CHAT_MESSAGE, self._on_message),
            (Event.SERVER_ANNOUNCEMENT, self._on_announcement),
            (Event.ROOM_MEMBER_JOINED, self._on_members),
            (Event.ROOM_MEMBER_LEFT, self._on_members),
            ("resync", self._on_members),
        )
        self.children = [self.history, HBox([self.to, self.text, self.send_button]), self.status]
        self.add_class("jc-chat")
        self._render()
        self._on_members({"room_id": room_id})

    def _name_and_color(self, member_id: str) -> tuple[str, str]:
        room = self.client.connection.rooms.get(self.room_id)
        member = room.members.get(member_id) if room else None
        return (member["name"], member["color"]) if member else ("someone", "#555555")

    def _format(self, message: dict[str, Any]) -> str:
        _, color = self._name_and_color(message["from"]["id"])
        sender = html.escape(message["from"]["name"])
        direct = ""
        if message["to"] is not None:
            target, _ = self._name_and_color(message["to"])
            direct = f" <i>to {html.escape(target)}</i>"
        return (
            f'<div class="jc-chat-message"><small style="color:#888">{_time(message["ts"])}</small> '
            f'<b style="color:{color}">{sender}</b>{direct}: {html.escape(message["text"])}</div>'
        )

    def _render(self) -> None:
        self._lines = self._lines[-SHOWN:]
        self.history.value = "".join(self._lines)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("room_id") == self.room_id:
            self._lines.append(self._format(message))
            self._render()

    def _on_announcement(self, data: dict[str, Any]) -> None:
        self._lines.append(
            f'<div class="jc-chat-announcement" style="background:#fff3cd"><small>{_time(data["ts"])}</small> '
            f"<b>Announcement from {html.escape(data['from'])}</b>: {html.escape(data['text'])}</div>"
        )
        self._render()

    def _on_members(self, data: dict[str, Any]) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        if data.get("room_id") != self.room_id or room is None:
            return
        others = [(m["name"], m["id"]) for m in room.members.values() if m["id"] != room.you["id"]]
        options = [("Everyone", EVERYONE), *sorted(others)]
        current = self.to.value if self.to.value in {value for _, value in options} else EVERYONE
        self.to.options = options
        self.to.value = current

    def _on_text_msg(self, _: Any, content: dict[str, Any], buffers: Any) -> None:
        # The Text view sends {"event": "submit"} when Enter is pressed (what the deprecated
        # Text.on_submit listens to). Not `continuous_update=False`: that also fires on blur,
        # which would send a half-written message when the user clicks the board.
        if content.get("event") == "submit":
            self.post()

    def post(self, text: str | None = None, to: str | None = None) -> None:
        """Send the typed message (or ``text``) to the room or the chosen member."""
        text = self.text.value if text is None else text
        if not text.strip():
            return
        recipient = to if to is not None else (self.to.value or None)
        self.text.value = ""
        self._send_text(text, recipient)

    def _refused(self, text: str) -> None:
        self.text.value = text

    def close(self) -> None:
        self._listeners.remove()
        super().close()

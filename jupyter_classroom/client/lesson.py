"""The tools of a lesson from Python: raised hands, breakout rooms and the host's lecture
controls (a part of :class:`~.connection.Connection`). The replica keeps each room's ``hands``
and open ``breakouts`` current from ``hand:queue``, ``breakout:opened`` and
``breakout:closed``, its ``video_mode`` and ``video_policy`` from ``rtc:mode`` and
``rtc:policy``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol import Event

if TYPE_CHECKING:
    from .connection import RoomState


class LessonRequests:
    """``hand:*`` and ``breakout:*`` requests; each raises ClassroomError when refused."""

    rooms: dict[str, RoomState]

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError  # Connection.request

    def _hands_now(self, room_id: str, hands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        room = self.rooms.get(room_id)
        if room is not None:
            room.hands = list(hands)
        return list(hands)

    async def raise_hand(self, room_id: str) -> list[dict[str, Any]]:
        """Raise your hand (again: it keeps its place); the queue."""
        ack = await self.request(Event.HAND_RAISE, {"room_id": room_id})
        return self._hands_now(room_id, ack["hands"])

    async def lower_hand(self, room_id: str, member_id: str | None = None) -> list[dict[str, Any]]:
        """Lower your hand, or (the host) ``member_id``'s; the queue."""
        payload: dict[str, Any] = {"room_id": room_id}
        if member_id is not None:
            payload["member_id"] = member_id
        ack = await self.request(Event.HAND_LOWER, payload)
        return self._hands_now(room_id, ack["hands"])

    async def take_hand(self, room_id: str, member_id: str | None = None) -> dict[str, Any] | None:
        """(The host) take the first hand, or ``member_id``'s; the hand taken, None if none."""
        payload: dict[str, Any] = {"room_id": room_id}
        if member_id is not None:
            payload["member_id"] = member_id
        ack = await self.request(Event.HAND_TAKE, payload)
        self._hands_now(room_id, ack["hands"])
        return ack["taken"]

    async def open_breakouts(
        self,
        room_id: str,
        *,
        groups: list[list[str]] | None = None,
        count: int | None = None,
        minutes: float | None = None,
        copy_board: bool = False,
    ) -> dict[str, Any]:
        """(The host) open breakout rooms; ``{breakouts, ends_at}``."""
        payload: dict[str, Any] = {"room_id": room_id, "copy_board": copy_board}
        for key, value in (("groups", groups), ("count", count), ("minutes", minutes)):
            if value is not None:
                payload[key] = value
        ack = await self.request(Event.BREAKOUT_OPEN, payload)
        room = self.rooms.get(room_id)
        if room is not None:
            room.breakouts = {"breakouts": ack["breakouts"], "ends_at": ack["ends_at"]}
        return ack

    async def broadcast(self, room_id: str, text: str) -> None:
        """(The host) a chat message into every open breakout room."""
        await self.request(Event.BREAKOUT_BROADCAST, {"room_id": room_id, "text": text})

    async def recall(self, room_id: str) -> list[dict[str, Any]]:
        """(The host) close the breakouts (their boards are kept); the breakouts closed."""
        ack = await self.request(Event.BREAKOUT_RECALL, {"room_id": room_id})
        room = self.rooms.get(room_id)
        if room is not None:
            room.breakouts = None
            _keep(room, ack["breakouts"])
        return list(ack["breakouts"])

    async def breakout_board(self, room_id: str, breakout_id: str) -> dict[str, Any]:
        """A breakout's board (``{seq, ops, complete}``): after recall, or (the host) live."""
        payload = {"room_id": room_id, "breakout_id": breakout_id}
        return dict((await self.request(Event.BREAKOUT_BOARD, payload))["board"])

    async def set_video_policy(
        self, room_id: str, *, students_publish: bool | None = None, lecture: bool | None = None
    ) -> dict[str, bool]:
        """(The host) whether students may publish, the lecture layout (None: unchanged);
        the room's policy ``{students_publish, lecture}``. The room hears ``rtc:policy``."""
        payload: dict[str, Any] = {"room_id": room_id}
        for key, value in (("students_publish", students_publish), ("lecture", lecture)):
            if value is not None:
                payload[key] = value
        ack = await self.request(Event.RTC_POLICY, payload)
        policy = {"students_publish": ack["students_publish"], "lecture": ack["lecture"]}
        room = self.rooms.get(room_id)
        if room is not None:
            room.video_policy = dict(policy)
        return policy

    async def mute_all(self, room_id: str) -> None:
        """(The host) ask every member to turn its microphone off (``rtc:mute_all``)."""
        await self.request(Event.RTC_MUTE_ALL, {"room_id": room_id})

    def _lesson_event(self, room: RoomState, event: str, data: dict[str, Any]) -> None:
        """Keep the replica's hands and breakouts current (Connection._on_event)."""
        if event == Event.RTC_MODE:
            room.video_mode = str(data["mode"])
        elif event == Event.RTC_POLICY:
            room.video_policy = {
                "students_publish": bool(data["students_publish"]),
                "lecture": bool(data["lecture"]),
            }
        elif event == Event.HAND_QUEUE:
            room.hands = list(data.get("hands") or [])
        elif event == Event.BREAKOUT_OPENED:
            room.breakouts = {"breakouts": data["breakouts"], "ends_at": data["ends_at"]}
        elif event == Event.BREAKOUT_CLOSED:
            room.breakouts = None
            _keep(room, data["breakouts"])


def _keep(room: RoomState, recalled: list[dict[str, Any]]) -> None:
    """The recalled groups join the kept ones, last (as the server lists them in a join ack;
    the host hears of a recall twice: its ack and ``breakout:closed``)."""
    ids = {group["room_id"] for group in recalled}
    room.kept_breakouts = [g for g in room.kept_breakouts if g["room_id"] not in ids] + list(
        recalled
    )

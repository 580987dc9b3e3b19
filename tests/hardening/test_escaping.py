"""The whiteboard's status line (issue 16, item 15) shows messages as text, never as HTML."""

from __future__ import annotations

import asyncio

from jupyter_classroom import Client
from jupyter_classroom.widgets.kernel_board import KernelWhiteboard

MARKUP = '<img src=x onerror="alert(1)"> & <b>bold</b>'


async def test_the_status_line_escapes_messages(server):
    teacher = await asyncio.to_thread(Client, server.url, server.kernel_token, name="teacher")
    try:
        room = await asyncio.to_thread(teacher.create_room, "Escaping")
        board = KernelWhiteboard(teacher, room.id)
        try:
            board._say(MARKUP)  # what a failed request's message becomes
            status = board.status.value
            assert "<img" not in status and "<b>" not in status
            assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;b&gt;" in status
        finally:
            board.close()
    finally:
        await asyncio.to_thread(teacher.close)

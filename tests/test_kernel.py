"""Kernels started by the Jupyter server find the classroom with no configuration."""

from __future__ import annotations

import asyncio
import json

CREATE = """
from jupyter_classroom import Client
teacher = Client(name="teacher")
room = teacher.create_room("From a kernel", password="pw")
got = []
teacher.on("chat:message", got.append)
print(room.id)
"""

JOIN = """
import time
from jupyter_classroom import Client
student = Client(name="student")
room = student.join({room_id!r}, password="pw")
student.say("hello from kernel 2")
print(len(room.members))
"""

CHECK = """
import time, json
deadline = time.time() + 10
while not got and time.time() < deadline:
    time.sleep(0.05)
print(json.dumps([m["text"] for m in got]))
"""


async def run(client, code: str) -> str:
    out: list[str] = []

    def on_output(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = await client.execute_interactive(code, output_hook=on_output, timeout=60)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out).strip()


async def test_two_kernels_meet_in_a_room(jp_serverapp, server):
    manager = jp_serverapp.kernel_manager
    kernel_ids = [await manager.start_kernel() for _ in range(2)]
    clients = []
    try:
        for kernel_id in kernel_ids:
            client = manager.get_kernel(kernel_id).client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            clients.append(client)
        teacher, student = clients
        room_id = await run(teacher, CREATE)
        assert len(room_id) == 12
        assert await run(student, JOIN.format(room_id=room_id)) == "2"
        assert json.loads(await run(teacher, CHECK)) == ["hello from kernel 2"]
    finally:
        for client in clients:
            client.stop_channels()
        await asyncio.gather(*(manager.shutdown_kernel(k, now=True) for k in kernel_ids))

"""A throwaway redis-server on a free loopback port, for tests.

Test modules wrap :func:`running_redis` in their own fixture (``with running_redis() as url``).
Without the ``redis-server`` executable (Debian package ``redis-server``) or the ``redis``
Python package, they are skipped.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from .helpers import free_port

MISSING = "redis-server is not on PATH: install the Debian package redis-server"
MISSING_CLIENT = "the redis Python package is not installed: pip install 'redis>=5'"


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(16)
            # a server whose default user is off answers, but wants a login first
            return reply.startswith(b"+PONG") or reply.startswith(b"-NOAUTH")
    except OSError:
        return False


@contextmanager
def running_redis(timeout: float = 10.0, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Start redis-server (no persistence, loopback only; ``extra_args`` appended to its
    command line, e.g. ACL users) and yield its URL; kill it after."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip(MISSING)
    if importlib.util.find_spec("redis") is None:
        pytest.skip(MISSING_CLIENT)
    with tempfile.TemporaryDirectory(prefix="jc-redis-") as workdir:
        port = free_port()
        process = subprocess.Popen(
            [
                executable,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
                "--protected-mode",
                "yes",
                *extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _ping(port):
                if process.poll() is not None:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise RuntimeError(f"redis-server exited at start:\n{output}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer within {timeout} s")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()

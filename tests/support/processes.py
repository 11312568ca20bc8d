"""Child processes of the bot for the tests that run several: `run_bot.py run --role`,
an import, a fake server; each started with its environment and waited for until it
says it is ready."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def child(*args: str, env: dict[str, str], ready: str, stream: str = "stdout",
                timeout: float = 40) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """A child process, yielded with the line that said it is ready."""
    pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env,
        stdout=pipe if stream == "stdout" else devnull,
        stderr=pipe if stream == "stderr" else devnull)
    reader = getattr(proc, stream)
    try:
        async with asyncio.timeout(timeout):
            while ready not in (line := (await reader.readline()).decode()):
                if not line:
                    raise RuntimeError(f"{args[:3]} exited before it was ready")
        drain = asyncio.get_running_loop().create_task(_drain(reader))
        yield proc, line.strip()
        drain.cancel()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.readline():
        pass

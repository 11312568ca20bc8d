"""`python run_bot.py run`: refuses what cannot work in one line; runs, answers, stops."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from school_bot.bot.app import run
from school_bot.cli.run import run_command
from school_bot.shared.settings import Settings
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.pii_guard import find_personal_data

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "31337:run-test"
CHAT = 8101


def _args(role: str = "all") -> argparse.Namespace:
    return argparse.Namespace(role=role, log_format="kv")


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize("role", ["all", "worker"])
def test_without_a_messenger_run_suggests_the_demo(
    role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_command(_args(role), _settings()) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "TELEGRAM_BOT_TOKEN" in line and "python run_bot.py demo" in line


def test_webhook_mode_without_a_secret_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(telegram_bot_token=TOKEN, telegram_mode="webhook",
                         webhook_base_url="https://bot.example.org")
    assert run_command(_args(), settings) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "TELEGRAM_WEBHOOK_SECRET" in line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_web_role_without_a_messenger_serves_the_web_api_alone(sqlite_db_url: str) -> None:
    port = _free_port()
    stop = asyncio.Event()
    settings = _settings(database_url=sqlite_db_url, web_port=port)
    running = asyncio.create_task(run(settings, "web", stop=stop))
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                        break
                await asyncio.sleep(0.05)
            assert health.status == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as metrics:
                assert metrics.status == 200
            async with http.post(f"http://127.0.0.1:{port}/telegram/webhook", json={}) as hook:
                assert hook.status == 404  # no Telegram in this process
    finally:
        stop.set()
    assert await asyncio.wait_for(running, 20) == 0


async def test_run_answers_start_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    log_path = tmp_path / "run.log"
    async with FakeTelegramBotAPI(token=TOKEN, max_poll_wait=0.5) as api:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.base_url,
            "TELEGRAM_MODE": "polling",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": "0",
            "VIBER_AUTH_TOKEN": "",
        }
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "run_bot.py", cwd=ROOT, env=env,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )
            try:
                await api.wait_for(lambda r: r.method == "deleteWebhook", timeout=60)
                api.message_update(CHAT, "/start")
                reply = await api.wait_for(
                    lambda r: r.method == "sendMessage" and r.chat_id == CHAT, timeout=20)
                process.send_signal(signal.SIGTERM)
                status = await asyncio.wait_for(process.wait(), 30)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
    output = log_path.read_text(encoding="utf-8")
    assert status == 0, output[-3000:]
    markup = reply.params.get("reply_markup") or {}
    assert any(b.get("request_contact") for row in markup.get("keyboard", []) for b in row)
    assert "stopped role=all" in output
    assert api.webhook_url == ""
    assert find_personal_data(output) == []

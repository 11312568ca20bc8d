"""End to end: an absence posted by the school system reaches the parent's Telegram chat
at once, not at the next scan.

The ingest API (real HTTP) queues the alert in the write's own transaction and wakes
the `NotificationService` of the same process (one `Wake`, as the composition root
makes it); the absence scan and the dispatcher's poll are set an hour apart, so only
that wake can deliver it within the test. The Telegram deliverer and the fake Bot API
server (real HTTP): nothing of ours is replaced.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.notifications.config import NotifyConfig
from school_bot.notifications.service import NotificationService
from school_bot.notifications.wake import Wake
from school_bot.storage.db import Database
from school_bot.storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.support.api import new_key, seed_school, serve, settings_for
from tests.support.world import World, account

TOKEN = "4242:absence-e2e"
PARENT_CHAT = 7001


async def _link_parent(db: Database, guardian_id: str) -> None:
    """The state a parent is in after sharing their phone in Telegram."""
    await World(db).add(account(str(PARENT_CHAT), guardians=[guardian_id], language="uk",
                                linked_at=datetime.now(UTC)))


async def test_an_absence_posted_through_the_api_reaches_the_linked_parent(db: Database) -> None:
    today = datetime.now(UTC).astimezone(settings_for(db).zone).date().isoformat()
    department = await new_key(db, None)
    wake = Wake()
    async with FakeTelegramBotAPI(token=TOKEN) as telegram, serve(db, wake=wake) as api:
        settings = settings_for(db, telegram_bot_token=TOKEN, telegram_api_url=telegram.base_url)
        await seed_school(api, department, "1", day=today)
        await _link_parent(db, "1-G1")
        school_key = await new_key(db, "1", "diary of school 1")

        bot = build_bot(settings, timeout=5.0)
        service = NotificationService(
            db, settings, {"telegram": TelegramDeliverer(bot)}, wake=wake,
            config=NotifyConfig.from_settings(settings, absence_interval=3600, poll_interval=3600))
        await service.start()
        try:
            posted = await api.post("attendance", [
                {"student_id": "1-S1", "lesson_id": "1-L1", "status": "absent"}], key=school_key)
            assert posted.status == 200 and posted.body["created"] == 1, posted.body
            assert [r.kind for r in await _outbox(db)] == ["absence"]  # queued with the write
            alert = await telegram.wait_for(
                lambda r: r.method == "sendMessage" and r.chat_id == PARENT_CHAT, timeout=20)
        finally:
            await service.stop()
            await bot.session.close()

        assert "Тарас" in (alert.text or "")  # the pupil, by the first name
        # posting the same mark again is unchanged and alerts nobody twice
        again = await api.post("attendance", [
            {"student_id": "1-S1", "lesson_id": "1-L1", "status": "absent"}], key=school_key)
        assert again.body["unchanged"] == 1
    assert [(r.kind, r.status) for r in await _outbox(db)] == [("absence", "sent")]
    assert len(telegram.messages_to(PARENT_CHAT)) == 1


async def _outbox(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxMessage))).all())

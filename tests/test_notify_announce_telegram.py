"""/announce end to end in Telegram: a director's chat talks to the real aiogram
dispatcher and core (the front door as `run` wires it, over HTTP to the fake Bot API),
then the NotificationService delivers the announcement to the parents' chats and the
final report to the director."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from school_bot.bot.telegram.front_door import build_bot
from school_bot.bot.telegram_delivery import TelegramDeliverer
from school_bot.notifications.service import NotificationService
from tests.fakes.telegram_api import SentRequest
from tests.support.notify import config
from tests.support.school_world import SchoolWorld
from tests.support.telegram_rig import inline_buttons, telegram_rig
from tests.support.world import account

DIRECTOR_CHAT = 900


def sent_to(chat_id: int) -> Callable[[SentRequest], bool]:
    return lambda request: request.chat_id == chat_id


def shown(requests: list[SentRequest]) -> str:
    return "\n".join(r.text or "" for r in requests if r.method in ("sendMessage", "editMessageText"))


async def test_a_director_announces_to_a_class_and_gets_the_report(db) -> None:
    world = await SchoolWorld(db).build()
    parents = [await world.family(n) for n in (1, 2)]
    await world.add_class("C5B", "5-Б")
    other_class = await world.family(3, class_id="C5B")
    await world.add(account(str(DIRECTOR_CHAT), staff_id="D1", language="uk",
                         linked_at=datetime.now(UTC)))

    async with telegram_rig(db) as rig:
        director = rig.chat(DIRECTOR_CHAT)
        offered = inline_buttons(await director.send("/announce"))
        assert "Клас 7-А" in offered and "Уся школа" in offered
        await director.press(offered["Клас 7-А"])
        preview = await director.send("Завтра екскурсія до музею, збір о 9:00")
        assert "2 отримувачі" in shown(preview) and "Завтра екскурсія" in shown(preview)
        queued = await director.press(inline_buttons(preview)["✅ Надіслати"])
        assert "надсилається 2 отримувачам" in shown(queued)

        settings = rig.settings.model_copy(update={"quiet_hours": ""})
        bot = build_bot(settings, timeout=5.0)
        service = NotificationService(db, settings, {"telegram": TelegramDeliverer(bot)},
                                      config=config(reports_interval=0.2, poll_interval=0.05))
        await service.start()
        try:
            for parent in parents:
                await rig.api.wait_for(sent_to(parent.chat_id), timeout=15)
            report = await rig.api.wait_for(
                lambda r: r.chat_id == DIRECTOR_CHAT and "розіслано" in (r.text or ""), timeout=15)
        finally:
            await service.stop()
            await bot.session.close()

    for parent in parents:
        [text] = rig.api.messages_to(parent.chat_id)
        assert text.startswith("📢 Оголошення — Гімназія №1") and "збір о 9:00" in text
    assert rig.api.messages_to(other_class.chat_id) == []
    assert "2 отримувачі" in (report.text or "") and "Надіслано: 2" in (report.text or "")

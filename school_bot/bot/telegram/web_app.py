"""Telegram's Mini App launch data, checked with aiogram's own helper.

`launch_check(token)` is what the web diary (web/diary/routes.py) is given to read the
`initData` a Mini App page sends: its signature is checked against the bot's token
(`safe_parse_webapp_init_data`: HMAC-SHA256 with the key HMAC("WebAppData", token));
its age (`auth_date`, which aiogram does not check) is the web diary's to judge.
"""

from __future__ import annotations

from aiogram.utils.web_app import safe_parse_webapp_init_data

from school_bot.web.diary.routes import LaunchCheck, TelegramLaunch


def launch_check(token: str) -> LaunchCheck:
    def check(init_data: str) -> TelegramLaunch | None:
        try:
            data = safe_parse_webapp_init_data(token, init_data)
        except (ValueError, TypeError):  # a wrong signature, or data that is no launch data
            return None
        if data.user is None:
            return None
        return TelegramLaunch(data.user.id, data.user.language_code, data.auth_date)

    return check

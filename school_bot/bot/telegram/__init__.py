"""The Telegram front door (aiogram 3): it only converts.

* `aiogram_internals` - every reach into aiogram's (and pydantic's) internals, each
                  switched off by SPEED_PATHS=false; imported first: it imports aiogram;
* `convert`     - pure converters: updates → `Incoming`, `Reply` → Bot API calls;
* `send`        - shows a reply in a chat (answers and the outbox share it);
* `updates`     - each update: request id and in-flight count, converted, its turn run
                  (bot/turns.py) with Telegram's way of sending its replies; the
                  apology for an update that cannot even be converted;
* `polling`     - getUpdates in a loop, with a bound on updates handled at once;
* `webhook`     - `POST /telegram/webhook`, the secret checked before parsing;
* `front_door`  - the bot, polling or webhook, the command menu.

The outbox's deliverer is `bot.telegram_delivery.TelegramDeliverer`; the composition
root that puts it all together is `bot.app`.
"""

import school_bot.bot.telegram.aiogram_internals  # noqa: F401  (imports aiogram, its models deferred)

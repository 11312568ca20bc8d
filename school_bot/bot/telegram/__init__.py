"""The Telegram front door (aiogram 3): it only converts.

* `aiogram_internals` - every reach into aiogram's (and pydantic's) internals, each
                  switched off by SPEED_PATHS=false; imported first: it imports aiogram;
* `convert`     - pure converters: updates → `Incoming`, `Reply` → Bot API calls;
* `send`        - shows a reply in a chat (answers and the outbox share it);
* `router`      - the handlers: convert, and run the turn (bot/turns.py) with Telegram's
                  way of sending its replies;
* `middlewares` - request id and in-flight count; the apology for an update that
                  cannot even be converted;
* `webhook`     - `POST /telegram/webhook`, the secret checked before parsing;
* `front_door`  - the bot, the dispatcher, polling or webhook, the command menu.

The outbox's deliverer is `bot.telegram_delivery.TelegramDeliverer`; the composition
root that puts it all together is `bot.app`.
"""

import school_bot.bot.telegram.aiogram_internals  # noqa: F401  (imports aiogram, its models deferred)

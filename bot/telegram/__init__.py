"""The Telegram front door (aiogram 3): it only converts.

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

from bot.telegram.models import import_aiogram

import_aiogram()

"""One turn of the conversation: what arrived, for which chat, in which language, when.

Every handler takes a `Turn`; it carries the unit of work's session (the core never
commits: the adapter's middleware does, once) and the account row of the chat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.shared.events import Incoming, Platform
from school_bot.shared.settings import Settings
from school_bot.storage.models import Account

if TYPE_CHECKING:
    from school_bot.handlers.extensions import Extension


@dataclass
class Turn:
    session: AsyncSession
    account: Account
    incoming: Incoming
    locale: str
    now: datetime  # aware, UTC
    settings: Settings
    extensions: list[Extension] = field(default_factory=list)
    family: list[Any] | None = None  # the guardian's pupils, once read (handlers/family.py)

    @property
    def platform(self) -> Platform:
        return self.incoming.chat.platform

    @property
    def actor(self) -> str:
        """Who acts, for the audit log: the chat itself, never a name or a phone."""
        return f"self:{self.platform.value}"

    def state(self, key: str, default: Any = None) -> Any:
        return (self.account.state or {}).get(key, default)

    def remember(self, **values: Any) -> None:
        """Change keys of the account's JSON state (None removes a key)."""
        state = dict(self.account.state or {})
        for key, value in values.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        self.account.state = state  # a new dict, so the JSON column sees the change

    def flow(self, key: str, ttl: timedelta) -> dict[str, Any] | None:
        """The chat's half-done flow under `key` (written by `keep_flow`), unless it is
        older than `ttl`."""
        return fresh(self.state(key), self.now, ttl)

    def keep_flow(self, key: str, **values: Any) -> dict[str, Any]:
        """Store a flow's state under `key`, stamped with this turn's time."""
        value = {**values, "at": self.now.isoformat()}
        self.remember(**{key: value})
        return value


def fresh(value: Any, now: datetime, ttl: timedelta) -> dict[str, Any] | None:
    """A flow's stored state (a dict stamped `at`, see `Turn.keep_flow`), unless it is
    older than `ttl`, or not a flow's state at all."""
    if not isinstance(value, dict):
        return None
    try:
        since = datetime.fromisoformat(str(value.get("at", "")))
    except ValueError:
        return None
    return value if since.tzinfo is not None and now - since < ttl else None

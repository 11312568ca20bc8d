"""Typed settings from the environment and a `.env` file.

Built once in the composition root (`run_bot.py`) and passed in; nothing reads the
environment at import time.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from school_bot.shared.absence_reasons import DEFAULT as DEFAULT_ABSENCE_REASONS
from school_bot.shared.absence_reasons import Reason, parse_reasons

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./school_bot.sqlite3"
_QUIET_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class QuietHours:
    """A daily window (possibly across midnight) in which non-urgent messages wait."""

    def __init__(self, start: time, end: time) -> None:
        self.start = start
        self.end = end

    @classmethod
    def parse(cls, text: str | None) -> QuietHours | None:
        if text is None or not text.strip():
            return None
        match = _QUIET_RE.match(text.strip())
        if not match:
            raise ValueError("expected HH:MM-HH:MM, for example 21:00-07:30")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError("hours must be 0-23 and minutes 0-59")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_SQLITE_URL
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_base_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    viber_auth_token: SecretStr | None = None
    viber_api_url: str = "https://chatapi.viber.com/pa"
    telegram_bot_username: str | None = None
    viber_bot_name: str = "SchoolBot"
    viber_chat_uri: str | None = None
    viber_bot_avatar: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    default_locale: Literal["uk", "en"] = "uk"
    timezone: str = "Europe/Kyiv"
    quiet_hours: str = "21:00-07:30"
    api_body_limit: int = Field(default=5 * 1024 * 1024, ge=1024)
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = ()
    telegram_rate_per_second: float = Field(default=30.0, gt=0)
    telegram_chat_rate_per_second: float = Field(default=1.0, gt=0)
    viber_rate_per_second: float = Field(default=50.0, gt=0)
    log_level: str = "INFO"
    speed_paths: bool = True  # storage/speed_paths.py
    # ---- the web diary (web/diary/): Telegram's Mini App and one-time links for Viber and the
    # console; the calendar feed (web/calendar.py)
    web_public_url: str | None = None  # https://… where /app/ is served; unset: no diary offered
    webapp_init_max_age: int = Field(default=3600, ge=10, le=86_400)  # seconds a Mini App's initData holds
    web_session_ttl: int = Field(default=1800, ge=60, le=86_400)  # seconds a diary session lasts
    web_link_ttl: int = Field(default=600, ge=30, le=3600)  # seconds a one-time link can be opened
    web_session_secret: SecretStr | None = None  # signs the sessions; unset: derived from the bots' tokens
    # parents' explanations of absences (handlers/absence_explain.py)
    absence_reasons: str = DEFAULT_ABSENCE_REASONS  # shared/absence_reasons.py: the syntax
    absence_note_max_days: int = Field(default=10, ge=1, le=30)  # school days one note covers
    # the first day of the school year (MM-DD): parents' absence explanations of days
    # before the current school year's start are deleted (storage/retention.py)
    school_year_start: str = "09-01"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_format(cls, value: str) -> str:
        QuietHours.parse(value)
        return value

    @field_validator("absence_reasons")
    @classmethod
    def _reasons_format(cls, value: str) -> str:
        parse_reasons(value)
        return value
    @field_validator("school_year_start")
    @classmethod
    def _month_day(cls, value: str) -> str:
        parse_month_day(value)
        return value.strip()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> tuple[Network, ...]:
        return parse_networks(value)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def school_year_start_day(self) -> tuple[int, int]:
        """(month, day) of the school year's first day."""
        return parse_month_day(self.school_year_start)

    @property
    def default_quiet_hours(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return parse_reasons(self.absence_reasons)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_bot_token.get_secret_value())

    @property
    def viber_enabled(self) -> bool:
        return bool(self.viber_auth_token and self.viber_auth_token.get_secret_value())

    @property
    def diary_url(self) -> str | None:
        """The web diary's page (`WEB_PUBLIC_URL` + `/app/`), or None when it is not offered."""
        base = (self.web_public_url or "").strip().rstrip("/")
        return f"{base}/app/" if base else None


def parse_month_day(text: str) -> tuple[int, int]:
    """`09-01` -> (9, 1); a day that no year has (02-30) or another shape is refused."""
    match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", text.strip())
    if match is None:
        raise ValueError(f"expected MM-DD, for example 09-01, not {text!r}")
    month, day = int(match[1]), int(match[2])
    try:
        date(2024, month, day)  # a leap year: 02-29 is a day some years have
    except ValueError:
        raise ValueError(f"{text!r} is not a day of the year") from None
    return month, day


def parse_networks(value: Any) -> tuple[Network, ...]:
    """`127.0.0.1, 10.0.0.0/8` (or a list of such) -> the networks; an address is its /32 or /128."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    networks = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not an address or a network ({exc}); "
                             "expected e.g. 127.0.0.1,10.0.0.0/8") from None
    return tuple(networks)


class SettingsError(Exception):
    """One clear line naming the variable that is missing or malformed."""


def load_settings(**overrides: Any) -> Settings:  # pydantic checks each value
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"Setting {name} is invalid: {message}") from None

"""The knobs of delivery and of the scheduled jobs.

Rates come from the shared `Settings` (TELEGRAM_RATE_PER_SECOND, ...); the rest can be
set with NOTIFY_* environment variables (NOTIFY_MAX_ATTEMPTS=8, ...). Built by the
composition root (or a test) and passed in: nothing here is read at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from school_bot.shared.settings import Settings

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class NotifyConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", env_file=".env",
                                      env_file_encoding="utf-8", extra="ignore")

    # --- pacing (per platform; the per-chat limit is Telegram's 1 message a second)
    telegram_rate: float = Field(default=30.0, gt=0)
    telegram_chat_rate: float = Field(default=1.0, gt=0)
    viber_rate: float = Field(default=50.0, gt=0)
    console_rate: float = Field(default=1000.0, gt=0)
    # a small margin under the messenger's limit, so clock jitter does not cost a 429
    pacing_margin: float = Field(default=0.03, ge=0, lt=0.5)

    # --- the dispatcher
    max_in_flight: int = Field(default=16, ge=1)
    # places beyond max_in_flight only urgent rows take: a nudge claims them at once
    # while an announcement's rows hold every other place
    urgent_reserve: int = Field(default=4, ge=0)
    batch_size: int = Field(default=10, ge=1)
    poll_interval: float = Field(default=0.5, gt=0)
    send_timeout: float = Field(default=30.0, gt=0)
    sending_lease: float = Field(default=90.0, gt=0)  # a row "sending" longer is retried
    max_attempts: int = Field(default=8, ge=1)
    backoff_base: float = Field(default=5.0, gt=0)
    backoff_cap: float = Field(default=3600.0, gt=0)
    max_platform_pause: float = Field(default=60.0, ge=0)
    # announcements to Viber in broadcast_message calls of up to 300 receivers (one slot
    # of the send window each); false: one send_message per parent
    broadcast_announcements: bool = True
    # a receipt that came before its send was recorded is kept this long at most
    early_receipt_hours: float = Field(default=24.0, gt=0)
    # one worker dispatches and schedules at a time: it holds this lease (seconds) and
    # renews it every third of it; another worker takes over once it has expired
    worker_lease: float = Field(default=15.0, gt=0)
    # a scheduled job still running when the worker stops gets this long (seconds) to
    # finish; then it is cancelled (its unit of work rolls back) and the stop goes on
    job_stop_grace: float = Field(default=10.0, ge=0)

    # --- retention: sent, dead and blocked messages, relayed messages and the keys of
    # handled webhook callbacks are deleted once they are this old (a message still
    # queued or retried never is); at least a week, which every look-back needs (the
    # announcement report looks 3 days back for its own row, relay limits a day)
    retention_days: int = Field(default=30, ge=7)
    retention_interval: float = Field(default=3600.0, gt=0)
    retention_chunk: int = Field(default=5000, ge=1)  # rows of each kind per transaction

    # SQLite: how often (seconds) the worker looks whether another process (an import)
    # committed, to run the scans of what writes cause at once
    data_version_interval: float = Field(default=1.0, gt=0)

    # --- the jobs (intervals in seconds; times are the school's local time)
    # false: this process only delivers the outbox (the scheduled jobs run in another)
    jobs: bool = True
    absence_interval: float = Field(default=20.0, gt=0)
    grades_interval: float = Field(default=60.0, gt=0)
    events_interval: float = Field(default=60.0, gt=0)
    teachers_interval: float = Field(default=60.0, gt=0)
    launch_interval: float = Field(default=30.0, gt=0)
    evening_interval: float = Field(default=300.0, gt=0)
    reports_interval: float = Field(default=15.0, gt=0)
    housekeeping_interval: float = Field(default=600.0, gt=0)
    absence_lookback_days: int = Field(default=1, ge=0)
    # later absences of a pupil's day: on these platforms the first alert is edited to
    # list them (NOTIFY_ABSENCE_EDIT_PLATFORMS='["telegram"]'; an edit makes no sound);
    # elsewhere they come as one follow-up at most once per window (seconds) after the
    # previous message of that alert, while a correction by the school goes at once
    absence_edit_platforms: tuple[str, ...] = ("telegram",)
    absence_followup_window: float = Field(default=300.0, ge=0)
    grade_lookback_hours: int = Field(default=48, ge=1)
    lesson_grace_minutes: int = Field(default=15, ge=0)
    homework_at: time = time(18, 0)
    digest_at: time = time(19, 0)
    event_reminder_at: time = time(18, 0)
    director_summary_at: time = time(16, 0)
    # the one reminder of an absence still unexplained the next school day
    absence_note_reminder_at: time = time(18, 0)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> NotifyConfig:
        base: dict[str, Any] = {  # pydantic checks each value
            "telegram_rate": settings.telegram_rate_per_second,
            "telegram_chat_rate": settings.telegram_chat_rate_per_second,
            "viber_rate": settings.viber_rate_per_second,
        }
        base.update(overrides)
        return cls(**base)

    def platform_rate(self, platform: str) -> float:
        return {"telegram": self.telegram_rate, "viber": self.viber_rate}.get(
            platform, self.console_rate)

    def chat_rate(self, platform: str) -> float | None:
        return self.telegram_chat_rate if platform == "telegram" else None

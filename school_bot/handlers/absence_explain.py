"""A parent explains a pupil's absence, or reports one in advance.

From an absence alert ("Explain", `xp:a:<alert id>`):

    [Explain] → the reason (buttons: the city's ABSENCE_REASONS)
    → "type a comment, or send" [✅ Send for <day>] [📅 Several days…] [✖️ Cancel]
    → [Send]: the note is stored and goes to the homeroom teacher

so the common case is two taps after "Explain": the reason and Send. A typed text in
that step is the comment (at most NOTE_MAX_CHARS); "Several days…" offers the pupil's
next school days up to ABSENCE_NOTE_MAX_DAYS (days with lessons of the class where the
school system posted them, else Monday to Friday).

In advance (the menu's "Report an absence", `/absent`): the child (when there are
several) → the first day (today or one of the next school days) → the reason → the
same comment-or-send step; the note is stored with `in_advance`.

Every press is checked again here: the alert must be the pressing chat's own, its
pupil still in the chat's family (consent on file, a launched school: family.py), the
chosen day and range among those offered. A day already covered by an undecided or
accepted note is not explained twice (a declined one may be). The flow lives in
`Account.state["xp"]` for FLOW_TTL. While it is open (and a while after sending), a
photo or a file is refused: the bot never accepts medical certificates, and keeps
nothing of what was sent.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from school_bot.handlers.extensions import Extension
from school_bot.handlers.family import Pupil, family_of, find_pupil, pupil_ref
from school_bot.handlers.router import stale
from school_bot.handlers.turn import Turn
from school_bot.notifications.note_decisions import days_text, reason_label
from school_bot.notifications.note_review import Audience, tell_reviewers
from school_bot.notifications.texts import EXPLAIN_PREFIX, day_words
from school_bot.shared.absence_reasons import DEFAULT as DEFAULT_REASONS
from school_bot.shared.absence_reasons import Reason, parse_reasons
from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import format_date, format_weekday, t, tn
from school_bot.shared.settings import Settings
from school_bot.storage.absence_notes import NOTE_MAX_CHARS, NoteStatus, add_note, covering
from school_bot.storage.models import AbsenceAlert, Account
from school_bot.storage.school_days import school_days as class_school_days

log = logging.getLogger(__name__)

PREFIX = EXPLAIN_PREFIX
COMMAND = "absent"
STATE_KEY = "xp"
FLOW_TTL = timedelta(hours=1)   # an unfinished explanation is forgotten after this
START_CHOICES = 3               # first days offered for a report in advance
STANDING = (NoteStatus.OPEN.value, NoteStatus.DOCUMENT.value, NoteStatus.ACCEPTED.value)
TEXT_STEPS = ("note",)


# ---------------------------------------------------------------- the flow's state


def _flow(turn: Turn) -> dict[str, Any] | None:
    """The open flow, unless it is older than FLOW_TTL."""
    return turn.flow(STATE_KEY, FLOW_TTL)


def _keep(turn: Turn, flow: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return turn.keep_flow(STATE_KEY, **{**flow, **changes})


def _drop(turn: Turn) -> None:
    turn.remember(**{STATE_KEY: None})


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


# ---------------------------------------------------------------- school days


async def school_days(turn: Turn, pupil: Pupil, start: date, count: int) -> list[date]:
    """The pupil's first `count` school days from `start` (storage/school_days.py)."""
    return await class_school_days(turn.session, pupil.class_id, start, count)


# ---------------------------------------------------------------- words


def _when(turn: Turn, pupil: Pupil, day: date) -> str:
    """"today", "tomorrow", "yesterday" (the alerts' words) or "on 27 November"."""
    today = pupil.today(turn.now)
    words = day_words(turn.locale, day, today)
    return words if abs((day - today).days) <= 1 else t(turn.locale, "on {date}", date=words)


def _status_words(locale: str, status: str) -> str:
    words = {
        NoteStatus.OPEN.value: t(locale, "it is waiting for the teacher's decision"),
        NoteStatus.DOCUMENT.value: t(locale, "the teacher asked you to bring a document to school"),
        NoteStatus.ACCEPTED.value: t(locale, "the school accepted it"),
    }
    return words.get(status, status)


def _cancel(locale: str) -> Button:
    return Button(t(locale, "✖️ Cancel"), f"{PREFIX}x")


def _gone(turn: Turn) -> list[Reply]:
    return [Reply(text=t(turn.locale, "This explanation is no longer open. Press “Explain” under "
                                      "the absence alert again, or send /absent."))]


def _for_parents(turn: Turn) -> list[Reply]:
    return [Reply(text=t(turn.locale, "Absences can be reported by parents linked to the bot "
                                      "whose children's school has launched."))]


def health_refusal(locale: str) -> Reply:
    return Reply(text=t(locale, "📵 The bot does not accept photos or files, and nothing of what "
                                "you sent was kept. Never send medical certificates or other health "
                                "documents here: bring them to school. An explanation is written "
                                "in words (up to {limit} characters).", limit=NOTE_MAX_CHARS))


# ---------------------------------------------------------------- the extension


class AbsenceExplainExtension(Extension):
    command = COMMAND
    prefix = PREFIX
    listed = True

    def __init__(self, *, reasons: tuple[Reason, ...] = parse_reasons(DEFAULT_REASONS),
                 max_days: int = 10) -> None:
        self.reasons = reasons
        self.max_days = max_days

    def available(self, turn: Turn) -> bool:
        return bool(turn.account.guardian_links)

    def description(self, locale: str) -> str:
        return t(locale, "Report a child's absence to the school")

    def menu_label(self, turn: Turn) -> str | None:
        return _label(turn.locale) if self.available(turn) else None

    # -------------------------------------------------------- entry points

    async def start(self, turn: Turn) -> list[Reply]:
        """Report in advance: the child, or straight to the first day."""
        family = await self._family(turn)
        if not family:
            _drop(turn)
            return _for_parents(turn)
        if len(family) == 1:
            return await self._ask_day(turn, family[0], family)
        _keep(turn, {"s": "child", "v": True})
        rows = [[Button(p.first_name, f"{PREFIX}c:{pupil_ref(p, family)}")] for p in family]
        return [Reply(text=t(turn.locale, "Whose absence do you want to report?"),
                      buttons=[*rows, [_cancel(turn.locale)]])]

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        action, _, value = payload.removeprefix(PREFIX).partition(":")
        if action == "a":
            return await self._from_alert(turn, value)
        if action == "x":
            _drop(turn)
            return [Reply(text=t(turn.locale, "The explanation was not sent."), edit=True)]
        flow = _flow(turn)
        family = await self._family(turn)
        if flow is None or not family:
            return _gone(turn)
        if flow.get("s") == "done":
            return [Reply(text=t(turn.locale, "This explanation has already been sent."))]
        if action == "c" and flow.get("s") == "child":
            pupil = find_pupil(family, value)
            return await self._ask_day(turn, pupil, family) if pupil else [stale(turn)]
        pupil = find_pupil(family, str(flow.get("p") or ""))
        if pupil is None:
            _drop(turn)
            return [stale(turn)]
        handlers = {"d": self._day_chosen, "r": self._reason_chosen, "m": self._ask_until,
                    "u": self._until_chosen, "s": self._send}
        handler = handlers.get(action)
        if handler is None:
            return [stale(turn)]
        return await handler(turn, flow, pupil, value)

    def wants_text(self, turn: Turn) -> bool:
        flow = _flow(turn)
        return flow is not None and flow.get("s") in TEXT_STEPS and bool(turn.account.guardian_links)

    def leave(self, turn: Turn) -> None:
        _drop(turn)

    async def text(self, turn: Turn, text: str) -> list[Reply]:
        """The comment typed in the comment-or-send step."""
        typed = text.strip()
        flow = _flow(turn)
        family = await self._family(turn)
        pupil = find_pupil(family, str((flow or {}).get("p") or ""))
        if flow is None or pupil is None:
            _drop(turn)
            return _gone(turn)
        if not typed:
            return [Reply(text=t(turn.locale, "Please type the comment as text."))]
        if len(typed) > NOTE_MAX_CHARS:
            return [Reply(text=tn(turn.locale,
                                  "This comment is {n} character long; at most {limit} fit. "
                                  "Please shorten it and send it again, or send the explanation "
                                  "without a comment.",
                                  "This comment is {n} characters long; at most {limit} fit. "
                                  "Please shorten it and send it again, or send the explanation "
                                  "without a comment.", len(typed), limit=NOTE_MAX_CHARS),
                          buttons=(await self._step_buttons(turn, flow, pupil))[0])]
        flow = _keep(turn, flow, t=typed)
        return [await self._note_step(turn, flow, pupil, edit=False)]

    async def media(self, turn: Turn) -> list[Reply]:
        """A photo or a file while explaining (or just after): refused, not kept."""
        if _flow(turn) is None:
            return []
        return [health_refusal(turn.locale)]

    # -------------------------------------------------------- steps

    async def _family(self, turn: Turn) -> list[Pupil]:
        if not turn.account.active or not turn.account.guardian_links:
            return []
        return await family_of(turn)

    async def _from_alert(self, turn: Turn, value: str) -> list[Reply]:
        """[Explain] under an alert: the chat's own alert of a pupil still in its family."""
        alert = await turn.session.get(AbsenceAlert, int(value)) if value.isdigit() else None
        family = await self._family(turn)
        pupil = find_pupil(family, alert.student_id) if alert is not None else None
        if alert is None or alert.account_id != turn.account.id or pupil is None:
            return [stale(turn)]
        covered = await self._covered(turn, pupil, alert.day, alert.day)
        if covered is not None:
            _drop(turn)
            return [covered]
        flow = _keep(turn, {"s": "reason", "p": pupil.id, "d": alert.day.isoformat(), "n": 1,
                            "v": False})
        return [self._ask_reason(turn, flow, pupil, edit=False)]

    async def _ask_day(self, turn: Turn, pupil: Pupil, family: list[Pupil]) -> list[Reply]:
        days = await school_days(turn, pupil, pupil.today(turn.now), START_CHOICES)
        _keep(turn, {"s": "day", "p": pupil.id, "v": True, "n": 1})
        rows = [[Button(_day_label(turn, pupil, day), f"{PREFIX}d:{day:%Y%m%d}")] for day in days]
        return [Reply(text=t(turn.locale, "When will {pupil} be absent? Choose the first day; "
                                          "several days can be chosen later.",
                             pupil=pupil.first_name),
                      buttons=[*rows, [_cancel(turn.locale)]], edit=len(family) > 1)]

    async def _day_chosen(self, turn: Turn, flow: dict[str, Any], pupil: Pupil,
                          value: str) -> list[Reply]:
        offered = await school_days(turn, pupil, pupil.today(turn.now), START_CHOICES)
        day = next((d for d in offered if f"{d:%Y%m%d}" == value), None)
        if flow.get("s") != "day" or day is None:
            return [stale(turn)]
        covered = await self._covered(turn, pupil, day, day)
        if covered is not None:
            _drop(turn)
            return [covered]
        flow = _keep(turn, flow, s="reason", d=day.isoformat(), n=1)
        return [self._ask_reason(turn, flow, pupil, edit=True)]

    def _ask_reason(self, turn: Turn, flow: dict[str, Any], pupil: Pupil, *, edit: bool) -> Reply:
        locale, day = turn.locale, _day(flow.get("d")) or pupil.today(turn.now)
        buttons = [Button(reason_label(locale, r.key, self.reasons), f"{PREFIX}r:{r.key}")
                   for r in self.reasons]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        if flow.get("v"):
            text = t(locale, "Why will {pupil} be absent {when}?", pupil=pupil.first_name,
                     when=_when(turn, pupil, day))
        else:
            text = t(locale, "Why was {pupil} absent {when}?", pupil=pupil.first_name,
                     when=_when(turn, pupil, day))
        return Reply(text=text, buttons=[*rows, [_cancel(locale)]], edit=edit)

    async def _reason_chosen(self, turn: Turn, flow: dict[str, Any], pupil: Pupil,
                             value: str) -> list[Reply]:
        if flow.get("s") not in ("reason", "note") or value not in {r.key for r in self.reasons}:
            return [stale(turn)]
        flow = _keep(turn, flow, s="note", r=value)
        return [await self._note_step(turn, flow, pupil, edit=True)]

    async def _ask_until(self, turn: Turn, flow: dict[str, Any], pupil: Pupil,
                         _value: str) -> list[Reply]:
        first = _day(flow.get("d"))
        if flow.get("s") != "note" or first is None:
            return [stale(turn)]
        days = await school_days(turn, pupil, first, self.max_days)
        locale = turn.locale
        buttons = [Button(tn(locale, "until {day} ({n} school day)", "until {day} ({n} school days)",
                             n, day=_short(locale, day)), f"{PREFIX}u:{n}")
                   for n, day in enumerate(days, start=1) if n > 1]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        text = tn(locale, "Until which day? One explanation covers at most {n} school day.",
                  "Until which day? One explanation covers at most {n} school days.",
                  self.max_days)
        return [Reply(text=text, buttons=[*rows, [Button(t(locale, "↩️ Back"), f"{PREFIX}u:1")],
                                          [_cancel(locale)]], edit=True)]

    async def _until_chosen(self, turn: Turn, flow: dict[str, Any], pupil: Pupil,
                            value: str) -> list[Reply]:
        if flow.get("s") != "note":
            return [stale(turn)]
        count = int(value) if value.isdigit() else 0
        if not 1 <= count <= self.max_days:
            return [Reply(text=tn(turn.locale, "One explanation covers at most {n} school day.",
                                  "One explanation covers at most {n} school days.",
                                  self.max_days))]
        flow = _keep(turn, flow, n=count)
        return [await self._note_step(turn, flow, pupil, edit=True)]

    async def _span(self, turn: Turn, flow: dict[str, Any], pupil: Pupil) -> tuple[date, date] | None:
        first = _day(flow.get("d"))
        stored = flow.get("n")
        count = stored if isinstance(stored, int) else 1
        if first is None or not 1 <= count <= self.max_days:
            return None
        days = await school_days(turn, pupil, first, count)
        return first, (days[-1] if days else first)

    async def _step_buttons(self, turn: Turn, flow: dict[str, Any], pupil: Pupil
                            ) -> tuple[list[list[Button]], tuple[date, date] | None]:
        span = await self._span(turn, flow, pupil)
        locale = turn.locale
        if span is None:
            return [[_cancel(locale)]], None
        when = days_text(locale, *span)
        return [[Button(t(locale, "✅ Send for {days}", days=when), f"{PREFIX}s")],
                [Button(t(locale, "📅 Several days…"), f"{PREFIX}m")],
                [_cancel(locale)]], span

    async def _note_step(self, turn: Turn, flow: dict[str, Any], pupil: Pupil, *,
                         edit: bool) -> Reply:
        locale = turn.locale
        buttons, span = await self._step_buttons(turn, flow, pupil)
        if span is None:
            return Reply(text=_gone(turn)[0].text, edit=edit)
        lines = [t(locale, "{pupil}, {days}: {reason}.", pupil=pupil.first_name,
                   days=days_text(locale, *span),
                   reason=reason_label(locale, str(flow.get("r")), self.reasons))]
        if flow.get("t"):
            lines.append(t(locale, "Your comment: {note}", note=flow["t"]))
            lines.append(t(locale, "Type another comment to replace it, or send the explanation."))
        else:
            lines.append(t(locale, "Add a comment for the teacher: type it (up to {limit} "
                                   "characters). Or send the explanation as it is.",
                           limit=NOTE_MAX_CHARS))
        return Reply(text="\n".join(lines), buttons=buttons, edit=edit)

    async def _covered(self, turn: Turn, pupil: Pupil, first: date, last: date) -> Reply | None:
        """The answer when a note that stands (undecided or accepted) covers these days."""
        standing = [n for n in await covering(turn.session, pupil.id, first, last)
                    if n.status in STANDING]
        if not standing:
            return None
        note = standing[-1]
        locale = turn.locale
        return Reply(text=t(locale, "{pupil}'s absence {days} is already explained ({reason}): "
                                    "{status}.", pupil=pupil.first_name,
                            days=days_text(locale, note.first_day, note.last_day),
                            reason=reason_label(locale, note.reason, self.reasons),
                            status=_status_words(locale, note.status)))

    async def _send(self, turn: Turn, flow: dict[str, Any], pupil: Pupil,
                    _value: str) -> list[Reply]:
        """[Send]: the account row is locked and the flow read again, so it goes once."""
        locked = await turn.session.scalar(
            select(Account).where(Account.id == turn.account.id)
            .with_for_update().execution_options(populate_existing=True))
        flow = (_flow(turn) if locked is not None else None) or {}
        reason = str(flow.get("r") or "")
        if flow.get("s") != "note" or reason not in {r.key for r in self.reasons} \
                or flow.get("p") != pupil.id:
            return _gone(turn)
        span = await self._span(turn, flow, pupil)
        if span is None:
            return _gone(turn)
        covered = await self._covered(turn, pupil, *span)
        if covered is not None:
            _drop(turn)
            covered.edit = True
            return [covered]
        note = await add_note(
            turn.session, school_id=pupil.school_id, class_id=pupil.class_id,
            student_id=pupil.id, guardian_id=pupil.guardian_id, account_id=turn.account.id,
            first_day=span[0], last_day=span[1], reason=reason, note=flow.get("t"),
            in_advance=bool(flow.get("v")), now=turn.now)
        told = await tell_reviewers(turn.session, note, now=turn.now,
                                    default_locale=turn.settings.default_locale,
                                    reasons=self.reasons)
        _keep(turn, {"s": "done"})  # a photo sent just after is still refused
        log.info("absence note %s written, reviewers told: %s (%d)", note.id, told.audience.value,
                 told.rows)
        return [Reply(text=_sent(turn.locale, told.audience, pupil,
                                 days_text(turn.locale, *span),
                                 reason_label(turn.locale, reason, self.reasons)), edit=True)]


def _label(locale: str) -> str:
    return t(locale, "📝 Report an absence")


def _short(locale: str, day: date) -> str:
    return f"{format_weekday(day, locale, 'abbreviated')} {format_date(day, locale)}"


def _day_label(turn: Turn, pupil: Pupil, day: date) -> str:
    delta = (day - pupil.today(turn.now)).days
    if delta == 0:
        return t(turn.locale, "Today, {date}", date=format_date(day, turn.locale))
    if delta == 1:
        return t(turn.locale, "Tomorrow, {date}", date=format_date(day, turn.locale))
    return f"{format_weekday(day, turn.locale)}, {format_date(day, turn.locale)}"


def _sent(locale: str, audience: Audience, pupil: Pupil, days: str, reason: str) -> str:
    summary = t(locale, "{pupil}, {days}: {reason}.", pupil=pupil.first_name, days=days,
                reason=reason)
    if audience is Audience.HOMEROOM:
        head = t(locale, "✅ The explanation was sent to the homeroom teacher. Their answer will "
                         "come here.")
    elif audience is Audience.ADMINISTRATION:
        head = t(locale, "✅ The explanation was sent to the school's administration (the homeroom "
                         "teacher is not in the bot yet). The answer will come here.")
    else:
        head = t(locale, "📝 The explanation is recorded. No one of the school is in the bot yet "
                         "to receive it; the school system will see it.")
    return f"{head}\n{summary}"


def build(settings: Settings) -> AbsenceExplainExtension:
    """The extension with the city's reasons and day limit (bot/app.py)."""
    return AbsenceExplainExtension(reasons=settings.reasons, max_days=settings.absence_note_max_days)

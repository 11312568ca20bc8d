"""Settings: language, which notifications, quiet hours; extensions add their own entries.

Buttons: `st:l:<uk|en>`, `st:g:<off|instant|digest>`, `st:h:<1|0>`, `st:e:<1|0>`,
`st:q` (the quiet-hours choices), `st:q:<d|o|index>`, and for a parent `st:a:<1|0>`
(absence alerts in quiet hours: at once, or when the hours end) and `st:r:<1|0>` (the
evening reminder to explain an absence). Each press changes the
account and shows the settings again (editing the message the button was on).
"""

from __future__ import annotations

from school_bot.handlers.menu import menu_for
from school_bot.handlers.turn import Turn
from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import SUPPORTED_LOCALES, t

PREFIX = "st:"
GRADE_MODES = ("off", "instant", "digest")
QUIET_CHOICES = ("22:00-07:00", "20:00-08:00", "23:00-06:00")
LANGUAGE_NAMES = {"uk": "Українська", "en": "English"}


def _on_off(locale: str, value: bool) -> str:
    return t(locale, "on") if value else t(locale, "off")


def _grade_mode(locale: str, mode: str) -> str:
    return {"instant": t(locale, "at once"), "digest": t(locale, "daily digest")}.get(mode, t(locale, "off"))


def _absence_alerts(locale: str, value: bool) -> str:
    return t(locale, "at once") if value else t(locale, "when quiet hours end")


def _quiet(turn: Turn) -> str:
    value = turn.account.quiet_hours
    if value is None:
        return t(turn.locale, "{window} (default)", window=turn.settings.quiet_hours)
    return value or t(turn.locale, "off")


def describe(turn: Turn) -> str:
    account, locale = turn.account, turn.locale
    lines = [t(locale, "Settings"), "", t(locale, "Language: {name}", name=LANGUAGE_NAMES[locale])]
    if account.linked:
        lines += [t(locale, "New grades: {mode}", mode=_grade_mode(locale, account.notify_grades)),
                  t(locale, "Homework for tomorrow: {state}", state=_on_off(locale, account.notify_homework)),
                  t(locale, "School events: {state}", state=_on_off(locale, account.notify_events)),
                  t(locale, "Quiet hours: {window}", window=_quiet(turn))]
    if account.guardian_links:
        lines.append(t(locale, "Absence alerts in quiet hours: {state}",
                       state=_absence_alerts(locale, account.absence_alerts_in_quiet_hours)))
        lines.append(t(locale, "Reminders to explain absences: {state}",
                       state=_on_off(locale, account.absence_note_reminders)))
    return "\n".join(lines)


def buttons(turn: Turn) -> list[list[Button]]:
    account, locale = turn.account, turn.locale
    rows = [[Button(LANGUAGE_NAMES[code], f"{PREFIX}l:{code}")
             for code in SUPPORTED_LOCALES if code != locale]]
    if not account.linked:
        return rows
    following = GRADE_MODES[(GRADE_MODES.index(account.notify_grades) + 1) % 3] \
        if account.notify_grades in GRADE_MODES else "instant"
    rows += [[Button(t(locale, "Grades: {mode}", mode=_grade_mode(locale, account.notify_grades)),
                     f"{PREFIX}g:{following}")],
             [Button(t(locale, "Homework: {state}", state=_on_off(locale, account.notify_homework)),
                     f"{PREFIX}h:{0 if account.notify_homework else 1}"),
              Button(t(locale, "Events: {state}", state=_on_off(locale, account.notify_events)),
                     f"{PREFIX}e:{0 if account.notify_events else 1}")],
             [Button(t(locale, "Quiet hours"), f"{PREFIX}q")]]
    if account.guardian_links:
        at_night = account.absence_alerts_in_quiet_hours
        rows.append([Button(t(locale, "Absences in quiet hours: {state}",
                              state=_absence_alerts(locale, at_night)),
                            f"{PREFIX}a:{0 if at_night else 1}")])
        reminders = account.absence_note_reminders
        rows.append([Button(t(locale, "Reminders to explain absences: {state}",
                              state=_on_off(locale, reminders)),
                            f"{PREFIX}r:{0 if reminders else 1}")])
    for extension in turn.extensions:
        rows += [[button] for button in extension.settings_buttons(turn)]
    return rows


def show(turn: Turn, *, edit: bool = False) -> list[Reply]:
    return [Reply(text=describe(turn), buttons=buttons(turn), edit=edit)]


async def press(turn: Turn, payload: str) -> list[Reply]:
    what, _, value = payload[len(PREFIX):].partition(":")
    account = turn.account
    if what == "l" and value in SUPPORTED_LOCALES:
        account.language = turn.locale = value
        replies = show(turn, edit=True)
        if account.linked:
            replies.append(Reply(text=t(value, "Language: {name}", name=LANGUAGE_NAMES[value]),
                                 menu=menu_for(turn)))
        return replies
    if not account.linked:
        return show(turn, edit=True)
    if what == "g" and value in GRADE_MODES:
        account.notify_grades = value
    elif what in ("h", "e") and value in ("0", "1"):
        setattr(account, "notify_homework" if what == "h" else "notify_events", value == "1")
    elif what == "a" and value in ("0", "1") and account.guardian_links:
        account.absence_alerts_in_quiet_hours = value == "1"
    elif what == "r" and value in ("0", "1") and account.guardian_links:
        account.absence_note_reminders = value == "1"
    elif what == "q":
        return _quiet_hours(turn, value)
    return show(turn, edit=True)


def _quiet_hours(turn: Turn, value: str) -> list[Reply]:
    if value == "d":
        turn.account.quiet_hours = None
    elif value == "o":
        turn.account.quiet_hours = ""
    elif value.isdigit() and int(value) < len(QUIET_CHOICES):
        turn.account.quiet_hours = QUIET_CHOICES[int(value)]
    else:
        choices = [[Button(t(turn.locale, "{window} (default)", window=turn.settings.quiet_hours),
                           f"{PREFIX}q:d")],
                   *[[Button(window, f"{PREFIX}q:{n}")] for n, window in enumerate(QUIET_CHOICES)],
                   [Button(t(turn.locale, "No quiet hours"), f"{PREFIX}q:o")]]
        return [Reply(text=t(turn.locale, "When should notifications wait until morning? "
                                          "Urgent announcements still come through."),
                      buttons=choices, edit=True)]
    return show(turn, edit=True)

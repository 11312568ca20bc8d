"""`/announce`: a staff member makes an announcement from the chat.

    /announce → who is it for? (buttons) → the text → a preview with the number of
    recipients → [Send] (a director may first mark it urgent) → "on its way" with a
    📊 Progress button; the final report arrives by itself when every copy is done.

Every press is authorised again (notifications.announcements.authorize: the same rule
as the command line), so a button kept from yesterday cannot do what its author may
no longer do. The draft lives in `Account.state["announce"]`; the account row is locked
when the announcement is written, so a double press sends it once. Neutral events and
replies only: nothing here knows a messenger.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import t
from school_bot.handlers.turn import Turn
from school_bot.notifications import texts
from school_bot.notifications.announcements import (
    MAX_TEXT,
    URGENT_ROLES,
    Author,
    Choice,
    NotAllowed,
    audience_choices,
    authorize,
    create_announcement,
    progress,
    recipients,
    staff_author,
)
from school_bot.storage.models import Account, Announcement, School

PREFIX = "an:"
COMMAND = "announce"
STATE_KEY = "announce"
DOMAIN = "notifications"


def _t(locale: str, msgid: str, **params: Any) -> str:
    return t(locale, msgid, domain=DOMAIN, **params)


def _choice_label(locale: str, choice: Choice) -> str:
    if choice.audience == "city":
        return _t(locale, "All schools of the city")
    if choice.audience == "school":
        if choice.label:
            return _t(locale, "School: {school}", school=choice.label)
        return _t(locale, "The whole school")
    if choice.audience == "teachers":
        return _t(locale, "The school's teachers")
    if choice.audience == "grade":
        return _t(locale, "Grade {grade} (all its classes)", grade=choice.label)
    return _t(locale, "Class {name}", name=choice.label)


class AnnounceFlow:
    """The conversation's steps; the core calls `start`, `press` and `text`."""

    def __init__(self, default_locale: str = "uk") -> None:
        self.default_locale = default_locale

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def draft(account: Account) -> dict[str, Any] | None:
        return (account.state or {}).get(STATE_KEY)

    @staticmethod
    def _save(account: Account, draft: dict[str, Any] | None) -> None:
        state = dict(account.state or {})
        if draft is None:
            state.pop(STATE_KEY, None)
        else:
            state[STATE_KEY] = draft
        account.state = state  # a new dict: the JSON column sees the change

    def wants_text(self, turn: Turn) -> bool:
        draft = self.draft(turn.account)
        return bool(draft and draft.get("step") == "text")

    @staticmethod
    async def _author(session: AsyncSession, account: Account) -> Author | None:
        if not account.active or account.staff_id is None:
            return None
        return await staff_author(session, account.staff_id, account.id)

    def _refusal(self, locale: str, reason: str) -> list[Reply]:
        return [Reply(text=texts.not_allowed(locale, reason))]

    def _cancel_button(self, locale: str) -> Button:
        return Button(_t(locale, "✖️ Cancel"), f"{PREFIX}no")

    # ------------------------------------------------------------------ steps

    async def start(self, turn: Turn) -> list[Reply]:
        session, account = turn.session, turn.account
        locale = turn.locale
        author = await self._author(session, account)
        if author is None:
            return [Reply(text=_t(locale, "Only the school's staff can make announcements."))]
        choices = await audience_choices(session, author)
        if not choices:
            return [Reply(text=_t(locale, "There is nobody you may announce to."))]
        offered = [[c.audience, c.value, c.label, c.school_id] for c in choices]
        self._save(account, {"step": "audience", "offered": offered})
        buttons = [[Button(_choice_label(locale, c), f"{PREFIX}a:{i}")] for i, c in enumerate(choices)]
        buttons.append([self._cancel_button(locale)])
        return [Reply(text=_t(locale, "📢 Who is the announcement for?"), buttons=buttons)]

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        """A button of this flow (`payload` starts with PREFIX)."""
        session, account = turn.session, turn.account
        locale = turn.locale
        action = payload[len(PREFIX):]
        if action.startswith("p:"):
            return await self._progress(turn, action[2:])
        author = await self._author(session, account)
        if author is None:
            self._save(account, None)
            return [Reply(text=_t(locale, "Only the school's staff can make announcements."))]
        if action == "no":
            self._save(account, None)
            return [Reply(text=_t(locale, "The announcement was cancelled."), edit=True)]
        draft = self.draft(account)
        if draft is None:
            return [Reply(text=_t(locale, "This draft is gone. Start again with /announce."))]
        if action.startswith("a:") and draft.get("step") == "audience":
            return await self._chose(turn, author, draft, action[2:])
        if action == "u" and draft.get("step") == "confirm":
            return await self._toggle_urgent(turn, author, draft)
        if action == "ok" and draft.get("step") == "confirm":
            return await self._send(turn)
        return [Reply(text=_t(locale, "This draft is gone. Start again with /announce."))]

    async def text(self, turn: Turn, text: str) -> list[Reply]:
        """The announcement's text (the draft is waiting for it: see `wants_text`)."""
        session, account = turn.session, turn.account
        locale = turn.locale
        draft = self.draft(account) or {}
        author = await self._author(session, account)
        if author is None:
            self._save(account, None)
            return [Reply(text=_t(locale, "Only the school's staff can make announcements."))]
        body = (text or "").strip()
        if not body:
            return self._refusal(locale, "announce.error.empty")
        if len(body) > MAX_TEXT:
            return self._refusal(locale, "announce.error.too_long")
        draft = {**draft, "step": "confirm", "text": body, "urgent": False}
        try:
            await self._authorize(session, author, draft)
        except NotAllowed as refusal:
            self._save(account, None)
            return self._refusal(locale, refusal.reason)
        self._save(account, draft)
        return [await self._preview(turn, author, draft)]

    # ------------------------------------------------------------------ internals

    @staticmethod
    async def _authorize(session: AsyncSession, author: Author, draft: dict[str, Any]) -> None:
        await authorize(session, author, school_id=draft.get("school_id"),
                        audience=draft["audience"], audience_value=draft.get("value"),
                        urgent=bool(draft.get("urgent")))

    async def _chose(self, turn: Turn, author: Author,
                     draft: dict[str, Any], index: str) -> list[Reply]:
        session, account = turn.session, turn.account
        locale = turn.locale
        offered = draft.get("offered") or []
        if not index.isdigit() or int(index) >= len(offered):
            return [Reply(text=_t(locale, "This draft is gone. Start again with /announce."))]
        audience, value, label, school_id = offered[int(index)]
        chosen = {"step": "text", "audience": audience, "value": value, "label": label,
                  "school_id": school_id, "urgent": False}
        try:
            await self._authorize(session, author, chosen)
        except NotAllowed as refusal:
            self._save(account, None)
            return self._refusal(locale, refusal.reason)
        self._save(account, chosen)
        return [Reply(text=_t(locale, "Write the announcement (up to {limit} characters).",
                              limit=MAX_TEXT),
                      buttons=[[self._cancel_button(locale)]], edit=True)]

    async def _toggle_urgent(self, turn: Turn, author: Author,
                             draft: dict[str, Any]) -> list[Reply]:
        session, account = turn.session, turn.account
        draft = {**draft, "urgent": not draft.get("urgent")}
        try:
            await self._authorize(session, author, draft)
        except NotAllowed as refusal:
            return self._refusal(turn.locale, refusal.reason)
        self._save(account, draft)
        preview = await self._preview(turn, author, draft)
        preview.edit = True
        return [preview]

    async def _preview(self, turn: Turn, author: Author,
                       draft: dict[str, Any]) -> Reply:
        session = turn.session
        locale = turn.locale
        school_id = draft.get("school_id")
        count = len(await recipients(session, school_id=school_id, audience=draft["audience"],
                                     audience_value=draft.get("value")))
        school = await session.get(School, school_id) if school_id else None
        shown = texts.announcement(locale, school=school.name if school else None,
                                   text=draft["text"], urgent=bool(draft.get("urgent")))
        choice = Choice(draft["audience"], draft.get("value"), draft.get("label") or "", school_id)
        head = texts.announce_preview_head(locale, audience=_choice_label(locale, choice), count=count)
        buttons = [[Button(_t(locale, "✅ Send"), f"{PREFIX}ok")]]
        if author.role in URGENT_ROLES:
            label = (_t(locale, "❗ Urgent: on") if draft.get("urgent")
                     else _t(locale, "Urgent: off"))
            buttons.append([Button(label, f"{PREFIX}u")])
        buttons.append([self._cancel_button(locale)])
        return Reply(text=f"{head}\n\n{shown.text}", buttons=buttons)

    async def _send(self, turn: Turn) -> list[Reply]:
        """Write the announcement once: the account row is locked and the draft re-read."""
        session, account = turn.session, turn.account
        locale = turn.locale
        locked = await session.scalar(
            select(Account).where(Account.id == account.id)
            .with_for_update().execution_options(populate_existing=True))
        draft = self.draft(locked) if locked is not None else None
        author = await self._author(session, locked) if locked is not None else None
        if locked is None or author is None or not draft or draft.get("step") != "confirm":
            return [Reply(text=_t(locale, "This draft is gone. Start again with /announce."))]
        try:
            announcement = await create_announcement(
                session, author=author, school_id=draft.get("school_id"),
                audience=draft["audience"], audience_value=draft.get("value"),
                text=draft["text"], urgent=bool(draft.get("urgent")),
                default_locale=self.default_locale)
        except NotAllowed as refusal:
            self._save(locked, None)
            return self._refusal(locale, refusal.reason)
        self._save(locked, None)
        text = texts.announce_queued(locale, announcement.id, announcement.recipients)
        return [Reply(text=text, buttons=[[self._progress_button(locale, announcement.id)]],
                      edit=True)]

    def _progress_button(self, locale: str, announcement_id: int) -> Button:
        return Button(_t(locale, "📊 Progress"), f"{PREFIX}p:{announcement_id}")

    async def _progress(self, turn: Turn, raw_id: str) -> list[Reply]:
        session, account = turn.session, turn.account
        locale = turn.locale
        announcement = await session.get(Announcement, int(raw_id)) if raw_id.isdigit() else None
        if announcement is None or announcement.author_account_id != account.id:
            return [Reply(text=_t(locale, "There is no such announcement of yours."))]
        state = await progress(session, announcement.id)
        buttons = [] if state.done else [[self._progress_button(locale, announcement.id)]]
        return [Reply(text=texts.announce_progress(locale, announcement.id, state),
                      buttons=buttons, edit=True)]

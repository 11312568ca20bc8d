"""The homeroom teacher decides on parents' explanations of absences (`AbsenceNote`).

    a note's message (sent to the reviewers when it is written), or /explanations
    (the staff menu's "Explanations"): each open note with three buttons
    → ✅ Accept            xt:a:<note id>
    → 📄 Ask for a document xt:d:<note id>  (the parent brings it to school; still open)
    → ❌ Decline           xt:n:<note id>  → a short reason, typed (at most 300
                                             characters) or one of the quick reasons
                                             xt:r:<note id>:<key>; ↩️ Back xt:c:<note id>
    /explanations pages on with xt:l:<the last note id shown>.

Who may decide, asked again on every press (payloads are client-controlled): a chat
linked to a staff member with consent, not erased, of a launched school, who is the
homeroom teacher of the note's class, or the school's director or admin. Anyone else
gets the core's "not available" answer and learns nothing of the note. A decided note
(accepted or declined) is not decided again: the reviewer is told who decided and
when. Each decision goes to the audit log (storage/absence_notes.decide) and the
parent is told through the outbox (notifications/note_decisions.tell_parent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.handlers.extensions import Extension
from school_bot.handlers.router import stale
from school_bot.handlers.turn import Turn
from school_bot.notifications.note_decisions import QUICK_REASONS, quick_reason, tell_parent
from school_bot.notifications.note_review import (
    ADMINISTRATION,
    REVIEW_PREFIX,
    decision_buttons,
    note_lines,
)
from school_bot.shared.events import Button, Reply
from school_bot.shared.i18n import N_, t, tn
from school_bot.storage.absence_notes import (
    FINAL,
    NOTE_MAX_CHARS,
    SCHOOL_SYSTEM,
    UNDECIDED,
    NoteStatus,
    decide,
)
from school_bot.storage.models import AbsenceNote, Account, School, SchoolClass, Staff, Student

COMMAND = "explanations"
PREFIX = REVIEW_PREFIX
STATE_KEY = "note_decline"
PAGE = 5  # notes per /explanations message batch (each note is a message with its buttons)
DECLINE_WAIT = timedelta(minutes=30)  # a typed reason is taken this long after "Decline"
STATUS_WORDS = {
    NoteStatus.OPEN.value: N_("waiting for your decision"),
    NoteStatus.DOCUMENT.value: N_("a document was asked for"),
    NoteStatus.ACCEPTED.value: N_("accepted"),
    NoteStatus.DECLINED.value: N_("declined"),
}


@dataclass(frozen=True)
class Reviewer:
    staff_id: str
    school_id: str
    role: str
    classes: frozenset[str]  # the classes whose homeroom teacher this is

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"

    @property
    def whole_school(self) -> bool:
        return self.role in ADMINISTRATION  # they get the notes no homeroom teacher can

    def may_decide(self, note: AbsenceNote) -> bool:
        return note.school_id == self.school_id and (self.whole_school or note.class_id in self.classes)


async def reviewer(session: AsyncSession, account: Account) -> Reviewer | None:
    """The chat's staff member, if they may review notes now (None: they may not)."""
    if not account.active or account.staff_id is None:
        return None
    staff = await session.get(Staff, account.staff_id)
    if staff is None or not staff.consent or staff.erased_at is not None:
        return None
    school = await session.get(School, staff.school_id)
    if school is None or not school.launched:
        return None
    classes = await session.scalars(select(SchoolClass.id).where(
        SchoolClass.school_id == staff.school_id, SchoolClass.homeroom_teacher_id == staff.id))
    return Reviewer(staff.id, staff.school_id, staff.role, frozenset(classes))


# ---------------------------------------------------------------- what a note looks like


@dataclass(frozen=True)
class Shown:
    """A note with the names it is shown with."""

    note: AbsenceNote
    pupil: str
    class_name: str


async def _shown(session: AsyncSession, notes: Sequence[AbsenceNote]) -> list[Shown]:
    if not notes:
        return []
    names = dict((await session.execute(select(Student.id, Student.full_name).where(
        Student.id.in_({n.student_id for n in notes})))).tuples().all())
    classes = dict((await session.execute(select(SchoolClass.id, SchoolClass.name).where(
        SchoolClass.id.in_({n.class_id for n in notes})))).tuples().all())
    return [Shown(n, names.get(n.student_id, "—"), classes.get(n.class_id, "—")) for n in notes]


async def _decided_by(session: AsyncSession, locale: str, note: AbsenceNote, me: Reviewer) -> str:
    if note.decided_by == SCHOOL_SYSTEM:
        return t(locale, "the school system")
    if note.decided_by == me.staff_id:
        return t(locale, "you")
    staff = await session.get(Staff, note.decided_by) if note.decided_by else None
    return staff.full_name if staff is not None and staff.full_name else t(locale, "a staff member")


async def card(turn: Turn, shown: Shown, me: Reviewer) -> str:
    """The note as a reviewer sees it: pupil, class, days, reason, note, status."""
    locale, note = turn.locale, shown.note
    lines = note_lines(locale, note, pupil=shown.pupil, class_name=shown.class_name,
                       reasons=turn.settings.reasons)
    status = t(locale, STATUS_WORDS.get(note.status, note.status))
    if note.status in FINAL:
        moment = (note.decided_at or note.updated_at).astimezone(turn.settings.zone)
        when = moment.strftime("%d.%m.%Y %H:%M")
        status = t(locale, "{status} — {who}, {when}", status=status,
                   who=await _decided_by(turn.session, locale, note, me), when=when)
    lines.append(t(locale, "Status: {status}", status=status))
    if note.status == NoteStatus.DECLINED.value and note.decision_note:
        lines.append(t(locale, "Reason for declining: {reason}", reason=note.decision_note))
    return "\n".join(lines)


# ---------------------------------------------------------------- the extension


class AbsenceReviewExtension(Extension):
    command = COMMAND
    prefix = PREFIX
    listed = False  # staff only: in a staff member's /help and menu, not the parents'

    def available(self, turn: Turn) -> bool:
        return turn.account.staff_id is not None

    def description(self, locale: str) -> str:
        return t(locale, "Parents' explanations of absences waiting for your decision")

    def menu_label(self, turn: Turn) -> str | None:
        return t(turn.locale, "Explanations") if self.available(turn) else None

    async def start(self, turn: Turn) -> list[Reply]:
        turn.remember(**{STATE_KEY: None})
        return await self._list(turn, after=0)

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        action, _, rest = payload.removeprefix(PREFIX).partition(":")
        raw_id, _, extra = rest.partition(":")
        if not raw_id.isdigit() or len(raw_id) > 18:
            return [stale(turn)]
        if action == "l" and not extra:
            return await self._list(turn, after=int(raw_id))
        if action not in ("a", "d", "n", "r", "c") or (extra and action != "r"):
            return [stale(turn)]
        if action == "r" and extra not in QUICK_REASONS:
            return [stale(turn)]
        found = await self._undecided(turn, int(raw_id))
        if isinstance(found, list):
            return found
        me, note = found
        if action == "a":
            return await self._decide(turn, me, note, NoteStatus.ACCEPTED, edit=True)
        if action == "d":
            return await self._ask_document(turn, me, note)
        if action == "n":
            return await self._ask_reason(turn, me, note)
        if action == "r":
            # kept in the school's language (the school system reads it too); the
            # parent is shown it in theirs (note_decisions.decision_text)
            why = quick_reason(turn.settings.default_locale, extra)
            return await self._decide(turn, me, note, NoteStatus.DECLINED, why=why, edit=True)
        turn.remember(**{STATE_KEY: None})  # c: back to the three buttons
        return [await self._view(turn, me, note, edit=True)]

    async def _undecided(self, turn: Turn, note_id: int | None
                         ) -> tuple[Reviewer, AbsenceNote] | list[Reply]:
        """The note, when this chat may decide it and it is still undecided; else the
        answer (not available, or who decided it and when), and no reason is awaited."""
        found = await self._note(turn, note_id) if note_id is not None else None
        if found is not None and found[1].status not in FINAL:
            return found
        turn.remember(**{STATE_KEY: None})
        return [stale(turn)] if found is None else [await self._already(turn, *found)]

    def wants_text(self, turn: Turn) -> bool:
        return turn.flow(STATE_KEY, DECLINE_WAIT) is not None

    def leave(self, turn: Turn) -> None:
        turn.remember(**{STATE_KEY: None})  # the reason is left unwritten

    async def text(self, turn: Turn, text: str) -> list[Reply]:
        """The reason for declining the note the chat pressed "Decline" on."""
        typed = text.strip()
        waiting = turn.flow(STATE_KEY, DECLINE_WAIT) or {}
        note_id = waiting.get("note")
        found = await self._undecided(turn, note_id if isinstance(note_id, int) else None)
        if isinstance(found, list):
            return found
        me, note = found
        if not typed:
            return [Reply(text=t(turn.locale, "Please write the reason in words."))]
        if len(typed) > NOTE_MAX_CHARS:
            return [Reply(text=tn(turn.locale, "The reason is too long: {n} character, at most "
                                               "{limit}. Please make it shorter.",
                                  "The reason is too long: {n} characters, at most {limit}. "
                                  "Please make it shorter.", len(typed), limit=NOTE_MAX_CHARS))]
        return await self._decide(turn, me, note, NoteStatus.DECLINED, why=typed, edit=False)

    # ------------------------------------------------------------ steps

    async def _note(self, turn: Turn, note_id: int) -> tuple[Reviewer, AbsenceNote] | None:
        """The note, locked for this turn, if the chat may decide it now (else None:
        the caller answers as if there were no such note)."""
        me = await reviewer(turn.session, turn.account)
        if me is None:
            return None
        note = await turn.session.scalar(
            select(AbsenceNote).where(AbsenceNote.id == note_id)
            .with_for_update().execution_options(populate_existing=True))
        if note is None or not me.may_decide(note):
            return None
        return me, note

    async def _view(self, turn: Turn, me: Reviewer, note: AbsenceNote, *, edit: bool,
                    said: str | None = None) -> Reply:
        [shown] = await _shown(turn.session, [note])
        text = await card(turn, shown, me)
        if said:
            text = f"{text}\n\n{said}"
        return Reply(text=text, buttons=decision_buttons(turn.locale, note), edit=edit)

    async def _already(self, turn: Turn, me: Reviewer, note: AbsenceNote) -> Reply:
        return await self._view(turn, me, note, edit=True,
                                said=t(turn.locale, "This explanation is already decided."))

    async def _decide(self, turn: Turn, me: Reviewer, note: AbsenceNote, status: NoteStatus, *,
                      edit: bool, why: str | None = None) -> list[Reply]:
        await decide(turn.session, note, status, by=me.staff_id, actor=me.actor, now=turn.now,
                     decision_note=why)
        turn.remember(**{STATE_KEY: None})
        told = await tell_parent(turn.session, note, now=turn.now,
                                 default_locale=turn.settings.default_locale)
        locale = turn.locale
        said = t(locale, "✅ Accepted.") if status is NoteStatus.ACCEPTED else t(locale, "❌ Declined.")
        said += " " + (t(locale, "The parent will be told in the bot.") if told
                       else t(locale, "The parent has no chat with the bot to tell."))
        return [await self._view(turn, me, note, edit=edit, said=said)]

    async def _ask_document(self, turn: Turn, me: Reviewer, note: AbsenceNote) -> list[Reply]:
        locale = turn.locale
        turn.remember(**{STATE_KEY: None})
        if note.status == NoteStatus.DOCUMENT.value:
            return [await self._view(turn, me, note, edit=True,
                                     said=t(locale, "A document was already asked for."))]
        await decide(turn.session, note, NoteStatus.DOCUMENT, by=me.staff_id, actor=me.actor,
                     now=turn.now)
        told = await tell_parent(turn.session, note, now=turn.now,
                                 default_locale=turn.settings.default_locale)
        said = t(locale, "📄 The parent is asked to bring a document to the school (the bot "
                         "takes no documents or photos). Accept or decline once you have seen it.")
        if not told:
            said += " " + t(locale, "The parent has no chat with the bot to tell.")
        return [await self._view(turn, me, note, edit=True, said=said)]

    async def _ask_reason(self, turn: Turn, me: Reviewer, note: AbsenceNote) -> list[Reply]:
        locale = turn.locale
        turn.keep_flow(STATE_KEY, note=note.id)
        [shown] = await _shown(turn.session, [note])
        text = (await card(turn, shown, me) + "\n\n"
                + t(locale, "Why do you decline it? Write a short reason for the parent (at most "
                            "{limit} characters), or choose one:", limit=NOTE_MAX_CHARS))
        buttons = [[Button(quick_reason(locale, key), f"{PREFIX}r:{note.id}:{key}")]
                   for key in QUICK_REASONS]
        buttons.append([Button(t(locale, "↩️ Back"), f"{PREFIX}c:{note.id}")])
        return [Reply(text=text, buttons=buttons, edit=True)]

    async def _list(self, turn: Turn, *, after: int) -> list[Reply]:
        """The open explanations of the reviewer's classes (a director's: the school's),
        oldest first, PAGE at a time."""
        locale, session = turn.locale, turn.session
        me = await reviewer(session, turn.account)
        if me is None:
            return [Reply(text=t(locale, "Explanations of absences are for homeroom teachers and "
                                         "the school's administration."))]
        if not me.whole_school and not me.classes:
            return [Reply(text=t(locale, "You are not the homeroom teacher of any class, so no "
                                         "explanations come to you."))]
        mine = [AbsenceNote.school_id == me.school_id, AbsenceNote.status.in_(UNDECIDED)]
        if not me.whole_school:
            mine.append(AbsenceNote.class_id.in_(sorted(me.classes)))
        total = int(await session.scalar(select(func.count()).select_from(AbsenceNote)
                                         .where(*mine)) or 0)
        notes = (await session.scalars(select(AbsenceNote).where(*mine, AbsenceNote.id > after)
                                       .order_by(AbsenceNote.id).limit(PAGE + 1))).all()
        if not notes:
            return [Reply(text=t(locale, "No explanations are waiting for your decision. 👍"))]
        page, more = notes[:PAGE], len(notes) > PAGE
        head = tn(locale, "📝 {n} explanation is waiting for a decision, oldest first.",
                  "📝 {n} explanations are waiting for a decision, oldest first.", total)
        replies = [Reply(text=head)] if after == 0 else []
        replies += [Reply(text=await card(turn, shown, me), buttons=decision_buttons(locale, shown.note))
                    for shown in await _shown(session, page)]
        if more:
            replies.append(Reply(text=t(locale, "There are more."),
                                 buttons=[[Button(t(locale, "Show the next ones"),
                                                  f"{PREFIX}l:{page[-1].id}")]]))
        return replies


def build() -> AbsenceReviewExtension:
    return AbsenceReviewExtension()

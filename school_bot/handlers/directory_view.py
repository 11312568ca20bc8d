"""`/directory`: the chosen child's class, and the directory's own settings screen.

The listing is a live query (handlers/directory_access.py): the class's pupils and the
OTHER parents of the class who turned the directory on, by name and children's first
names. A parent who has not turned it on sees only how to do so, and is listed nowhere.
Turning it on or off is audited ("directory.opt_in" / "directory.opt_out").
"""

from __future__ import annotations

from school_bot.handlers import directory_access as access
from school_bot.handlers import directory_buttons as buttons
from school_bot.handlers.directory_text import _t, _tn, for_parents_only, gone, who
from school_bot.shared.events import Button, Reply
from school_bot.handlers.family import Pupil, family_of, find_pupil, pupil_ref, selected
from school_bot.handlers.turn import Turn
from school_bot.storage import audit


def explanation(locale: str) -> str:
    return _t(locale, "When the class directory is on, you see the pupils of your child's class "
                      "and the parents of the class who also turned it on, and you can write to "
                      "them through the bot. They see your name and your children's first names. "
                      "Phone numbers and messenger accounts are never shown to anyone. Turning it "
                      "off removes you from every list at once.")


def settings_label(locale: str) -> str:
    return _t(locale, "👥 Class directory")


async def settings_screen(turn: Turn, *, edit: bool = False) -> list[Reply]:
    mine = list(turn.account.guardian_ids)
    if not mine:
        return [Reply(text=for_parents_only(turn.locale))]
    on = len(await access.visible_rows(turn.session, mine)) == len(mine)
    state = _t(turn.locale, "on") if on else _t(turn.locale, "off")
    label = _t(turn.locale, "Visible to my class: {state}", state=state)
    rows = [[Button(label, buttons.visible(not on))]]
    if on:
        rows.append([Button(_t(turn.locale, "Open the class directory"), buttons.open_class())])
    text = f"{settings_label(turn.locale)}\n\n{label}\n\n{explanation(turn.locale)}"
    return [Reply(text=text, buttons=rows, edit=edit)]


async def set_visible(turn: Turn, value: bool) -> list[Reply]:
    """The switch covers every guardian row of the chat (one parent, one choice)."""
    mine = list(turn.account.guardian_ids)
    if not mine:
        return [Reply(text=for_parents_only(turn.locale))]
    for guardian_id in mine:
        before = await access.set_opt_in(turn.session, guardian_id, value)
        if before is not None and before != value:
            await audit.record(turn.session, actor=turn.actor,
                               action="directory.opt_in" if value else "directory.opt_out",
                               entity="guardian", entity_id=guardian_id,
                               details={"account": turn.account.id, "platform": turn.platform.value})
    if not value:
        turn.remember(relay=None)
    return await settings_screen(turn, edit=True)


def hidden(turn: Turn) -> Reply:
    """What a parent who has not turned the directory on sees: how to, and nothing else."""
    text = "\n\n".join([_t(turn.locale, "The class directory is off for you."),
                        explanation(turn.locale),
                        _t(turn.locale, "You can turn it on here or in /settings.")])
    return Reply(text=text, buttons=[[Button(_t(turn.locale, "Turn the class directory on"),
                                             buttons.visible(True))]])


async def show(turn: Turn, ref: str | None = None) -> list[Reply]:
    """The directory of the chosen child's class (`ref`: a pupil from a button)."""
    mine = list(turn.account.guardian_ids)
    if not mine:
        return [Reply(text=for_parents_only(turn.locale))]
    visible = await access.visible_rows(turn.session, mine)
    if not visible:
        return [hidden(turn)]
    family = await family_of(turn)
    if not family:
        return [Reply(text=_t(turn.locale, "There are no pupils linked to this chat whose school "
                                           "already works with the bot."))]
    pupil = find_pupil(family, ref) if ref else _default(turn, family)
    if ref and pupil is None:
        return [Reply(text=gone(turn.locale))]
    if pupil is None:
        return [_choose(turn, family)]
    if pupil.guardian_id not in visible:
        return [hidden(turn)]
    turn.account.selected_student_id = pupil.id
    return [await _listing(turn, mine, pupil, family, edit=ref is not None)]


def _default(turn: Turn, family: list[Pupil]) -> Pupil | None:
    """One class among the children: that one; else the child chosen earlier, if any."""
    if len({p.class_id for p in family}) == 1:
        return family[0]
    return selected(turn, family)


def _choose(turn: Turn, family: list[Pupil]) -> Reply:
    rows = [[Button(f"{p.first_name} ({p.class_name})", buttons.open_class(pupil_ref(p, family)))]
            for p in family]
    return Reply(text=_t(turn.locale, "Which child's class? Choose:"), buttons=rows)


async def _listing(turn: Turn, mine: list[str], pupil: Pupil, family: list[Pupil], *,
                   edit: bool) -> Reply:
    locale = turn.locale
    info = await access.class_info(turn.session, pupil.class_id)
    pupils = await access.pupils_of(turn.session, pupil.class_id)
    members = await access.members_of(turn.session, pupil.class_id, besides=mine)
    school = info.school_name if info else ""
    lines = [_t(locale, "👥 Class {class_name}, {school}", class_name=pupil.class_name, school=school),
             "", _tn(locale, "{n} pupil:", "{n} pupils:", len(pupils)), *pupils, ""]
    if members:
        lines.append(_t(locale, "Parents who turned the directory on:"))
        lines += [who(locale, member) for member in members]
        lines += ["", _t(locale, "To write to a parent, press a button below: the bot passes your "
                                 "message on. Phone numbers are never shown.")]
    else:
        lines.append(_t(locale, "No other parent of this class has turned the directory on yet."))
    rows = [[Button(_t(locale, "✉️ Write to {name}", name=member.name), buttons.write(member.guardian_id))]
            for member in members]
    return Reply(text="\n".join(lines), buttons=rows + _other_classes(pupil, family), edit=edit)


def _other_classes(pupil: Pupil, family: list[Pupil]) -> list[list[Button]]:
    """A button for each other class among the parent's children."""
    first_of: dict[str, Pupil] = {}
    for other in family:
        if other.class_id != pupil.class_id:
            first_of.setdefault(other.class_id, other)
    return [[Button(f"{p.first_name} ({p.class_name})", buttons.open_class(pupil_ref(p, family)))]
            for p in first_of.values()]

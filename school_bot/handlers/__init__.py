"""The conversation core: neutral events in (handlers/events.py), replies out.

    conversation.py  Conversation.handle(session, incoming) -> list[Reply]: the entry point
                     (called by the turn runner, bot/turns.py, for every front door)
    router.py        which handler answers (kind, command, menu label, button payload)
    turn.py          one turn: session, account, locale, clock, settings, extensions
    welcome.py       /start, contacts and typed lines of a chat not linked yet
    linking.py       the linking answers, attach, unlink (audited); codes.py invitation
                     codes; people.py who a number or code may link; throttle.py
    family.py        the pupils a chat may see (re-checked on every request)
    views.py         a pupil's view and its buttons; menu.py the menu and the views table
    grades.py rating.py homework.py schedule.py absences.py events_view.py: the views
    diary.py         the read queries behind them; periods.py days and periods
    settings_view.py help.py forget.py commands.py: the rest of the menu
    extensions.py    how other parts plug in commands, buttons and settings entries
    calendar_feed.py Settings → Calendar (an extension): the feed link and what the feed holds
    i18n.py          t / tn / format_date with an explicit locale; i18n_tools.py catalogs
    text.py          split_text / split_replies to a messenger's length limit

Nothing here imports a messenger library; tests/test_core_i18n.py checks that.
"""

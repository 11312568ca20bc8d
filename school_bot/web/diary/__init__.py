"""The web diary at `/app/`: Telegram's Mini App, and the page Viber's one-time links open.

    GET  /app/                   the page (static: HTML, one script, one style sheet)
    GET  /app/static/<file>      its script and style sheet, shipped in this package
    POST /app/api/session        Telegram's launch data (initData) → a session cookie
    GET  /app/l/<token>          a one-time link (Viber, console) → a session cookie
    GET  /app/api/diary          the viewer's language, the page's words, the children
    GET  /app/api/pupil/<ref>    one child's grades, a month's attendance, homework, events

`routes.register_diary` adds them; the composition root does so when `WEB_PUBLIC_URL`
is set, with the Telegram check (bot/telegram/web_app.py: aiogram's validation of the
launch data) when Telegram is on. The rules live in the core (handlers/web_diary.py);
these routes only convert.
"""

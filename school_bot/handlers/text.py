"""Splitting long answers to a messenger's limit (Telegram 4,096, Viber 7,000 characters):
the text of one message (`split_text`), or whole replies with their keyboards (`split_replies`)."""

from __future__ import annotations

from school_bot.shared.events import Reply


def split_text(text: str, limit: int) -> list[str]:
    """Cut at line boundaries; a single line longer than the limit is cut at spaces, then hard."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _fit(line, limit):
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts


def _fit(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    pieces.append(line)
    return pieces


def split_replies(replies: list[Reply], limit: int) -> list[Reply]:
    """Replies whose text is longer than `limit` become several: the keyboard on the first
    part, the inline buttons and the file on the last."""
    out: list[Reply] = []
    for reply in replies:
        parts = split_text(reply.text, limit) if reply.text else [reply.text]
        if len(parts) == 1:
            out.append(reply)
            continue
        for n, part in enumerate(parts):
            first, last = n == 0, n == len(parts) - 1
            out.append(Reply(
                text=part,
                buttons=reply.buttons if last else [],
                menu=reply.menu if first else None,
                request_contact=reply.request_contact and first,
                contact_button_label=reply.contact_button_label if first else None,
                remove_menu=reply.remove_menu and first,
                file=reply.file if last else None,
                edit=reply.edit and first,
            ))
    return out

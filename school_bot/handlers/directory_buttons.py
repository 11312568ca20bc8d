"""The class directory's button payloads (prefix `dir:`, always under 64 bytes).

    dir:s              the directory's settings screen
    dir:o:<1|0>        be visible to my class: on / off
    dir:c[:<pupil>]    the directory of this child's class (family.pupil_ref)
    dir:w:<parent>     write to this parent (guardian id, or "~" + a hash of a long id)
    dir:ok | dir:no    send / drop the message being written
    dir:r:<relay id>   reply to a received message
    dir:b:<relay id>   block its sender
    dir:x:<relay id>   report it to the class teacher
    dir:u:<parent>     unblock a parent

Payloads are client-controlled: whoever handles one authorises it again.
"""

from __future__ import annotations

from school_bot.handlers.directory_access import guardian_ref

PREFIX = "dir:"
SETTINGS = f"{PREFIX}s"
SEND = f"{PREFIX}ok"
CANCEL = f"{PREFIX}no"


def visible(on: bool) -> str:
    return f"{PREFIX}o:{1 if on else 0}"


def open_class(pupil_ref: str | None = None) -> str:
    return f"{PREFIX}c:{pupil_ref}" if pupil_ref else f"{PREFIX}c"


def write(guardian_id: str) -> str:
    return f"{PREFIX}w:{guardian_ref(guardian_id)}"


def unblock(guardian_id: str) -> str:
    return f"{PREFIX}u:{guardian_ref(guardian_id)}"


def on_message(action: str, relay_id: int) -> str:
    """`action`: "r" reply, "b" block, "x" report."""
    return f"{PREFIX}{action}:{relay_id}"


def parse(payload: str) -> tuple[str, str]:
    """`dir:w:g-1` → ("w", "g-1"); `dir:ok` → ("ok", "")."""
    action, _, value = payload[len(PREFIX):].partition(":")
    return action, value

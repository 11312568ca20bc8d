"""Viber's message shapes: long texts split to 7,000 characters, the keyboard on the last
part, inline buttons as `btn:` replies, the share-phone button with API version 3."""

from __future__ import annotations

from school_bot.bot.viber.convert import MAX_TEXT, keyboard, to_messages
from school_bot.bot.viber.webhook import signature_ok
from school_bot.shared.events import Button, Reply


def test_a_long_answer_is_split_and_keeps_its_keyboard_on_the_last_part() -> None:
    lines = [f"{n}. Математика — 10" for n in range(900)]
    reply = Reply(text="\n".join(lines), buttons=[[Button("Олена", "g:P1:w")]], menu=[["Оцінки"]])
    messages = [m.to_dict() for m in to_messages(reply)]
    assert len(messages) > 1 and all(len(m["text"]) <= MAX_TEXT for m in messages)
    assert "\n".join(m["text"] for m in messages) == reply.text
    assert all("keyboard" not in m for m in messages[:-1])
    bodies = [b["ActionBody"] for b in messages[-1]["keyboard"]["Buttons"]]
    assert bodies == ["btn:g:P1:w", "Оцінки"]


def test_share_phone_button_needs_api_version_3() -> None:
    reply = Reply(text="Поділіться номером", request_contact=True, contact_button_label="📱 Номер")
    [message] = [m.to_dict() for m in to_messages(reply)]
    assert message["min_api_version"] >= 3
    assert message["keyboard"]["Buttons"][0]["ActionType"] == "share-phone"
    assert keyboard(Reply(text="x")) is None


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    import hashlib
    import hmac

    body = b'{"event":"message"}'
    good = hmac.new(b"token", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, good, "token")
    assert not signature_ok(body, good, "other-token")
    assert not signature_ok(body + b" ", good, "token")
    assert not signature_ok(body, None, "token")

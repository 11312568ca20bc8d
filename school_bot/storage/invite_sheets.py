"""Printable invitation sheets: one page per class with each guardian's code and QR codes,
and one for the school's staff.

The school hands a guardian their slip with the consent form (a staff member theirs);
the QR codes open the bot with the code already filled in (Telegram
`t.me/<bot>?start=<code>`, Viber `viber://pa?chatURI=<bot>&context=<code>`).
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path

import qrcode
import qrcode.image.svg

from school_bot.shared.i18n import t
from school_bot.storage.invites import normalize_code


@dataclass
class InviteSlip:
    group: str  # a guardian's slip: the class; a staff member's: the role, as printed
    pupil: str | None  # None on a staff member's slip
    person: str
    code: str


STAFF_SHEET = "staff"  # the staff's sheet's name among the classes' (invites-staff.csv)


def sheet_title(school: str, sheet: str, locale: str) -> str:
    name = t(locale, "Staff") if sheet == STAFF_SHEET else sheet
    return f"{school}, {name}"


def role_name(role: str, locale: str) -> str:
    names = {"teacher": t(locale, "Teacher"), "director": t(locale, "Director"),
             "admin": t(locale, "School administrator"),
             "department": t(locale, "Education department")}
    return names.get(role, role)


def deep_links(code: str, telegram_username: str | None, viber_uri: str | None) -> dict[str, str]:
    compact = normalize_code(code)
    links = {}
    if telegram_username:
        links["Telegram"] = f"https://t.me/{telegram_username.lstrip('@')}?start={compact}"
    if viber_uri:
        links["Viber"] = f"viber://pa?chatURI={viber_uri}&context={compact}"
    return links


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=6)
    buffer = io.BytesIO()
    image.save(buffer)
    text = buffer.getvalue().decode()
    return text[text.index("<svg"):]


def write_csv(path: Path, slips: list[InviteSlip], links: dict[str, dict[str, str]], locale: str) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        staff = any(slip.pupil is None for slip in slips)
        names = ([t(locale, "Role"), t(locale, "Staff member")] if staff else
                 [t(locale, "Class"), t(locale, "Pupil"), t(locale, "Guardian")])
        writer.writerow([*names, t(locale, "Code"), "Telegram", "Viber"])
        for slip in slips:
            slip_links = links[slip.code]
            who = [slip.group, slip.person] if staff else [slip.group, slip.pupil, slip.person]
            writer.writerow([*who, slip.code, slip_links.get("Telegram", ""),
                             slip_links.get("Viber", "")])


def write_html(path: Path, school: str, slips: list[InviteSlip],
               links: dict[str, dict[str, str]], locale: str) -> None:
    cards = "\n".join(_card(slip, links[slip.code], locale) for slip in slips)
    title = html.escape(t(locale, "Invitations to the parents' bot: {school}", school=school))
    advice = html.escape(t(locale, "Cut along the dashed lines. Each code works once and expires; "
                                   "a new sheet makes earlier codes invalid."))
    path.write_text(f"""<!doctype html>
<html lang="{locale}"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif}} .slip{{border:1px dashed #888;padding:12px;margin:8px;
display:inline-block;width:44%;vertical-align:top;page-break-inside:avoid}}
.code{{font:bold 20px monospace;letter-spacing:2px}} .qr{{display:inline-block;margin:4px;
text-align:center;font-size:11px}} .qr svg{{width:110px;height:110px}}</style></head>
<body><h1>{title}</h1>
<p>{advice}</p>
{cards}
</body></html>
""", encoding="utf-8")


def _card(slip: InviteSlip, links: dict[str, str], locale: str) -> str:
    qrs = "".join(f'<div class="qr">{_qr_svg(url)}<br>{html.escape(name)}</div>'
                  for name, url in links.items())
    label_for = html.escape(t(locale, "For"))
    label_code = html.escape(t(locale, "Your code"))
    how = html.escape(t(locale, "Open the bot, share your phone number and enter this code."))
    pupil = "" if slip.pupil is None else f" · {html.escape(slip.pupil)}"
    return (f'<div class="slip"><b>{html.escape(slip.group)}</b>{pupil}<br>'
            f'{label_for}: {html.escape(slip.person)}<br>'
            f'{label_code}: <span class="code">{html.escape(slip.code)}</span><br>'
            f'<small>{how}</small><br>{qrs}</div>')

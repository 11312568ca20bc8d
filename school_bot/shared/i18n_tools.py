"""Catalog tools: `python -m handlers.i18n_tools extract|update|compile|check [DOMAIN...]`.

`update` extracts the msgids of a domain's sources into `locales/<domain>.pot` and
merges them into each locale's `.po` (new entries empty, vanished ones dropped);
`compile` writes the `.mo` files; `check` lists untranslated, fuzzy and stale entries
(exit 1 if any). DOMAINS maps a domain to its source files; add a line for a new one.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from school_bot.shared.i18n import LOCALES_DIR, SUPPORTED_LOCALES, reset_cache

ROOT = LOCALES_DIR.parent
DOMAINS: dict[str, list[str]] = {
    "core": ["handlers/**/*.py", "bot/console*.py", "bot/telegram/**/*.py", "bot/app.py"],
    "notifications": ["notifications/**/*.py", "handlers/announce.py"],
    "privacy": ["handlers/directory*.py", "handlers/relay*.py"],
    "reports": ["reports/**/*.py", "handlers/reports_view.py"],
    "viber": ["bot/viber/**/*.py", "storage/invite_sheets.py"],
    "calendar": ["handlers/calendar_feed.py"],
    "webapp": ["handlers/web_diary.py", "web/diary/**/*.py"],
}
KEYWORDS = {"t": (2,), "tn": (2, 3), "_t": (2,), "_tn": (2, 3), "_": (1,), "n_": (1, 2), "N_": (1,)}


def sources(domain: str) -> list[Path]:
    """A domain's source files; `core` takes what under its patterns no other domain claims."""
    found = {path for pattern in DOMAINS[domain] for path in ROOT.glob(pattern)}
    if domain == "core":
        found -= {path for other, patterns in DOMAINS.items() if other != "core"
                  for pattern in patterns for path in ROOT.glob(pattern)}
    return sorted(found)


def extract(domain: str) -> Catalog:
    catalog = Catalog(project="school-parents-bot", charset="utf-8", fuzzy=False)
    for path in sources(domain):
        for lineno, message, comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS, comment_tags=("i18n:",)
        ):
            catalog.add(message, locations=[(str(path.relative_to(ROOT)), lineno)],
                        auto_comments=comments)
    return catalog


def _po_path(locale: str, domain: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def _read(path: Path, locale: str, domain: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale, domain=domain, charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=domain)


def update(domain: str) -> None:
    template = extract(domain)
    LOCALES_DIR.mkdir(exist_ok=True)
    with (LOCALES_DIR / f"{domain}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True)
    for locale in SUPPORTED_LOCALES:
        path = _po_path(locale, domain)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = _read(path, locale, domain)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: a fuzzy one is left out of the .mo with its plural rule
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, width=100)


def compiled(path: Path, locale: str, domain: str) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, _read(path, locale, domain), use_fuzzy=False)
    return buffer.getvalue()


def compile_domain(domain: str) -> None:
    for locale in SUPPORTED_LOCALES:
        path = _po_path(locale, domain)
        if path.exists():
            path.with_suffix(".mo").write_bytes(compiled(path, locale, domain))
    reset_cache()


def problems(domain: str) -> list[str]:
    """Untranslated, fuzzy, missing or stale entries of a domain, one line each."""
    found: list[str] = []
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract(domain) if m.id}
    for locale in SUPPORTED_LOCALES:
        path = _po_path(locale, domain)
        catalog = _read(path, locale, domain)
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        found += [f"{path.name} [{locale}]: missing {msgid!r}" for msgid in sorted(wanted - have)]
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy:
                found.append(f"{domain}.po [{locale}]: fuzzy {message.id!r}")
            elif not all(strings):
                found.append(f"{domain}.po [{locale}]: untranslated {message.id!r}")
        mo = path.with_suffix(".mo")
        if path.exists() and (not mo.exists() or mo.read_bytes() != compiled(path, locale, domain)):
            found.append(f"{domain}.mo [{locale}]: stale, run compile")
    return found


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in {"extract", "update", "compile", "check"}:
        print(__doc__)
        return 2
    command, names = args[0], args[1:] or list(DOMAINS)
    issues: list[str] = []
    for domain in names:
        if command in {"extract", "update"}:
            update(domain)
        elif command == "compile":
            compile_domain(domain)
        else:
            issues += problems(domain)
    for line in issues:
        print(line)
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())

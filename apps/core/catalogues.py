"""The message catalogues (config/locale/<language>/LC_MESSAGES/django.po): compiled to
the .mo files Django reads with Babel, so no system gettext is needed to run the
product (`manage.py compile_catalogues`, in `make setup`), and checked against the
strings the sources mark for translation (tests/core/test_catalogues.py).

English is the language of the sources: its strings are the msgids, so it has no
catalogue of its own; every other language of settings.LANGUAGES has one.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings

DOMAIN = "django"
SOURCE_LANGUAGE = "en"
# `%(name)s`, `%s`, `%d`, `%%` in python-format strings; `{name}` in brace-format ones.
_PERCENT_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
_BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{(\w*)(?:[:!][^{}]*)?\}(?!\})")


def catalogue_languages() -> list[str]:
    return [code for code, _ in settings.LANGUAGES if code != SOURCE_LANGUAGE]


def catalogue_path(language: str, *, root: Path | None = None) -> Path:
    base = root if root is not None else Path(settings.LOCALE_PATHS[0])
    return base / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogue_read(path: Path, *, language: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=language)


def catalogues_compile(*, force: bool = False) -> list[Path]:
    """Writes each catalogue's .mo beside it (fuzzy entries left out, as msgfmt does);
    one that already holds exactly what its .po compiles to is kept unless `force`.
    Compared by content, never by modification times: a checkout, a copy or a restored
    cache can leave a stale .mo newer than the .po it no longer matches (reading the
    three catalogues takes a tenth of a second). Returns those written."""
    written: list[Path] = []
    for language in catalogue_languages():
        po_path = catalogue_path(language)
        if not po_path.exists():
            continue
        mo_path = po_path.with_suffix(".mo")
        compiled = io.BytesIO()
        write_mo(compiled, catalogue_read(po_path, language=language), use_fuzzy=False)
        if not force and mo_path.exists() and mo_path.read_bytes() == compiled.getvalue():
            continue
        partial = mo_path.with_suffix(".mo.tmp")
        partial.write_bytes(compiled.getvalue())
        partial.replace(mo_path)  # a server reading it meanwhile sees the old or the new
        written.append(mo_path)
    return written


@dataclass(frozen=True)
class CatalogueProblem:
    language: str
    msgid: str
    problem: str

    def __str__(self) -> str:
        return f"{self.language}: {self.msgid!r}: {self.problem}"


def _msgid_key(message: Message) -> tuple[str, str | None]:
    msgid = message.id[0] if isinstance(message.id, tuple | list) else message.id
    return str(msgid), message.context


def _forms(value: object) -> list[str]:
    if isinstance(value, tuple | list):
        return [str(item or "") for item in value]
    return [str(value or "")]


def _placeholders(text: str, message: Message) -> tuple[list[str], list[str]]:
    percent = (
        sorted(m.group(0) for m in _PERCENT_PLACEHOLDER.finditer(text))
        if "python-format" in message.flags
        else []
    )
    brace = (
        sorted(m.group(0) for m in _BRACE_PLACEHOLDER.finditer(text))
        if "python-brace-format" in message.flags
        else []
    )
    return percent, brace


def _without_count(found: tuple[list[str], list[str]]) -> tuple[list[str], list[str]]:
    percent, brace = found
    return [p for p in percent if not p.startswith("%(count)")], brace


def _entry_problems(message: Message, translated: Message, plural_forms: int) -> list[str]:
    problems: list[str] = []
    if translated.fuzzy:
        problems.append("fuzzy")
    strings = _forms(translated.string)
    if message.pluralizable and len(strings) != plural_forms:
        problems.append(f"{len(strings)} plural forms, the language has {plural_forms}")
    if any(not string.strip() for string in strings):
        problems.append("not translated")
        return problems
    sources = _forms(message.id)
    for index, string in enumerate(strings):
        # The singular is compared with msgid, every plural form with msgid_plural (a
        # language may leave the count out of its singular: "un jour"): named placeholders
        # must match by name; positional ones by count and kind.
        source = sources[0] if index == 0 or len(sources) == 1 else sources[1]
        expected, got = _placeholders(source, message), _placeholders(string, message)
        if message.pluralizable and index == 0:
            expected, got = _without_count(expected), _without_count(got)
        if expected != got:
            problems.append(f"placeholders {got} differ from {expected}")
    return problems


def catalogue_problems(
    *, expected: Catalog, catalogue: Catalog, language: str
) -> list[CatalogueProblem]:
    """What stands between `catalogue` and a complete translation of `expected` (the
    msgids the sources mark today): a msgid missing, fuzzy or empty, plural forms
    missing, placeholders not the msgid's."""
    found: dict[tuple[str, str | None], Message] = {
        _msgid_key(message): message for message in catalogue if message.id
    }
    plural_forms = catalogue.num_plurals
    problems: list[CatalogueProblem] = []
    for message in expected:
        if not message.id:
            continue
        key = _msgid_key(message)
        translated = found.get(key)
        if translated is None:
            problems.append(CatalogueProblem(language, key[0], "missing"))
            continue
        problems.extend(
            CatalogueProblem(language, key[0], problem)
            for problem in _entry_problems(message, translated, plural_forms)
        )
    return problems

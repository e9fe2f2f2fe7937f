"""The message catalogues: every string the sources mark for translation is translated
in each language's catalogue (not missing, not fuzzy, not empty, every plural form, the
msgid's placeholders), and they compile to .mo files Django reads, without gettext."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from apps.core.catalogues import (
    catalogue_languages,
    catalogue_path,
    catalogue_problems,
    catalogue_read,
    catalogues_compile,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def marked_strings(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The msgids the sources mark today, extracted as `make` would (makemessages and
    xgettext) into a directory of their own, leaving the committed catalogues alone."""
    if shutil.which("xgettext") is None:
        pytest.skip("xgettext is missing (make i18n-deps installs Debian's gettext)")
    out = tmp_path_factory.mktemp("extracted")
    with pytest.MonkeyPatch.context() as patch, override_settings(LOCALE_PATHS=[out]):
        patch.chdir(ROOT)
        call_command(
            "makemessages",
            locale=["en"],
            keep_pot=True,
            ignore_patterns=["tests", ".venv", ".local", "test-artifacts", "config/locale"],
            verbosity=0,
        )
    # A template's header has placeholders where a language's plural rule goes.
    pot = (out / "django.pot").read_text(encoding="utf-8")
    pot = pot.replace("nplurals=INTEGER; plural=EXPRESSION;", "nplurals=2; plural=(n != 1);")
    return read_po(io.StringIO(pot))


def test_marked_strings_are_extracted_from_templates_and_code(marked_strings):
    ids = {
        message.id if isinstance(message.id, str) else message.id[0] for message in marked_strings
    }
    # A template (the booking pages), Python code (the SMS wording) and a plural.
    assert "Choose a service" in ids
    assert "%(business)s: %(service)s booked for %(when)s." in ids
    assert "%(count)d minute" in ids


@pytest.mark.parametrize("language", catalogue_languages())
def test_catalogue_translates_every_marked_string(marked_strings, language):
    # given the committed catalogue of one language
    path = catalogue_path(language)
    assert path.exists(), f"{path} is missing: run makemessages -l {language}"
    catalogue = catalogue_read(path, language=language)

    # when it is compared with what the sources mark today
    problems = catalogue_problems(expected=marked_strings, catalogue=catalogue, language=language)

    # then nothing is missing, fuzzy, empty or with other placeholders
    shown = "\n".join(str(problem) for problem in problems[:40])
    assert not problems, f"{len(problems)} problems in {path}, the first:\n{shown}"


def _catalogue(entries: list[tuple[object, object, list[str]]], *, language: str = "de") -> Catalog:
    catalogue = Catalog(locale=language)
    for msgid, msgstr, flags in entries:
        catalogue.add(msgid, msgstr, flags=flags)  # type: ignore[arg-type]
    return catalogue


def test_catalogue_problems_name_each_kind_of_defect():
    # given what the sources mark
    expected = _catalogue(
        [
            ("Book", "", []),
            ("Cancel", "", []),
            ("Later", "", []),
            ("%(name)s is booked", "", ["python-format"]),
            ("Hi {name}", "", ["python-brace-format"]),
            (("%(count)d day", "%(count)d days"), ("", ""), ["python-format"]),
            ("Complete", "", []),
        ]
    )
    # and a catalogue with one defect per entry
    catalogue = _catalogue(
        [
            ("Cancel", "Stornieren", ["fuzzy"]),
            ("Later", "", []),
            ("%(name)s is booked", "%(nom)s ist gebucht", ["python-format"]),
            ("Hi {name}", "Hallo {Name}", ["python-brace-format"]),
            (("%(count)d day", "%(count)d days"), ("%(count)d Tag", ""), ["python-format"]),
            ("Complete", "Vollständig", []),
        ]
    )

    # when they are compared
    problems = {
        (p.msgid, p.problem.split(" ")[0])
        for p in catalogue_problems(expected=expected, catalogue=catalogue, language="de")
    }

    # then each defect is named, and the complete entry is not
    assert ("Book", "missing") in problems
    assert ("Cancel", "fuzzy") in problems
    assert ("Later", "not") in problems
    assert ("%(name)s is booked", "placeholders") in problems
    assert ("Hi {name}", "placeholders") in problems
    assert ("%(count)d day", "not") in problems
    assert not any(msgid == "Complete" for msgid, _ in problems)


def test_catalogue_problems_accept_a_singular_without_its_count():
    expected = _catalogue([(("%(count)d day", "%(count)d days"), ("", ""), ["python-format"])])
    catalogue = _catalogue(
        [(("%(count)d day", "%(count)d days"), ("ein Tag", "%(count)d Tage"), ["python-format"])]
    )

    assert catalogue_problems(expected=expected, catalogue=catalogue, language="de") == []


def test_compiled_catalogue_is_what_django_reads(tmp_path):
    # given a catalogue with one translation and one fuzzy entry
    source = tmp_path / "de" / "LC_MESSAGES" / "django.po"
    source.parent.mkdir(parents=True)
    source.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Probe sentence of the catalogue test"\nmsgstr "Probesatz des Katalogtests"\n\n'
        '#, fuzzy\nmsgid "Fuzzy probe of the catalogue test"\nmsgstr "Unsicher"\n',
        encoding="utf-8",
    )

    # when it is compiled (Babel, no msgfmt) and Django reads it
    with override_settings(
        LOCALE_PATHS=[tmp_path], LANGUAGES=[("en", "English"), ("de", "Deutsch")]
    ):
        written = catalogues_compile(force=True)
        translation.trans_real._translations = {}
        try:
            with translation.override("de"):
                translated = translation.gettext("Probe sentence of the catalogue test")
                fuzzy = translation.gettext("Fuzzy probe of the catalogue test")
        finally:
            translation.trans_real._translations = {}

    # then the translation is served and the fuzzy entry is left out, as msgfmt does
    assert written == [source.with_suffix(".mo")]
    with source.with_suffix(".mo").open("rb") as file:
        assert "Fuzzy probe of the catalogue test" not in read_mo(file)
    assert translated == "Probesatz des Katalogtests"
    assert fuzzy == "Fuzzy probe of the catalogue test"


def test_compile_keeps_an_up_to_date_catalogue(tmp_path):
    source = tmp_path / "fr" / "LC_MESSAGES" / "django.po"
    source.parent.mkdir(parents=True)
    source.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n')
    with override_settings(
        LOCALE_PATHS=[tmp_path], LANGUAGES=[("en", "English"), ("fr", "Français")]
    ):
        first = catalogues_compile()
        second = catalogues_compile()

    assert first == [source.with_suffix(".mo")]
    assert second == []


def test_compile_rewrites_a_stale_catalogue_even_when_it_is_newer_than_its_po(tmp_path):
    # given a compiled catalogue, then its .po changed, the stale .mo left with the newer
    # modification time (as a checkout, `cp -p` or a restored build cache can leave it)
    source = tmp_path / "fr" / "LC_MESSAGES" / "django.po"
    source.parent.mkdir(parents=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    source.write_text(header + 'msgid "Probe"\nmsgstr "Sonde"\n', encoding="utf-8")
    compiled = source.with_suffix(".mo")
    with override_settings(
        LOCALE_PATHS=[tmp_path], LANGUAGES=[("en", "English"), ("fr", "Français")]
    ):
        assert catalogues_compile() == [compiled]
        source.write_text(header + 'msgid "Probe"\nmsgstr "Essai"\n', encoding="utf-8")
        os.utime(source, (1_000_000_000, 1_000_000_000))

        # when the catalogues are compiled again
        written = catalogues_compile()

    # then the .mo is what the .po says now
    assert written == [compiled]
    with compiled.open("rb") as file:
        assert read_mo(file).get("Probe").string == "Essai"


def test_check_fails_when_an_entry_is_removed_from_a_copy_of_a_real_catalogue(
    marked_strings, tmp_path
):
    # given a copy of the German catalogue without one entry the sources mark
    path = catalogue_path("de")
    text = path.read_text(encoding="utf-8")
    entry = 'msgid "Choose a service"\n'
    assert entry in text
    start = text.index(entry)
    end = text.index("\n\n", start)
    copy = tmp_path / "django.po"
    copy.write_text(text[:start] + text[end + 2 :], encoding="utf-8")

    # when the copy and the original are checked
    removed = catalogue_problems(
        expected=marked_strings, catalogue=catalogue_read(copy, language="de"), language="de"
    )
    kept = catalogue_problems(
        expected=marked_strings, catalogue=catalogue_read(path, language="de"), language="de"
    )

    # then the removal, and only it, is the difference: named as missing
    assert {str(p) for p in removed} - {str(p) for p in kept} == {"de: 'Choose a service': missing"}

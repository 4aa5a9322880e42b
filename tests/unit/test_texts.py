"""The library's words in every language: the catalogs that ship are complete and compiled
from their sources, a person's language finds its catalog, and a catalog dropped in adds
a language (or rewords one) without a line of code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from qleads.lifecycle import Status
from qleads.model import Channel, ReleaseReason
from qleads.tabs import Tab
from qleads.texts import LOCALE_PATH_ENV, catalog_language, languages, translation
from qleads.texts import catalog as tool


def drop_in(root: Path, language: str, words: dict[str, str]) -> Path:
    """A compiled catalog of ``language`` under ``root``, as an operator would add it."""
    catalog = Catalog(locale=language, domain="qleads")
    for message, translated in words.items():
        catalog.add(message, translated)
    folder = root / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "qleads.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return root


class TestShippedCatalogs:
    def test_english_ships_beside_the_german_of_the_code(self) -> None:
        assert {"de", "en"} <= set(languages())
        assert [po.parents[1].name for po in tool.po_files()] == ["en"]

    @pytest.mark.parametrize("po", tool.po_files(), ids=lambda po: po.parents[1].name)
    def test_every_message_of_the_code_is_translated(self, po: Path) -> None:
        assert tool.missing(tool.read_catalog(po)) == []

    @pytest.mark.parametrize("po", tool.po_files(), ids=lambda po: po.parents[1].name)
    def test_translations_keep_their_placeholders(self, po: Path) -> None:
        """A ``$name`` lost or misspelt would fail or empty a mail."""
        assert tool.mismatched(tool.read_catalog(po)) == []

    @pytest.mark.parametrize("po", tool.po_files(), ids=lambda po: po.parents[1].name)
    def test_the_compiled_catalog_matches_its_source(self, po: Path) -> None:
        """Run ``python -m qleads.texts.catalog`` after editing a .po file."""
        assert po.with_suffix(".mo").read_bytes() == tool.compile_mo(tool.read_catalog(po))

    def test_the_core_reads_the_catalogs_without_babel(self) -> None:
        """The core install has no Babel: the labels come through ``gettext`` alone."""
        code = (
            "import sys\n"
            "sys.modules['babel'] = None\n"
            "from qleads.lifecycle import Status\n"
            "from qleads.tabs import Tab\n"
            "print(Status.OFFER_SENT.label('en'), Tab.CLOSED.label_en, sep='|')\n"
        )
        shown = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        assert shown.stdout == "Offer sent|Closed projects\n"


class TestLanguageOfAPerson:
    @pytest.mark.parametrize(
        ("tag", "language"),
        [
            ("de", "de"),
            ("en", "en"),
            ("en-GB", "en"),
            ("EN_us", "en"),
            ("en_US.UTF-8", "en"),
            ("english", "en"),
            ("fr", "de"),
            ("pt-BR", "de"),
            ("", "de"),
            (" ", "de"),
        ],
    )
    def test_a_tag_reads_its_catalog_else_german(self, tag: str, language: str) -> None:
        """R10: German unless a catalog has the person's language."""
        assert catalog_language(tag) == language

    def test_german_reads_the_message_ids(self) -> None:
        assert translation("de").gettext("Neu") == "Neu"
        assert translation("xx").gettext("Neu") == "Neu"


class TestLabels:
    def test_every_label_reads_in_both_languages(self) -> None:
        """Statuses, tabs, channels and release reasons: German words by default, English
        from the catalog, German for a language without one."""
        for member in (*Status, *Tab, *Channel, *ReleaseReason):
            german = member.label()
            assert member.label("en") not in {"", german}
            assert member.label("de") == member.label("fr") == german
        assert Channel.ON_SITE.label() == "Vor Ort"
        assert Channel.ON_SITE.label("en") == "On site"
        assert ReleaseReason.OUT_OF_AREA.label("en-GB") == "Outside my area"
        assert Tab.UNROUTED.label("en") == Tab.UNROUTED.label_en == "Unrouted"


class TestAddingALanguage:
    def test_a_dropped_in_catalog_adds_its_language(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Words it lacks read in German."""
        root = drop_in(tmp_path, "fr", {"Neu": "Nouveau", "Telefon": "Téléphone"})
        monkeypatch.setenv(LOCALE_PATH_ENV, str(root))
        assert "fr" in languages()
        assert catalog_language("fr-CH") == "fr"
        assert Status.NEW.label("fr") == "Nouveau"
        assert Channel.PHONE.label("fr_FR") == "Téléphone"
        assert Status.CLAIMED.label("fr") == "Lead beansprucht"

    def test_a_dropped_in_catalog_rewords_a_shipped_language_message_by_message(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(LOCALE_PATH_ENV, str(drop_in(tmp_path, "en", {"Neu": "Fresh"})))
        assert Status.NEW.label_en == "Fresh"
        assert Status.CLAIMED.label_en == "Lead claimed"

    def test_init_check_and_compile_a_new_language(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``init fr`` writes every message untranslated; the check names what is missing
        and fails; translated, the catalog compiles and its language is there."""
        monkeypatch.setattr(tool, "LOCALE", tmp_path)
        assert tool.main(["init", "fr"]) == 0
        po = tmp_path / "fr" / "LC_MESSAGES" / "qleads.po"
        catalog = tool.read_catalog(po)
        assert {str(m.id) for m in catalog if m.id} == {str(m.id) for m in tool.extract() if m.id}
        assert tool.main([]) == 1
        assert "fr: untranslated: 'Neu'" in capsys.readouterr().err
        for message in catalog:
            if message.id:
                message.string = f"«{message.id}»"
        with po.open("wb") as handle:
            write_po(handle, catalog)
        assert tool.main([]) == 0
        monkeypatch.setenv(LOCALE_PATH_ENV, str(tmp_path))
        assert Status.NEW.label("fr") == "«Neu»"
        with po.open("rb") as handle:
            assert len(read_po(handle)) == len(catalog)

    def test_a_translation_that_loses_a_placeholder_fails_the_check(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setattr(tool, "LOCALE", tmp_path)
        tool.init("fr")
        po = tmp_path / "fr" / "LC_MESSAGES" / "qleads.po"
        catalog = tool.read_catalog(po)
        for message in catalog:
            if message.id:
                message.string = str(message.id).replace("$when", "$quand")
                message.string = message.string.replace("Status", "$ status")
        with po.open("wb") as handle:
            write_po(handle, catalog)
        assert tool.main([]) == 1
        err = capsys.readouterr().err
        assert "fr: placeholders differ: 'Frist: bis $when.'" in err
        assert "fr: placeholders differ: 'Für diese zugeteilte Anfrage wurde" in err

    @pytest.mark.parametrize("language", ["xx_nowhere", "en"])
    def test_init_refuses_an_unknown_or_existing_language(
        self, language: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert tool.main(["init", language]) == 2
        assert capsys.readouterr().err.startswith("qleads.texts.catalog: ")

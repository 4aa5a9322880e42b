"""The mails of R10 word for word: subject, text and HTML of a notice and of a digest,
exactly as a recipient gets them. Lead data is escaped in the HTML and passed as it is in
the text; the layout (blank lines, the aligned table, the ``-- `` signature line) is part
of what is promised. The footer and the product name are settings; a catalog dropped in
writes the mails in its language."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from importlib import resources
from pathlib import Path

import attrs
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.numbers import format_currency

from qleads.calendar import Calendar
from qleads.errors import ConfigurationError
from qleads.lifecycle import Status
from qleads.mail import Renderer
from qleads.model import (
    Consumption,
    Contact,
    CostRow,
    Costs,
    EcoBalance,
    Installer,
    Lead,
    LeadDocument,
    Notification,
    NotificationKind,
    Policy,
    Roof,
)
from qleads.texts import LOCALE_PATH_ENV

BASE = "https://leads.example.com/"
RECEIVED = dt.datetime(2026, 11, 13, 9, 30, tzinfo=dt.UTC)
#: Tuesday 17.11.2026 16:00 in Leipzig.
HOLD = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.UTC)
ANNA = Installer("anna", "Anna Solar", "anna@example.org", "rep", calendar=Calendar("DE", "SN"))
BOB = Installer(
    "bob", "Bob Sun", "bob@example.org", "rep", language="en-GB", calendar=Calendar("GB")
)
#: What a hostile or merely unusual customer name looks like.
ODD_NAME = 'Zoë O\'Brien & "Söhne" <b>'


def lead(lead_id: int = 7, name: str = "Erika Mustermann", **changes: object) -> Lead:
    document = LeadDocument(
        source_id=f"s-{lead_id}",
        contact=Contact(name, "Hauptstraße 1", "04107", "Leipzig", "DE", "kunde@example.net"),
        consumption=Consumption(4, 4500, Decimal("32.00")),
        roof=Roof(Decimal("48.00"), 30, 180, "Q.PEAK DUO", 24, storage_interest=False),
        costs=Costs(
            CostRow(Decimal("15.00"), Decimal("92.00")),
            CostRow(Decimal("180.00"), Decimal("1104.00")),
            CostRow(Decimal("3600.00"), Decimal("22080.00")),
        ),
        eco_balance=EcoBalance(42000, 300),
    )
    base = Lead(
        id=lead_id, document=document, received_at=RECEIVED, territory_id="leipzig",
        status=Status.CLAIMED, status_at=RECEIVED, holder_id="anna", hold_until=HOLD,
    )  # fmt: skip
    return attrs.evolve(base, **changes)  # type: ignore[misc]


def assigned(deadline_at: dt.datetime | None = HOLD) -> Notification:
    return Notification("7:2:assigned:anna", NotificationKind.ASSIGNED, 7, "anna", RECEIVED,
                        deadline_at)  # fmt: skip


def pool(lead_id: int, name: str) -> Lead:
    return lead(lead_id, name, status=Status.NEW, holder_id=None, hold_until=None)


GERMAN_NOTICE_TEXT = "\n".join(
    [
        "Guten Tag Anna Solar,",
        "",
        "Ihr Vertriebsmitarbeiter hat Ihnen diese Anfrage zugeteilt.",
        "",
        "Bitte erfassen Sie einen Status bis Dienstag, 17.11.2026, 16:00 Uhr.",
        "",
        "Anfrage:               7",
        'Kunde:                 Zoë O\'Brien & "Söhne" <b>',
        "PLZ und Ort:           04107 Leipzig",
        "Eingang:               13.11.2026",
        "Anzahl Module:         24",
        "Interesse an Speicher: Nein",
        "Ersparnis pro Jahr:    924,00\xa0€",
        "Anfrage öffnen: https://leads.example.com/leads/7",
        "",
        "-- ",
        "Diese Nachricht wurde automatisch vom Lead Management Tool versandt.",
        "",
    ]
)

GERMAN_NOTICE_HTML = "\n".join(
    [
        "<!DOCTYPE html>",
        '<html lang="de"><head><meta charset="utf-8"><title>Anfrage 7 wurde Ihnen zugeteilt: '
        "Zoë O&#x27;Brien &amp; &quot;Söhne&quot; &lt;b&gt;</title></head>",
        "<body>",
        "<p>Guten Tag Anna Solar,</p>",
        "<p>Ihr Vertriebsmitarbeiter hat Ihnen diese Anfrage zugeteilt.</p>",
        "<p>Bitte erfassen Sie einen Status bis Dienstag, 17.11.2026, 16:00 Uhr.</p>",
        '<table><tr><th align="left">Anfrage</th><td>7</td></tr>'
        '<tr><th align="left">Kunde</th><td>Zoë O&#x27;Brien &amp; &quot;Söhne&quot; &lt;b&gt;'
        "</td></tr>"
        '<tr><th align="left">PLZ und Ort</th><td>04107 Leipzig</td></tr>'
        '<tr><th align="left">Eingang</th><td>13.11.2026</td></tr>'
        '<tr><th align="left">Anzahl Module</th><td>24</td></tr>'
        '<tr><th align="left">Interesse an Speicher</th><td>Nein</td></tr>'
        '<tr><th align="left">Ersparnis pro Jahr</th><td>924,00\xa0€</td></tr></table>',
        '<p><a href="https://leads.example.com/leads/7">Anfrage öffnen</a></p>',
        "<p><small>Diese Nachricht wurde automatisch vom Lead Management Tool versandt."
        "</small></p>",
        "</body></html>",
        "",
    ]
)


def _english_rows(lead_id: int, customer: str) -> list[str]:
    return [
        f"Lead:                  {lead_id}",
        f"Customer:              {customer}",
        "Postal code and city:  04107 Leipzig",
        "Received:              13 Nov 2026",
        "Number of modules:     24",
        "Interested in storage: No",
        "Savings per year:      €924.00",
        f"Open the lead: https://leads.example.com/leads/{lead_id}",
        "",
    ]


def _english_table(lead_id: int, customer: str) -> list[str]:
    return [
        f'<table><tr><th align="left">Lead</th><td>{lead_id}</td></tr>'
        f'<tr><th align="left">Customer</th><td>{customer}</td></tr>'
        '<tr><th align="left">Postal code and city</th><td>04107 Leipzig</td></tr>'
        '<tr><th align="left">Received</th><td>13 Nov 2026</td></tr>'
        '<tr><th align="left">Number of modules</th><td>24</td></tr>'
        '<tr><th align="left">Interested in storage</th><td>No</td></tr>'
        '<tr><th align="left">Savings per year</th><td>€924.00</td></tr></table>',
        f'<p><a href="https://leads.example.com/leads/{lead_id}">Open the lead</a></p>',
    ]


ENGLISH_DIGEST_TEXT = "\n".join(
    [
        "Hello Bob Sun,",
        "",
        "These new leads in your territory are still available:",
        "",
        *_english_rows(7, "Erika Mustermann"),
        *_english_rows(8, ODD_NAME),
        "-- ",
        "This message was sent automatically by the Lead Management Tool.",
        "",
    ]
)

ENGLISH_DIGEST_HTML = "\n".join(
    [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>Your new leads of 17 Nov 2026 (2)</title></head>",
        "<body>",
        "<p>Hello Bob Sun,</p>",
        "<p>These new leads in your territory are still available:</p>",
        *_english_table(7, "Erika Mustermann"),
        *_english_table(8, "Zoë O&#x27;Brien &amp; &quot;Söhne&quot; &lt;b&gt;"),
        "<p><small>This message was sent automatically by the Lead Management Tool.</small></p>",
        "</body></html>",
        "",
    ]
)


class TestWordForWord:
    def test_a_german_notice(self) -> None:
        """R10, R9, R16: the holder reads his customer's name, the deadline in his own
        time, and the lead's figures in German notation."""
        mail = Renderer(BASE).render(assigned(), lead(name=ODD_NAME), ANNA)
        assert mail.subject == 'Anfrage 7 wurde Ihnen zugeteilt: Zoë O\'Brien & "Söhne" <b>'
        assert mail.text == GERMAN_NOTICE_TEXT
        assert mail.html == GERMAN_NOTICE_HTML

    def test_an_english_digest(self) -> None:
        """R10 (digest option): one block per lead, each with its link; the policy
        ``shown`` names the customers (R16)."""
        renderer = Renderer(BASE, policy=Policy(contact_before_claim="shown"))
        leads = [pool(7, "Erika Mustermann"), pool(8, ODD_NAME)]
        mail = renderer.render_digest(BOB, leads, dt.date(2026, 11, 17))
        assert mail.subject == "Your new leads of 17 Nov 2026 (2)"
        assert mail.text == ENGLISH_DIGEST_TEXT
        assert mail.html == ENGLISH_DIGEST_HTML

    def test_a_notice_without_a_deadline_has_one_paragraph(self) -> None:
        """R10: no running deadline, no deadline sentence."""
        mail = Renderer(BASE).render(assigned(None), lead(hold_until=None), ANNA)
        assert mail.text.startswith(
            "Guten Tag Anna Solar,\n\n"
            "Ihr Vertriebsmitarbeiter hat Ihnen diese Anfrage zugeteilt.\n\n"
            "Anfrage:               7\n"
        )


class TestFooterAndProductName:
    def test_the_product_name_is_a_setting(self) -> None:
        renderer = Renderer(BASE, product_name="Q.PARTNER Lead Management")
        german = renderer.render(assigned(), lead(), ANNA)
        english = renderer.render(assigned(), lead(), BOB)
        assert german.text.endswith(
            "-- \nDiese Nachricht wurde automatisch vom Q.PARTNER Lead Management versandt.\n"
        )
        assert english.text.endswith(
            "-- \nThis message was sent automatically by the Q.PARTNER Lead Management.\n"
        )
        assert "<p><small>This message was sent automatically by the Q.PARTNER" in english.html

    def test_a_footer_replaces_the_sentence_in_every_language(self) -> None:
        """Given as it is, escaped in the HTML; the rest of the mail stays as it was."""
        footer = "Q CELLS <Service> · Sonnenallee 17 · $5 Hotline"
        renderer = Renderer(BASE, footer=footer)
        for who in (ANNA, BOB):
            mail = renderer.render(assigned(), lead(name=ODD_NAME), who)
            assert mail.text.endswith(f"-- \n{footer}\n")
            assert (
                "<small>Q CELLS &lt;Service&gt; · Sonnenallee 17 · $5 Hotline</small>" in mail.html
            )
        german = renderer.render(assigned(), lead(name=ODD_NAME), ANNA)
        assert german.text.replace(footer, "Diese Nachricht wurde automatisch vom Lead "
                                   "Management Tool versandt.") == GERMAN_NOTICE_TEXT  # fmt: skip

    @pytest.mark.parametrize("settings", [{"product_name": " "}, {"footer": ""}, {"footer": "\n"}])
    def test_a_blank_setting_is_refused(self, settings: dict[str, str]) -> None:
        with pytest.raises(ConfigurationError):
            Renderer(BASE, **settings)


class TestAThirdLanguage:
    def test_a_dropped_in_catalog_writes_the_mails_in_its_language(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """R10: a French catalog, and a French installer reads French words and French
        dates; what the catalog does not translate reads in German."""
        catalog = Catalog(locale="fr", domain="qleads")
        for message, translated in {
            "Anfrage $id wurde Ihnen zugeteilt: $who": "Demande $id vous a été attribuée : $who",
            "Guten Tag $name,": "Bonjour $name,",
            "Bitte erfassen Sie einen Status bis $when.": "Merci de saisir un statut avant $when.",
            "EEEE, dd.MM.yyyy, HH:mm 'Uhr'": "EEEE d MMMM y, HH:mm",
            "dd.MM.yyyy": "dd/MM/y",
            "Diese Nachricht wurde automatisch vom $product versandt.": "Envoyé par le $product.",
        }.items():
            catalog.add(message, translated)
        folder = tmp_path / "fr" / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / "qleads.mo").open("wb") as handle:
            write_mo(handle, catalog)
        monkeypatch.setenv(LOCALE_PATH_ENV, str(tmp_path))
        claude = attrs.evolve(ANNA, name="Claude", language="fr-FR")
        mail = Renderer(BASE).render(assigned(), lead(), claude)
        assert mail.subject == "Demande 7 vous a été attribuée : Erika Mustermann"
        assert mail.text.startswith("Bonjour Claude,\n\n")
        assert "Merci de saisir un statut avant mardi 17 novembre 2026, 16:00." in mail.text
        assert "Eingang:               13/11/2026\n" in mail.text
        savings = format_currency(Decimal("924.00"), "EUR", locale="fr")
        assert f"Ersparnis pro Jahr:    {savings}\n" in mail.text
        assert mail.text.endswith("-- \nEnvoyé par le Lead Management Tool.\n")
        assert mail.html.startswith('<!DOCTYPE html>\n<html lang="fr">')

    def test_a_catalog_babel_has_no_locale_for_formats_dates_as_german(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A catalog under a name Babel does not know still mails: its words, German
        dates and money."""
        catalog = Catalog(domain="qleads")
        catalog.add("Guten Tag $name,", "Qapla' $name,")
        folder = tmp_path / "xx" / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / "qleads.mo").open("wb") as handle:
            write_mo(handle, catalog)
        monkeypatch.setenv(LOCALE_PATH_ENV, str(tmp_path))
        mail = Renderer(BASE).render(assigned(), lead(), attrs.evolve(ANNA, language="xx"))
        assert mail.text.startswith("Qapla' Anna Solar,\n")
        assert "bis Dienstag, 17.11.2026, 16:00 Uhr." in mail.text
        assert "Ersparnis pro Jahr:    924,00\xa0€\n" in mail.text


def test_the_templates_hold_layout_only() -> None:
    """Every word of a mail comes from the catalogs, so that every language gets all of
    them: a template is slots, markup and punctuation."""
    folder = resources.files("qleads.mail") / "templates"
    names = sorted(t.name for t in folder.iterdir())
    assert names == [f"{part}.{ext}" for part in ("lead", "mail", "paragraph", "row")
                     for ext in ("html", "txt")]  # fmt: skip
    for name in names:
        text = (folder / name).read_text(encoding="utf-8")
        assert not re.findall(r"[^\W\d_]+", re.sub(r"\$\{\w+\}|<[^>]*>", "", text)), name


class TestABadCatalog:
    def test_a_translation_that_breaks_its_placeholders_reads_in_german(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A dropped-in catalog nobody checked cannot stop a mail: a translation with
        another placeholder or a stray ``$`` gives way to the German message; braces and
        ``$$`` in a good one are text."""
        catalog = Catalog(locale="en", domain="qleads")
        catalog.add("Guten Tag $name,", "Hi $nom,")
        catalog.add("Anfrage öffnen", "Open $ it")
        catalog.add("Kunde", "{Customer} $$")
        folder = tmp_path / "en" / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / "qleads.mo").open("wb") as handle:
            write_mo(handle, catalog)
        monkeypatch.setenv(LOCALE_PATH_ENV, str(tmp_path))
        mail = Renderer(BASE).render(assigned(), lead(), BOB)
        assert mail.text.startswith("Guten Tag Bob Sun,\n\nYour sales representative")
        assert "Anfrage öffnen: https://leads.example.com/leads/7\n" in mail.text
        assert "{Customer} $:          Erika Mustermann\n" in mail.text

"""Demo data: the manual's example lead and about 200 realistic leads across Germany.

Everything is created *through* ``LeadDesk`` — intake, claim, assign, record, release and
the sweep — with a frozen clock walking through the past eight weeks, so the histories,
outbox rows and mails are exactly what real use would leave behind (R1–R13). The random
choices are seeded: the same ``now`` gives the same data.

Logins (password ``demo``): ``installer1`` and ``installer2`` share the Saxon territory of
``rep1``; ``installer3`` works in Bavaria for ``rep2``; more installers and reps cover
Berlin, Hamburg and North Rhine-Westphalia; ``admin`` sees everything.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from sqlalchemy import func, select

from qleads.adapters.clock import FrozenClock
from qleads.calendar import Calendar
from qleads.decline import Effect, effect_of
from qleads.desk import LeadDesk
from qleads.errors import QleadsError
from qleads.lifecycle import Status
from qleads.model import (
    Admin,
    Channel,
    Installer,
    LeadSource,
    ReleaseReason,
    SalesRep,
    Territory,
)
from qleads.testing.documents import FIRST_NAMES, SURNAMES

from .models import PortalUser
from .services import Services

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "DemoSummary", "load_demo", "load_demo_if_empty"]

DEMO_PASSWORD = "demo"  # noqa: S105 - the documented password of the demo logins
#: The logins the start-up banner prints.
DEMO_LOGINS = ("installer1", "installer2", "installer3", "rep1", "admin")

_SEED = 20180727
_LEADS = 200
_WEEKS = 8


@attrs.frozen
class _Region:
    territory: str | None
    places: tuple[tuple[str, str], ...]
    streets: tuple[str, ...]


_REGIONS = (
    _Region(
        "sachsen",
        (
            ("01067", "Dresden"),
            ("01309", "Dresden"),
            ("01445", "Radebeul"),
            ("01662", "Meißen"),
            ("02625", "Bautzen"),
            ("02826", "Görlitz"),
            ("04103", "Leipzig"),
            ("04107", "Leipzig"),
            ("04229", "Leipzig"),
            ("04315", "Leipzig"),
            ("04720", "Döbeln"),
            ("08056", "Zwickau"),
            ("08523", "Plauen"),
            ("09111", "Chemnitz"),
            ("09599", "Freiberg"),
        ),
        (
            "Härtelstraße",
            "Karl-Liebknecht-Straße",
            "Bautzner Straße",
            "Lindenauer Markt",
            "Zschochersche Straße",
            "Königsbrücker Straße",
            "Reichenbacher Straße",
        ),
    ),
    _Region(
        "berlin",
        (
            ("10115", "Berlin"),
            ("10405", "Berlin"),
            ("10827", "Berlin"),
            ("12043", "Berlin"),
            ("13353", "Berlin"),
            ("14467", "Potsdam"),
            ("15230", "Frankfurt (Oder)"),
            ("16225", "Eberswalde"),
        ),
        ("Kastanienallee", "Sonnenallee", "Müllerstraße", "Brandenburger Straße", "Torstraße"),
    ),
    _Region(
        "hamburg",
        (
            ("20095", "Hamburg"),
            ("20249", "Hamburg"),
            ("21073", "Hamburg"),
            ("22765", "Hamburg"),
            ("22111", "Hamburg"),
            ("21465", "Reinbek"),
        ),
        ("Elbchaussee", "Eppendorfer Weg", "Große Bergstraße", "Wandsbeker Chaussee"),
    ),
    _Region(
        "nrw",
        (
            ("40210", "Düsseldorf"),
            ("42103", "Wuppertal"),
            ("44135", "Dortmund"),
            ("45127", "Essen"),
            ("47051", "Duisburg"),
            ("48143", "Münster"),
            ("50667", "Köln"),
            ("50939", "Köln"),
            ("52062", "Aachen"),
            ("53111", "Bonn"),
            ("57072", "Siegen"),
            ("59065", "Hamm"),
        ),
        ("Königsallee", "Hohe Straße", "Ruhrallee", "Aachener Straße", "Prinzipalmarkt"),
    ),
    _Region(
        "bayern",
        (
            ("80331", "München"),
            ("81675", "München"),
            ("82031", "Grünwald"),
            ("83022", "Rosenheim"),
            ("85049", "Ingolstadt"),
            ("86150", "Augsburg"),
            ("90402", "Nürnberg"),
            ("93047", "Regensburg"),
            ("94032", "Passau"),
            ("95444", "Bayreuth"),
            ("96047", "Bamberg"),
            ("97070", "Würzburg"),
        ),
        ("Leopoldstraße", "Maximilianstraße", "Hauptstraße", "Bahnhofstraße", "Am Anger"),
    ),
    _Region(
        None,  # no territory covers these: admins see them under "Nicht zugeordnet" (R1)
        (
            ("30159", "Hannover"),
            ("70173", "Stuttgart"),
            ("33602", "Bielefeld"),
            ("28195", "Bremen"),
            ("60311", "Frankfurt am Main"),
        ),
        ("Bahnhofstraße", "Lange Straße", "Marktplatz"),
    ),
)
#: How often each region comes up (Saxony first: installer1 and installer2 live there).
_REGION_WEIGHTS = (34, 16, 12, 16, 18, 4)

_REACH = (
    "immer",
    "vormittags",
    "nachmittags",
    "abends ab 18 Uhr",
    "am Wochenende",
    "werktags 8–16 Uhr",
)
_USAGE = ("Wochentags", "Wochenende", "abends", "ganztägig")
_MODULES = (
    "Q.PEAK DUO BLK-G5 und Q.PEAK DUO-G5",
    "Q.PEAK DUO-G5",
    "Q.PEAK DUO BLK-G5",
    "Q.PEAK DUO ML-G9",
    "Q.TRON BLK M-G2+",
)
_COMMENTS = (
    "",
    "",
    "",
    "Bitte vorher anrufen.",
    "Wir planen auch eine Wallbox.",
    "Dach wurde 2015 neu gedeckt.",
    "Interesse an Finanzierung.",
    "Garage soll ebenfalls belegt werden.",
)


@attrs.frozen
class _Person:
    id: str
    username: str
    name: str
    territory: str


_REPS = (
    SalesRep("rep1", "Sandra Vogel", "rep1@example.com", calendar=Calendar("DE", "SN")),
    SalesRep("rep2", "Markus Hoffmann", "rep2@example.com", calendar=Calendar("DE", "BY")),
    SalesRep("rep3", "Julia Brandt", "rep3@example.com", calendar=Calendar("DE", "BE")),
    SalesRep("rep4", "Thomas Krüger", "rep4@example.com", calendar=Calendar("DE", "NW")),
)
_TERRITORIES = (
    Territory("sachsen", "Sachsen", "DE", frozenset(f"0{d}" for d in range(1, 10)), "rep1"),
    Territory(
        "berlin", "Berlin/Brandenburg", "DE", frozenset(str(p) for p in range(10, 17)), "rep3"
    ),
    Territory("hamburg", "Hamburg", "DE", frozenset({"20", "21", "22"}), "rep3"),
    Territory("nrw", "Nordrhein-Westfalen", "DE", frozenset(str(p) for p in range(40, 60)), "rep4"),
    Territory("bayern", "Bayern", "DE", frozenset(str(p) for p in range(80, 98)), "rep2"),
)
_INSTALLERS = (
    Installer(
        "installer1",
        "Solartechnik Müller GmbH",
        "installer1@example.com",
        "rep1",
        calendar=Calendar("DE", "SN"),
    ),
    Installer(
        "installer2",
        "Elbsonne Energie",
        "installer2@example.com",
        "rep1",
        calendar=Calendar("DE", "SN"),
    ),
    Installer(
        "installer3",
        "Alpensolar Huber",
        "installer3@example.com",
        "rep2",
        calendar=Calendar("DE", "BY"),
    ),
    Installer(
        "installer4",
        "Frankensolar Bauer",
        "installer4@example.com",
        "rep2",
        calendar=Calendar("DE", "BY"),
    ),
    Installer(
        "installer5",
        "Sonnenwerk Berlin",
        "installer5@example.com",
        "rep3",
        calendar=Calendar("DE", "BE"),
    ),
    Installer(
        "installer6",
        "Nordlicht Solar",
        "installer6@example.com",
        "rep3",
        calendar=Calendar("DE", "HH"),
        language="en",
    ),
    Installer(
        "installer7",
        "Rhein-Ruhr Photovoltaik",
        "installer7@example.com",
        "rep4",
        calendar=Calendar("DE", "NW"),
    ),
    Installer(
        "installer8",
        "Westfalen Energie",
        "installer8@example.com",
        "rep4",
        calendar=Calendar("DE", "NW"),
    ),
)
_ADMIN = Admin("admin", "Administrator", "admin@example.com")
_SOURCE = LeadSource("solarrechner", "Q CELLS Solarrechner")


@attrs.frozen
class DemoSummary:
    leads: int
    #: The intake API token of the "solarrechner" source, shown once (stored hashed).
    source_token: str


def _money(value: float) -> str:
    return f"{value:.2f}"


def _document(
    rng: random.Random, index: int, received: dt.datetime, region: _Region
) -> dict[str, Any]:
    postal_code, city = rng.choice(region.places)
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    persons = rng.randint(1, 6)
    kwh = int(round(1400 + persons * 850 + rng.randint(-400, 900), -1))
    price = rng.choice((27, 28, 29, 30, 31, 32, 33, 35))
    area = rng.randint(30, 160)
    modules = max(6, min(40, area // 6 + rng.randint(-3, 3)))
    year_without = round(kwh * price / 100)
    share = rng.uniform(0.12, 0.3)
    year_with = round(year_without * share)
    twenty_without = round(year_without * 20 * 1.34)
    twenty_with = round(twenty_without * share * 1.1 + modules * 330)
    co2 = modules * rng.randint(820, 960)
    return {
        "source_id": f"solarrechner-{1000 + index}",
        "received_at": received.isoformat(),
        "contact": {
            "name": f"{first} {last}",
            "street": f"{rng.choice(region.streets)} {rng.randint(1, 140)}",
            "postal_code": postal_code,
            "city": city,
            "country": "DE",
            "email": f"{first}.{last}@example.org".lower()
            .replace("ü", "ue")
            .replace("ö", "oe")
            .replace("ä", "ae")
            .replace("ß", "ss"),
            "phone": f"0{rng.randint(30, 989)} {rng.randint(100000, 9999999)}",
            "reachability": rng.choice(_REACH),
            "comment": rng.choice(_COMMENTS),
        },
        "consumption": {
            "persons": persons,
            "annual_kwh": kwh,
            "price_ct_per_kwh": price,
            "main_usage": rng.choice(_USAGE),
        },
        "roof": {
            "area_m2": area,
            "tilt_deg": rng.choice((15, 20, 25, 30, 35, 40, 45)),
            "azimuth_deg": rng.choice((90, 135, 160, 180, 200, 225, 270)),
            "modules": rng.choice(_MODULES),
            "module_count": modules,
            "storage_interest": rng.random() < 0.45,
        },
        "costs": {
            "per_month": {
                "with_pv": _money(round(year_with / 12)),
                "without_pv": _money(round(year_without / 12)),
            },
            "per_year": {"with_pv": _money(year_with), "without_pv": _money(year_without)},
            "after_20_years": {
                "with_pv": _money(twenty_with),
                "without_pv": _money(max(twenty_without, twenty_with)),
            },
        },
        "eco_balance": {"co2_saving_kg": co2, "trees_planted": co2 // 73},
    }


#: The end states of the generated leads and their weights.
_FATES = (
    ("new", 26),
    ("released", 5),
    ("expired", 4),
    ("claimed", 7),
    ("assigned", 6),
    ("contact_attempted", 9),
    ("first_contact", 8),
    ("offer_sent", 8),
    ("follow_up", 8),
    ("order_placed", 11),
    ("unsuccessful", 8),
)
_CHAIN = {
    "contact_attempted": (Status.CONTACT_ATTEMPTED,),
    "first_contact": (Status.CONTACT_ATTEMPTED, Status.FIRST_CONTACT),
    "offer_sent": (Status.FIRST_CONTACT, Status.OFFER_SENT),
    "follow_up": (Status.CONTACT_ATTEMPTED, Status.FOLLOW_UP),
    "order_placed": (Status.FIRST_CONTACT, Status.OFFER_SENT, Status.ORDER_PLACED),
    "unsuccessful": (Status.CONTACT_ATTEMPTED, Status.UNSUCCESSFUL),
}
_NOTES = {
    Status.CONTACT_ATTEMPTED: ("Nicht erreicht, Nachricht hinterlassen.", "Mailbox.", ""),
    Status.FIRST_CONTACT: ("Termin vor Ort vereinbart.", "Kunde möchte Angebot mit Speicher.", ""),
    Status.OFFER_SENT: ("Angebot per E-Mail verschickt.", "Angebot inkl. Speicher gesendet.", ""),
    Status.FOLLOW_UP: ("Kunde meldet sich nach dem Urlaub.", "Erneut anrufen.", ""),
    Status.ORDER_PLACED: ("Auftrag unterschrieben.", "Montage geplant.", ""),
    Status.UNSUCCESSFUL: (
        "Kunde hat sich für einen anderen Anbieter entschieden.",
        "Kein Interesse mehr.",
        "",
    ),
}

_Step = tuple[dt.datetime, int, Callable[[], object]]


def _build_directory(services: Services) -> str:
    directory = services.directory
    for rep in _REPS:
        directory.add_rep(rep)
    for territory in _TERRITORIES:
        directory.add_territory(territory)
    for installer in _INSTALLERS:
        directory.add_installer(installer)
    directory.add_admin(_ADMIN)
    token = secrets.token_urlsafe(24)
    directory.add_source(_SOURCE, token=token)
    with services.sessions() as session, session.begin():
        logins: Iterable[tuple[str, str, str, str]] = (
            *((i.id, "installer", i.id, i.language) for i in _INSTALLERS),
            *((r.id, "rep", r.id, r.language) for r in _REPS),
            ("admin", "admin", _ADMIN.id, "de"),
        )
        for username, role, actor_id, language in logins:
            user = PortalUser(username=username, role=role, actor_id=actor_id, language=language)
            user.set_password(DEMO_PASSWORD)
            session.add(user)
    return token


def _plan(
    rng: random.Random,
    desk: LeadDesk,
    now: dt.datetime,
    lead_id: int,
    received: dt.datetime,
    territory: str | None,
) -> list[_Step]:
    """The steps that bring one lead to its (random) end state, each with its instant."""
    if territory is None:
        return []
    fate = rng.choices([f for f, _w in _FATES], [w for _f, w in _FATES])[0]
    crew = [i for i in _INSTALLERS if i.rep_id == _rep_of(territory)]
    who = rng.choice(crew)
    rep = next(r for r in _REPS if r.id == who.rep_id)
    hour = dt.timedelta(hours=1)
    age = now - received
    steps: list[_Step] = []

    def at(instant: dt.datetime, action: Callable[[], object]) -> None:
        steps.append((min(instant, now - dt.timedelta(minutes=5)), lead_id, action))

    if fate == "new" or age < 3 * hour:
        return []
    if fate == "claimed":
        # claimed lately, so that the hold (2 business days, R3) still runs
        start = max(received + 10 * dt.timedelta(minutes=1), now - rng.randint(1, 12) * hour)
        at(start, lambda: desk.claim(who, lead_id))
        return steps
    if fate == "assigned":
        start = max(received + hour, now - rng.randint(2, 40) * hour)
        at(start, lambda: desk.assign(rep, lead_id, who))
        return steps
    taken = received + rng.randint(1, 20) * hour
    if taken >= now - 2 * hour:
        return []
    if rng.random() < 0.3:
        at(taken, lambda: desk.assign(rep, lead_id, who))
    else:
        at(taken, lambda: desk.claim(who, lead_id))
    if fate == "released":
        # Reasons that send a lead back to the pool: the demo keeps its pool busy.
        reason = rng.choice([r for r in ReleaseReason if effect_of(r) is Effect.POOL])
        at(
            taken + rng.randint(1, 20) * hour,
            lambda: desk.release(who, lead_id, reason=reason, note="Keine Kapazität im Moment."),
        )
        return steps
    if fate == "expired":
        # never worked on: the sweep at the end returns it to the pool (R4) — only for
        # claims, an assignment is never released automatically (R5)
        if age < dt.timedelta(days=5):
            steps.clear()
            return steps
        steps[0] = (taken, lead_id, lambda: desk.claim(who, lead_id))
        return steps
    when = taken
    for status in _CHAIN[fate]:
        when = when + rng.randint(2, 30) * hour
        if when >= now - hour:
            break
        note = rng.choice(_NOTES[status])
        channel = rng.choice(list(Channel))
        due = None
        if status is Status.FOLLOW_UP:
            due = when + dt.timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8))
        at(when, _recorder(desk, who, lead_id, status, channel, note, due))
    return steps


def _recorder(
    desk: LeadDesk,
    who: Installer,
    lead_id: int,
    status: Status,
    channel: Channel,
    note: str,
    due: dt.datetime | None,
) -> Callable[[], object]:
    return lambda: desk.record(who, lead_id, status, channel=channel, note=note, due_at=due)


def _rep_of(territory: str) -> str:
    return next(t.rep_id for t in _TERRITORIES if t.id == territory)


def load_demo(services: Services, now: dt.datetime | None = None) -> DemoSummary:
    """Fill an empty database with the demo directory, logins and leads, as of ``now``
    (default: the services' clock)."""
    from qleads.testing.documents import manual_example_document

    end = (now or services.clock.now()).astimezone(dt.UTC).replace(microsecond=0)
    token = _build_directory(services)
    rng = random.Random(_SEED)
    clock = FrozenClock(end - dt.timedelta(weeks=_WEEKS))
    # The manual's Anlage 2 of July 2018 stays "Neu" to be seen: the demo keeps leads
    # nobody claimed for ten years, where R14's default retention takes them after one.
    services.settings.save_policy(
        attrs.evolve(services.desk.policy, retention_unclaimed_months=120)
    )
    desk = LeadDesk(services.repository, services.directory, clock, services.desk.policy)
    source = services.directory.source(_SOURCE.id)
    assert source is not None
    desk.intake(source, manual_example_document())  # the manual's Anlage 2, left "Neu"

    start = end - dt.timedelta(weeks=_WEEKS)
    span = (end - start).total_seconds()
    arrivals = sorted(
        start + dt.timedelta(seconds=rng.uniform(0, span - 3600)) for _ in range(_LEADS)
    )
    steps: list[_Step] = []
    for index, received in enumerate(arrivals, start=1):
        received = received.replace(microsecond=0)
        region = rng.choices(_REGIONS, _REGION_WEIGHTS)[0]
        clock.set(received)
        lead = desk.intake(source, _document(rng, index, received, region)).lead
        steps += _plan(rng, desk, end, lead.id, received, lead.territory_id)
        # run the work that is due before the next arrival, in time order
        steps.sort(key=lambda s: (s[0], s[1]))
        while steps and steps[0][0] <= received:
            _run(clock, steps.pop(0))
    for step in sorted(steps, key=lambda s: (s[0], s[1])):
        _run(clock, step)
    clock.set(end)
    desk.sweep(end)
    if services.settings.config.get("QLEADS_MAILER") == "database":
        services.dispatcher.dispatch_all()
    return DemoSummary(leads=_LEADS + 1, source_token=token)


def _run(clock: FrozenClock, step: _Step) -> None:
    instant, _lead_id, action = step
    clock.set(max(instant, clock.now()))
    try:
        action()
    except QleadsError:
        # A planned step that the rules refuse at that moment (say, a record after a
        # weekend let the claim expire) is simply not part of this lead's story.
        return


def is_empty(services: Services) -> bool:
    with services.read_sessions() as session:
        return not session.scalar(select(func.count(PortalUser.id)))


def load_demo_if_empty(services: Services) -> DemoSummary | None:
    """Load the demo unless the database has portal users already."""
    if not is_empty(services):
        return None
    return load_demo(services)

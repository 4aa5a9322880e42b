"""One small installer network to run the desk on, for every test layer.

The unit tests, the contract suites, the state machine and the integration tests all
need the same things around a :class:`~qleads.desk.LeadDesk`: sales reps with their
territories, installers under them, an admin, the calculator as a lead source, a frozen
clock, and a quick way to store leads. :class:`World` builds them on whatever repository
and directory it is given (in memory by default, a database for the SQL tests), so that
a rule is tested against the same people on every adapter.

:data:`CAST` is the network of the manual: the rep of the East owns Leipzig and Dresden
and has Anna and Ben, the rep of the South owns Munich and has Carl — two installers who
compete for the same leads (R3) and one who must never see them (R2), on the calendars
of Saxony (Buß- und Bettag) and Bavaria (R9). A test that needs other people passes its
own :class:`Cast`, or :meth:`Cast.replacing` one person of the standard one.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import attrs

from qleads.adapters.clock import FrozenClock
from qleads.adapters.memory import InMemoryDirectory, InMemoryLeadRepository
from qleads.calendar import Calendar
from qleads.desk import LeadDesk
from qleads.lifecycle import Status
from qleads.model import (
    Admin,
    Consumption,
    Contact,
    CostRow,
    Costs,
    Deadline,
    EcoBalance,
    Installer,
    Lead,
    LeadDocument,
    LeadSource,
    Notification,
    NotificationKind,
    Policy,
    Roof,
    SalesRep,
    Territory,
)
from qleads.ports import Directory, LeadRepository
from qleads.testing.documents import manual_example_document

__all__ = [
    "ADMIN",
    "ANNA",
    "BAVARIA",
    "BEN",
    "CARL",
    "CAST",
    "DRESDEN",
    "LEIPZIG",
    "MUNICH",
    "REP_EAST",
    "REP_SOUTH",
    "SAXONY",
    "SOURCE",
    "T0",
    "Cast",
    "EditableDirectory",
    "World",
    "WritableDirectory",
    "lead_document",
    "make_document",
    "make_lead",
    "store_leads",
]

#: Monday 2026-11-16, 09:00 in Leipzig; Wednesday the 18th is Buß- und Bettag (Saxony only).
T0 = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.UTC)

SAXONY = Calendar("DE", "SN")
BAVARIA = Calendar("DE", "BY")

REP_EAST = SalesRep("r-east", "Rita Ost", "rita@example.org", calendar=SAXONY)
REP_SOUTH = SalesRep("r-south", "Sepp Süd", "sepp@example.org", calendar=BAVARIA)
LEIPZIG = Territory("t-leipzig", "Leipzig", "DE", frozenset({"04"}), REP_EAST.id)
DRESDEN = Territory("t-dresden", "Dresden", "DE", frozenset({"01", "09"}), REP_EAST.id)
MUNICH = Territory("t-munich", "München", "DE", frozenset({"80", "81", "86"}), REP_SOUTH.id)
ANNA = Installer("i-anna", "Anna Solar", "anna@example.org", REP_EAST.id, calendar=SAXONY)
BEN = Installer("i-ben", "Ben Dach", "ben@example.org", REP_EAST.id, calendar=SAXONY)
CARL = Installer("i-carl", "Carl Modul", "carl@example.org", REP_SOUTH.id, calendar=BAVARIA)
ADMIN = Admin("a-root", "Root")
SOURCE = LeadSource("solarrechner", "Solarrechner")

_Person = TypeVar("_Person", SalesRep, Territory, Installer, Admin, LeadSource)


class WritableDirectory(Directory, Protocol):
    """A :class:`~qleads.ports.Directory` people can be added to, as :meth:`Cast.enrol`
    does: ``add_*`` refuses a known id and a reference to a sales rep that does not
    exist (:class:`~qleads.errors.InvalidInput`)."""

    def add_rep(self, rep: SalesRep) -> SalesRep: ...

    def add_territory(self, territory: Territory) -> Territory: ...

    def add_installer(self, installer: Installer) -> Installer: ...

    def add_admin(self, admin: Admin) -> Admin: ...

    def add_source(self, source: LeadSource) -> LeadSource: ...


class EditableDirectory(WritableDirectory, Protocol):
    """A :class:`WritableDirectory` with the rest of what a portal's admin screens need,
    as :class:`~qleads.adapters.memory.InMemoryDirectory` and the SQL directory offer
    it: ``update_*`` refuses an unknown id (:class:`~qleads.errors.InvalidInput`), and
    the lists come in the order of their ids."""

    def update_rep(self, rep: SalesRep) -> SalesRep: ...

    def update_territory(self, territory: Territory) -> Territory: ...

    def update_installer(self, installer: Installer) -> Installer: ...

    def update_admin(self, admin: Admin) -> Admin: ...

    def update_source(self, source: LeadSource) -> LeadSource: ...

    def reps(self) -> Sequence[SalesRep]: ...

    def installers(self) -> Sequence[Installer]: ...

    def admins(self) -> Sequence[Admin]: ...

    def sources(self) -> Sequence[LeadSource]: ...


def _by_id(people: Iterable[_Person], wanted: str, what: str) -> _Person:
    for person in people:
        if person.id == wanted:
            return person
    raise KeyError(f"the cast has no {what} {wanted!r}")


def _replaced(people: tuple[_Person, ...], person: _Person, what: str) -> tuple[_Person, ...]:
    _by_id(people, person.id, what)
    return tuple(person if p.id == person.id else p for p in people)


@attrs.frozen
class Cast:
    """Who is who in a network: reps, their territories, installers, admins, sources."""

    reps: tuple[SalesRep, ...]
    territories: tuple[Territory, ...]
    installers: tuple[Installer, ...]
    admins: tuple[Admin, ...] = (ADMIN,)
    sources: tuple[LeadSource, ...] = (SOURCE,)

    def enrol(self, directory: WritableDirectory) -> None:
        """Add everyone to ``directory``, reps first: territories and installers name
        them, and a directory refuses a reference to a rep it does not know."""
        for rep in self.reps:
            directory.add_rep(rep)
        for territory in self.territories:
            directory.add_territory(territory)
        for installer in self.installers:
            directory.add_installer(installer)
        for admin in self.admins:
            directory.add_admin(admin)
        for source in self.sources:
            directory.add_source(source)

    def replacing(self, *people: SalesRep | Territory | Installer | Admin | LeadSource) -> Cast:
        """This cast with each of ``people`` in place of the one with its id and kind
        (Ben on another calendar, an inactive Carl …); a person the cast does not have
        raises :class:`KeyError`."""
        cast = self
        for person in people:
            if isinstance(person, SalesRep):
                cast = attrs.evolve(cast, reps=_replaced(cast.reps, person, "sales rep"))
            elif isinstance(person, Territory):
                territories = _replaced(cast.territories, person, "territory")
                cast = attrs.evolve(cast, territories=territories)
            elif isinstance(person, Installer):
                installers = _replaced(cast.installers, person, "installer")
                cast = attrs.evolve(cast, installers=installers)
            elif isinstance(person, Admin):
                cast = attrs.evolve(cast, admins=_replaced(cast.admins, person, "admin"))
            else:
                cast = attrs.evolve(cast, sources=_replaced(cast.sources, person, "source"))
        return cast

    def installer(self, installer_id: str) -> Installer:
        return _by_id(self.installers, installer_id, "installer")

    def rep(self, rep_id: str) -> SalesRep:
        return _by_id(self.reps, rep_id, "sales rep")

    def territory(self, territory_id: str) -> Territory:
        return _by_id(self.territories, territory_id, "territory")

    def territory_ids_of(self, rep_id: str) -> frozenset[str]:
        return frozenset(t.id for t in self.territories if t.rep_id == rep_id)


#: The manual's network (see the module docstring).
CAST = Cast(
    reps=(REP_EAST, REP_SOUTH),
    territories=(LEIPZIG, DRESDEN, MUNICH),
    installers=(ANNA, BEN, CARL),
)


class _HasNotifications(Protocol):
    def notifications(self) -> Sequence[Notification]: ...


class World:
    """A :class:`~qleads.desk.LeadDesk` on ``repository`` (a fresh in-memory one by
    default) and ``directory`` (likewise), with ``cast`` enrolled in the directory and a
    :class:`~qleads.adapters.clock.FrozenClock` set to ``now``. ``enrol=False`` says the
    directory holds the cast already (a database another process set up).

    ``anna``, ``ben``, ``carl``, ``rep_east`` and ``rep_south`` are the people of
    :data:`CAST`; ``admin`` and ``source`` the cast's first admin and source.
    """

    def __init__(
        self,
        repository: LeadRepository | None = None,
        *,
        directory: WritableDirectory | None = None,
        now: dt.datetime = T0,
        policy: Policy | None = None,
        cast: Cast = CAST,
        enrol: bool = True,
    ) -> None:
        self.cast = cast
        self.repository: LeadRepository = (
            repository if repository is not None else InMemoryLeadRepository()
        )
        self.directory: WritableDirectory = (
            directory if directory is not None else InMemoryDirectory()
        )
        if enrol:
            cast.enrol(self.directory)
        self.clock = FrozenClock(now)
        self.desk = LeadDesk(self.repository, self.directory, self.clock, policy)
        self.admin = cast.admins[0]
        self.source = cast.sources[0]

    @property
    def anna(self) -> Installer:
        return self.cast.installer(ANNA.id)

    @property
    def ben(self) -> Installer:
        return self.cast.installer(BEN.id)

    @property
    def carl(self) -> Installer:
        return self.cast.installer(CARL.id)

    @property
    def rep_east(self) -> SalesRep:
        return self.cast.rep(REP_EAST.id)

    @property
    def rep_south(self) -> SalesRep:
        return self.cast.rep(REP_SOUTH.id)

    def intake(self, source_id: str = "solarrechner-279", postal_code: str = "04107") -> int:
        """The id of the lead :func:`lead_document` makes, taken in from the source (R1)."""
        return self.desk.intake(self.source, lead_document(source_id, postal_code)).lead.id

    def store(self, *drafts: Lead) -> list[Lead]:
        """Store draft leads (see :func:`make_lead`) as they are, in one unit of work,
        without the desk's rules: for the state a test starts from."""
        return store_leads(self.repository, drafts)

    def notifications(self) -> Sequence[Notification]:
        """The committed notifications, from a repository that lists them (the in-memory
        and the SQL repository do)."""
        reader: _HasNotifications = self.repository  # type: ignore[assignment]
        return reader.notifications()

    def notices(self, kind: NotificationKind | None = None) -> list[tuple[str, int, str]]:
        """``(kind, lead id, recipient)`` of every committed notification (of ``kind``)."""
        return [
            (n.kind.value, n.lead_id, n.recipient_id)
            for n in self.notifications()
            if kind is None or n.kind is kind
        ]

    def advance(self, **delta: float) -> dt.datetime:
        """Move the clock on by ``timedelta(**delta)``; the new now."""
        return self.clock.advance(dt.timedelta(**delta))


# --- lead documents and leads ----------------------------------------------------------------


def store_leads(repository: LeadRepository, drafts: Iterable[Lead]) -> list[Lead]:
    """Store draft leads in one unit of work, as they are; the stored leads, with ids."""
    with repository.unit_of_work() as uow:
        stored = [uow.add(draft) for draft in drafts]
        uow.commit()
    return stored


def lead_document(
    source_id: str = "solarrechner-279", postal_code: str = "04107", **changes: Any
) -> dict[str, Any]:
    """The manual's example lead (Anlage 2) as the calculator sends it, under
    ``source_id`` and ``postal_code``, received on Monday 2 November 2026 at 09:00 in
    Leipzig (two weeks before :data:`T0`); ``changes`` replace top-level fields."""
    raw = copy.deepcopy(manual_example_document())
    raw["source_id"] = source_id
    raw["contact"]["postal_code"] = postal_code
    raw["received_at"] = "2026-11-02T09:00:00+01:00"
    raw.update(changes)
    return raw


def make_document(
    source_id: str,
    *,
    postal_code: str = "04107",
    city: str = "Leipzig",
    name: str = "Erika Mustermann",
    received_at: dt.datetime | None = None,
) -> LeadDocument:
    """A complete lead document with the manual's example figures (Anlage 2)."""
    return LeadDocument(
        source_id=source_id,
        contact=Contact(
            name=name,
            street="Augustusplatz 9",
            postal_code=postal_code,
            city=city,
            country="DE",
            email="erika@example.org",
            phone="+49 341 1234567",
            reachability="werktags ab 17 Uhr",
            comment="Bitte zuerst per E-Mail — danke!",
        ),
        consumption=Consumption(
            persons=4,
            annual_kwh=4500,
            price_ct_per_kwh=Decimal("31.45"),
            main_usage="evenings",
        ),
        roof=Roof(
            area_m2=Decimal("42.50"),
            tilt_deg=35,
            azimuth_deg=180,
            modules="Q.PEAK DUO ML-G10 400",
            module_count=18,
            storage_interest=True,
        ),
        costs=Costs(
            per_month=CostRow(with_pv=Decimal("15.00"), without_pv=Decimal("92.00")),
            per_year=CostRow(with_pv=Decimal("180.00"), without_pv=Decimal("1104.00")),
            after_20_years=CostRow(with_pv=Decimal("3600.00"), without_pv=Decimal("22080.00")),
        ),
        eco_balance=EcoBalance(co2_saving_kg=48000, trees_planted=2400),
        received_at=received_at,
    )


def make_lead(
    source_id: str,
    *,
    received_at: dt.datetime = T0,
    territory_id: str | None = "t-leipzig",
    status: Status = Status.NEW,
    holder_id: str | None = None,
    hold_until: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
    deadline: Deadline | None = None,
    previous_holders: frozenset[str] = frozenset(),
    version: int = 1,
) -> Lead:
    """A draft lead (``id`` 0) for :meth:`World.store` or
    :meth:`~qleads.ports.UnitOfWork.add`."""
    return Lead(
        id=0,
        document=make_document(source_id, received_at=received_at),
        received_at=received_at,
        territory_id=territory_id,
        status=status,
        status_at=received_at,
        holder_id=holder_id,
        hold_until=hold_until,
        due_at=due_at,
        deadline=deadline,
        previous_holders=previous_holders,
        version=version,
    )

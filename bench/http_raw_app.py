"""The yardstick of ``bench/http.py``: the installer's pages of the reference portal as a
minimal hand-written Flask app, raw SQL through psycopg, no qleads in its request path.

It renders the portal's own Jinja templates (``examples/admin_app/templates``) with
plain objects and dicts in place of the library's, so the HTML it sends is the portal's,
and does the work those pages need by hand:

* login with the Flask session cookie: the user id and his session token; every request
  loads the user with his installer row and his rep's territories in one statement and
  checks the token, as the portal's user loader does (a logout elsewhere ends it);
* CSRF on every POST (Flask-WTF's ``CSRFProtect``, as the portal);
* visibility (R2): the pool (status ``new`` in his rep's territories) and his own leads;
  the name withheld on rows he does not hold (R16); the "previously handled" marker;
* the start page (pool and "Meine Anfragen", 20 rows each, every tab's count in one
  statement of ``count(*)``), a tab page (its 20 rows and the counts), the detail page;
* the claim: ``SELECT`` the lead, ``UPDATE … WHERE status = 'new' AND version = …``, the
  history event, one transaction (as ``bench/raw.py``);
* a status record: a conditional ``UPDATE`` on the lead he holds, the history event;
* the access log (R14), written the way the portal writes it: one row per listed row
  that shows the customer's name and one per detail page that shows the contact; none
  for a claim or a status record, which redirect and show no contact (the portal
  asks the library for those without it, so it writes none either).

What it leaves out, on purpose, and the portal does:

* the claim limits and their hint (``qleads.limits``; off in the default policy, but the
  portal still asks), repeat requests of the same customer ("Kunde hat erneut
  angefragt"), the territory's own policy, the ladder's next deadline after a record
  (the record clears the deadline instead), catching up on a due deadline, release;
* Flask-Login, Flask-Babel (the page is German only: ``_`` interpolates, dates and money
  are formatted by hand in Europe/Berlin), Flask-Limiter (no login is refused here),
  the security headers, and the search, filter and sort parameters (the lists are shown
  unfiltered, sorted by arrival; the filter form and column links are rendered);
* a claim's hold counts two weekdays (no public holidays, no installer calendar).

Served by gunicorn with the portal's settings (``bench/http.py`` starts it):
``gunicorn -c examples/admin_app/gunicorn.conf.py bench.http_raw_app:app`` from the
repository root; ``QLEADS_DATABASE_URL`` and ``QLEADS_SECRET_KEY`` as for the portal.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFProtect, generate_csrf
from markupsafe import Markup, escape
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

__all__ = ["app", "create_app"]

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "examples" / "admin_app"
BERLIN = ZoneInfo("Europe/Berlin")
PER_PAGE = 20


class Code:
    """A status or tab: its value and its German name (the templates read ``.value``
    and pass it to the ``status``/``tab`` filters)."""

    __slots__ = ("label", "value")

    def __init__(self, value: str, label: str) -> None:
        self.value = value
        self.label = label


STATUSES = {
    value: Code(value, label)
    for value, label in (
        ("new", "Neu"),
        ("claimed", "Lead beansprucht"),
        ("assigned", "Lead zugeteilt"),
        ("contact_attempted", "Kontaktversuch erfolgt"),
        ("first_contact", "Erstkontakt erfolgt"),
        ("offer_sent", "Angebot gesendet"),
        ("follow_up", "Wiedervorlage"),
        ("order_placed", "Bestellung aufgegeben"),
        ("unsuccessful", "Nicht erfolgreich"),
    )
}
TABS = {
    value: Code(value, label)
    for value, label in (
        ("all", "Alle Einträge anzeigen"),
        ("available", "Verfügbare Anfragen"),
        ("mine", "Meine Anfragen"),
        ("new", "Neue Anfragen"),
        ("follow_up", "Wiedervorlage"),
        ("in_progress", "In Bearbeitung"),
        ("closed", "Abgeschlossene Projekte"),
    )
}
#: The installer's tab bar, in the manual's order.
TAB_BAR = tuple(TABS[t] for t in ("all", "new", "follow_up", "in_progress", "closed"))
_TAB_STATUSES = {
    "new": ("assigned", "claimed"),
    "in_progress": ("contact_attempted", "first_contact", "offer_sent"),
    "follow_up": ("follow_up",),
    "closed": ("order_placed", "unsuccessful"),
}
#: What a holder may record (R6), and from which statuses.
_WORK = ("contact_attempted", "first_contact", "offer_sent", "order_placed", "unsuccessful")
_OPEN = ("claimed", "assigned", "contact_attempted", "first_contact", "offer_sent", "follow_up")
_CHANNELS = ("phone", "email", "on_site", "letter", "other")

_ROW_COLUMNS = (
    "id, name, postal_code, city, received_at, territory_id, status, status_at, holder_id, "
    "hold_until, due_at, deadline_kind, deadline_at, previous_holders, version"
)
_ROW_NAMES = tuple(c.strip() for c in _ROW_COLUMNS.split(","))
_USER_SQL = (
    "SELECT u.session_token, u.active AND i.active, i.id, i.name, "
    "ARRAY(SELECT t.id FROM qleads_territory t WHERE t.rep_id = i.rep_id ORDER BY t.id) "
    "FROM portal_users u JOIN qleads_installer i ON i.id = u.actor_id "
    "WHERE u.id = %s AND u.role = 'installer'"
)
_ACCESS_SQL = (
    "INSERT INTO qleads_access_log (at, user_id, role, lead_id, kind, territory_id, "
    "holder_id, client) VALUES (%s, %s, 'installer', %s, %s, %s, %s, %s)"
)


# --- the database: one connection per thread -----------------------------------------


class Connections:
    """One psycopg connection per gunicorn thread, opened on first use, in autocommit
    (reads take no transaction; writes open one)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.local = threading.local()

    def get(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True)
            self.local.conn = conn
        return conn


# --- what the templates are given --------------------------------------------------------


class User:
    """``current_user`` of the templates, and the request's reader."""

    is_authenticated = True
    role = "installer"

    def __init__(self, installer_id: str, name: str, territories: Sequence[str]) -> None:
        self.id = installer_id
        self.display_name = name
        self.territories = list(territories)


class Anonymous:
    is_authenticated = False
    role = ""
    display_name = ""


class CsrfForm:
    """What ``{{ form.csrf_token }}`` renders: the hidden field, as Flask-WTF's."""

    @property
    def csrf_token(self) -> Markup:
        return Markup('<input id="csrf_token" name="csrf_token" type="hidden" value="{}">').format(
            generate_csrf()
        )


class Filter:
    """An empty ``LeadFilter``: the lists are shown unfiltered."""

    sort = None
    descending = False
    text = ""
    statuses = ()
    received_from = None
    received_to = None
    deadline = None
    installer_id = None


class ListView:
    lead_filter = Filter()
    error = None
    installers = ()
    active = False


class Sorting:
    """The column headers' links (``lead_lists.Sorting`` of the portal)."""

    def state(self, key: str) -> str | None:
        value = request.args.get("sort", "")
        if value.removeprefix("-") != key:
            return None
        return "descending" if value.startswith("-") else "ascending"

    def url(self, key: str) -> str:
        value = request.args.get("sort", "")
        args = {k: v for k, v in request.args.lists() if k not in ("page", "available", "mine")}
        args["sort"] = [f"-{key}" if value == key else key]
        return url_for(request.endpoint or "auth.index", **(request.view_args or {}), **args)


class Deadline:
    __slots__ = ("at", "kind")

    def __init__(self, kind: str, at: dt.datetime) -> None:
        self.kind = kind
        self.at = at


class Row:
    """A lead of a list or of the detail page, its columns as attributes."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.status = STATUSES[values["status"]]
        kind = values.get("deadline_kind")
        self.deadline = Deadline(kind, values["deadline_at"]) if kind else None


class Shown:
    """A row as the reader may see it (R2c, R16)."""

    def __init__(self, lead: Row, reader: str) -> None:
        self.lead = lead
        self.contact_hidden = lead.holder_id != reader
        self.previously_handled = lead.status.value == "new" and reader in json.loads(
            lead.previous_holders
        )
        self.contact: Contact | None = None

    @property
    def name(self) -> str | None:
        return None if self.contact_hidden else self.lead.name


class Contact:
    """The detail page's contact, its personal fields ``None`` while withheld (R16)."""

    _PERSONAL = ("name", "street", "email", "phone", "reachability", "comment")

    def __init__(self, contact: dict[str, Any], withheld: bool) -> None:
        for key in (*self._PERSONAL, "postal_code", "city", "country"):
            value = contact.get(key, "")
            setattr(self, key, None if withheld and key in self._PERSONAL else value)
        self.withheld = withheld


class Page:
    def __init__(self, tab: Code, items: list[Shown], total: int, page: int) -> None:
        self.tab = tab
        self.items = items
        self.total = total
        self.page = page
        self.pages = max(1, -(-total // PER_PAGE))


# --- filters -----------------------------------------------------------------------------


def _date(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(BERLIN)
    return value.strftime("%d.%m.%Y")


def _datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _money(value: object) -> str:
    amount = _decimal(value)
    if amount is None:
        return str(value or "")
    text = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{text}\xa0€"


def _number(value: object) -> str:
    amount = _decimal(value)
    if amount is None:
        return str(value)
    text = f"{amount.normalize():f}" if amount != amount.to_integral() else f"{int(amount)}"
    return text.replace(".", ",")


def _nl2br(text: str) -> Markup:
    return Markup("<br>").join(escape(line) for line in (text or "").split("\n"))


def _gettext(text: str, **values: Any) -> Markup:
    """Jinja's new-style gettext without a catalogue: the text is markup, the values
    are escaped."""
    message = Markup(text)  # the templates' own texts
    return message % values if values else message


# --- the pages ---------------------------------------------------------------------------

auth = Blueprint("auth", __name__)
installer = Blueprint("installer", __name__, url_prefix="/installer")
leads = Blueprint("leads", __name__, url_prefix="/leads")
#: Endpoints the templates link to and the benchmark never opens.
elsewhere = (
    Blueprint("account", __name__),
    Blueprint("partners", __name__),
    Blueprint("mails", __name__),
)


def _db() -> psycopg.Connection[Any]:
    from flask import current_app

    connections: Connections = current_app.extensions["raw.connections"]
    return connections.get()


def _reader() -> User:
    """The logged-in installer (the session's user whose token still matches), else
    the login page."""
    from flask import g

    user: User | None = g.get("reader")
    if user is not None:
        return user
    uid, _sep, token = str(session.get("uid", "")).partition(":")
    if not uid.isdigit():
        abort(redirect(url_for("auth.login")))
    row = _db().execute(_USER_SQL, (int(uid),)).fetchone()
    if row is None or not row[1] or row[0] != token:
        abort(redirect(url_for("auth.login")))
    g.reader = user = User(row[2], row[3], row[4])
    return user


def _page_arg(name: str) -> int:
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1


def _condition(tab: str, reader: User) -> tuple[str, list[Any]]:
    pool = "(status = 'new' AND holder_id IS NULL AND territory_id = ANY(%s))"
    if tab == "available":
        return pool, [reader.territories]
    if tab == "mine":
        return "holder_id = %s", [reader.id]
    if tab == "all":
        return f"({pool} OR holder_id = %s)", [reader.territories, reader.id]
    return "(holder_id = %s AND status = ANY(%s))", [reader.id, list(_TAB_STATUSES[tab])]


def _counts(conn: psycopg.Connection[Any], reader: User) -> dict[str, int]:
    parts, params = [], []
    for tab in TABS:
        cond, values = _condition(tab, reader)
        parts.append(f"(SELECT count(*) FROM qleads_lead WHERE {cond})")
        params.extend(values)
    row = conn.execute(f"SELECT {', '.join(parts)}", params).fetchone()
    assert row is not None
    return dict(zip(TABS, (int(n) for n in row), strict=True))


def _rows(conn: psycopg.Connection[Any], reader: User, tab: str, page: int) -> list[Shown]:
    cond, params = _condition(tab, reader)
    order = "due_at ASC NULLS LAST, id ASC" if tab == "follow_up" else "received_at DESC, id DESC"
    found = conn.execute(
        f"SELECT {_ROW_COLUMNS} FROM qleads_lead WHERE {cond} ORDER BY {order} LIMIT %s OFFSET %s",
        [*params, PER_PAGE, (page - 1) * PER_PAGE],
    ).fetchall()
    return [Shown(Row(dict(zip(_ROW_NAMES, r, strict=True))), reader.id) for r in found]


def _client() -> str:
    """The client's address cut to its /24 (IPv4) or /48, as the access log keeps it."""
    import ipaddress

    raw = request.remote_addr or ""
    if not raw:
        return ""
    ip = ipaddress.ip_address(raw)
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def _log_access(
    conn: psycopg.Connection[Any], reader: User, shown: Sequence[Row], kind: str
) -> None:
    """R14: one row per lead whose customer the page names, before the page goes out."""
    if not shown:
        return
    now, client = dt.datetime.now(dt.UTC), _client()
    with conn.cursor() as cur:
        cur.executemany(
            _ACCESS_SQL,
            [(now, reader.id, r.id, kind, r.territory_id, r.holder_id, client) for r in shown],
        )


def _named(items: Sequence[Shown]) -> list[Row]:
    return [s.lead for s in items if not s.contact_hidden]


@auth.route("/")
def index() -> Response:
    return redirect(url_for("installer.start" if session.get("uid") else "auth.login"))


@auth.route("/login", methods=["GET", "POST"])
def login() -> Any:
    from flask_wtf import FlaskForm
    from wtforms import HiddenField, PasswordField, StringField

    class LoginForm(FlaskForm):
        username = StringField("Benutzername")
        password = PasswordField("Passwort")
        next = HiddenField()

    form = LoginForm()
    if form.validate_on_submit():
        row = (
            _db()
            .execute(
                "SELECT id, password_hash, session_token, active FROM portal_users "
                "WHERE username = %s",
                (str(form.username.data or ""),),
            )
            .fetchone()
        )
        if row is not None and row[3] and check_password_hash(row[1], form.password.data or ""):
            session.clear()
            session["uid"] = f"{row[0]}:{row[2]}"
            return redirect(url_for("installer.start"))
        flash("Benutzername oder Passwort ist falsch.", "error")
    return render_template("login.html", form=form)


@auth.route("/logout", methods=["POST"])
def logout() -> Response:
    session.clear()
    return redirect(url_for("auth.login"))


@auth.route("/language", methods=["POST"])
def language() -> Response:
    return redirect(url_for("auth.index"))


@installer.route("/")
def start() -> str:
    reader = _reader()
    conn = _db()
    available = _rows(conn, reader, "available", _page_arg("available"))
    mine = _rows(conn, reader, "mine", _page_arg("mine"))
    counts = _counts(conn, reader)
    _log_access(conn, reader, _named(available) + _named(mine), "list")
    return render_template(
        "installer/start.html",
        available=Page(TABS["available"], available, counts["available"], _page_arg("available")),
        mine=Page(TABS["mine"], mine, counts["mine"], _page_arg("mine")),
        counts={TABS[t]: n for t, n in counts.items()},
        tab_bar=TAB_BAR,
        list_view=ListView(),
        now=dt.datetime.now(dt.UTC),
        claim_state=None,
    )


@installer.route("/tab/<name>")
def tab(name: str) -> str:
    reader = _reader()
    chosen = TABS.get(name)
    if chosen is None or chosen not in TAB_BAR:
        abort(404)
    conn = _db()
    page = _page_arg("page")
    items = _rows(conn, reader, name, page)
    counts = _counts(conn, reader)
    _log_access(conn, reader, _named(items), "list")
    return render_template(
        "installer/tab.html",
        page=Page(chosen, items, counts[name], page),
        counts={TABS[t]: n for t, n in counts.items()},
        tab_bar=TAB_BAR,
        active_tab=chosen,
        list_view=ListView(),
        now=dt.datetime.now(dt.UTC),
    )


_DETAIL_SQL = (
    f"SELECT {_ROW_COLUMNS}, document FROM qleads_lead WHERE id = %s "
    "AND (holder_id = %s OR (status = 'new' AND holder_id IS NULL AND territory_id = ANY(%s)))"
)


@leads.route("/<int:lead_id>")
def detail(lead_id: int) -> str:
    reader = _reader()
    conn = _db()
    found = conn.execute(_DETAIL_SQL, (lead_id, reader.id, reader.territories)).fetchone()
    if found is None:
        abort(404)
    lead = Row(dict(zip(_ROW_NAMES, found[:-1], strict=True)))
    doc = found[-1] if isinstance(found[-1], dict) else json.loads(found[-1])
    shown = Shown(lead, reader.id)
    shown.contact = Contact(doc["contact"], shown.contact_hidden)
    if not shown.contact_hidden:
        _log_access(conn, reader, [lead], "view")
    now = dt.datetime.now(dt.UTC)
    may_claim = lead.status.value == "new"
    return render_template(
        "lead/detail.html",
        active="info",
        shown=shown,
        lead=lead,
        doc=doc,
        actor=reader,
        is_admin=False,
        holder_name=reader.display_name if lead.holder_id == reader.id else "",
        territory=None,
        may_claim=may_claim,
        claim_state=None,
        holds=lead.holder_id == reader.id and lead.status.value in _OPEN,
        hold_expired=lead.hold_until is not None and lead.hold_until <= now,
        assign_form=None,
        claim_form=CsrfForm(),
        now=now,
        repetitions=(),
    )


def _hold_until(now: dt.datetime) -> dt.datetime:
    """Two weekdays on (R9 without holidays)."""
    day, added = now, 0
    while added < 2:
        day += dt.timedelta(days=1)
        if day.astimezone(BERLIN).weekday() < 5:
            added += 1
    return day


@leads.route("/<int:lead_id>/claim", methods=["POST"])
def claim(lead_id: int) -> Response:
    """R3: one transaction, a conditional update; a lost race is a message."""
    reader = _reader()
    conn = _db()
    now = dt.datetime.now(dt.UTC)
    hold = _hold_until(now)
    won = False
    with conn.transaction():
        row = conn.execute(
            "SELECT version FROM qleads_lead WHERE id = %s AND status = 'new' "
            "AND holder_id IS NULL AND territory_id = ANY(%s)",
            (lead_id, reader.territories),
        ).fetchone()
        if row is not None:
            version = row[0]
            updated = conn.execute(
                "UPDATE qleads_lead SET status = 'claimed', status_at = %s, holder_id = %s, "
                "hold_until = %s, due_at = NULL, deadline_kind = 'claim_expiry', "
                "deadline_at = %s, version = version + 1 "
                "WHERE id = %s AND status = 'new' AND version = %s",
                (now, reader.id, hold, hold, lead_id, version),
            )
            if updated.rowcount == 1:
                conn.execute(
                    "INSERT INTO qleads_event (lead_id, version, kind, actor_id, from_status, "
                    "to_status, effective_at, recorded_at, holder_id, note) "
                    "VALUES (%s, %s, 'claimed', %s, 'new', 'claimed', %s, %s, %s, '')",
                    (lead_id, version + 1, reader.id, now, now, reader.id),
                )
                won = True
    if won:
        flash("Sie haben die Anfrage übernommen.", "success")
    else:
        flash("Diese Anfrage ist nicht mehr verfügbar.", "error")
    return redirect(url_for("leads.status", lead_id=lead_id))


@leads.route("/<int:lead_id>/status", methods=["GET", "POST"])
def status(lead_id: int) -> Any:
    """R6: the holder records a work status (a GET here only redirects: the benchmark
    never opens the status page)."""
    reader = _reader()
    if request.method == "GET":
        return redirect(url_for("leads.detail", lead_id=lead_id))
    chosen = request.form.get("status", "")
    channel = request.form.get("channel", "") or None
    note = request.form.get("note", "")
    if chosen not in _WORK or (channel is not None and channel not in _CHANNELS):
        flash("Bitte wählen Sie einen Status.", "error")
        return redirect(url_for("leads.status", lead_id=lead_id))
    if len(note) > 2000:
        flash("Die Notiz ist zu lang.", "error")
        return redirect(url_for("leads.status", lead_id=lead_id))
    conn = _db()
    now = dt.datetime.now(dt.UTC)
    with conn.transaction():
        row = conn.execute(
            "SELECT version, status FROM qleads_lead WHERE id = %s AND holder_id = %s "
            "AND status = ANY(%s) AND (hold_until IS NULL OR hold_until > %s)",
            (lead_id, reader.id, list(_OPEN), now),
        ).fetchone()
        if row is None:
            abort(404)
        version, before = row
        updated = conn.execute(
            "UPDATE qleads_lead SET status = %s, status_at = %s, hold_until = NULL, "
            "due_at = NULL, deadline_kind = NULL, deadline_at = NULL, version = version + 1 "
            "WHERE id = %s AND version = %s",
            (chosen, now, lead_id, version),
        )
        if updated.rowcount != 1:
            abort(409)
        conn.execute(
            "INSERT INTO qleads_event (lead_id, version, kind, actor_id, from_status, "
            "to_status, effective_at, recorded_at, holder_id, channel, note) "
            "VALUES (%s, %s, 'recorded', %s, %s, %s, %s, %s, %s, %s, %s)",
            (lead_id, version + 1, reader.id, before, chosen, now, now, reader.id, channel, note),
        )
    flash("Die Änderung wurde gespeichert.", "success")
    return redirect(url_for("leads.status", lead_id=lead_id))


def _installer_nav() -> tuple[tuple[Code, ...], dict[Code, int]]:
    """The tab bar of a page that has no counts of its own (the detail page): every
    page of an installer shows them, as the portal's ``installer_nav``."""
    from flask import g

    if g.get("reader") is None:
        return (), {}
    counts = _counts(_db(), _reader())
    return TAB_BAR, {TABS[t]: n for t, n in counts.items()}


def _nowhere(**_kwargs: Any) -> Response:
    abort(404)


for _bp, _rule, _name in (
    (elsewhere[0], "/account/password", "change_password"),
    (elsewhere[0], "/account/forgot", "forgot_password"),
    (elsewhere[1], "/partners/", "scorecards"),
    (elsewhere[2], "/mails/", "inbox"),
):
    _bp.add_url_rule(_rule, _name, _nowhere)
leads.add_url_rule("/<int:lead_id>/print", "print_view", _nowhere)


def create_app() -> Flask:
    flask_app = Flask(
        __name__,
        template_folder=str(PORTAL / "templates"),
        static_folder=str(PORTAL / "static"),
    )
    flask_app.config.update(
        SECRET_KEY=os.environ["QLEADS_SECRET_KEY"],
        QLEADS_PRODUCT_NAME="Lead Management Tool",
        QLEADS_WEBSITE_URL="https://www.example.com/",
        QLEADS_DEMO=False,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    flask_app.extensions["raw.connections"] = Connections(os.environ["QLEADS_DATABASE_URL"])
    CSRFProtect(flask_app)
    for blueprint in (auth, installer, leads, *elsewhere):
        flask_app.register_blueprint(blueprint)
    flask_app.jinja_env.filters.update(
        date=_date,
        datetime=_datetime,
        money=_money,
        status=lambda code: code.label,
        tab=lambda code: code.label,
        number=_number,
        nl2br=_nl2br,
    )
    flask_app.jinja_env.globals.update(_=_gettext, gettext=_gettext, current_language=lambda: "de")

    @flask_app.context_processor
    def _context() -> dict[str, Any]:
        from flask import g

        return {
            "current_user": g.get("reader") or Anonymous(),
            "post_form": CsrfForm(),
            "language_form": CsrfForm(),
            "list_sorting": Sorting(),
            "reset_url": lambda: url_for(request.endpoint or "auth.index"),
            "filter_statuses": tuple(STATUSES.values()),
            "installer_nav": _installer_nav,
        }

    return flask_app


app = create_app() if "QLEADS_SECRET_KEY" in os.environ else None

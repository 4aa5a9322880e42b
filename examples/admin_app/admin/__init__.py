"""The admin area of the portal: Flask-Admin at ``/admin``.

Admins manage directory data here (sales reps, installers, territories with their postal
code prefixes, portal users, lead sources and their API tokens, the policy) and watch
the lead flow (unrouted leads, the mail outbox). One module per view group:

==============  ==========================================================================
``rows``        the ORM read models on qleads' tables
``base``        access, the row filter, forms, exports, the start page
``directory``   sales reps, installers, territories
``users``       the portal's logins
``sources``     lead sources and their API tokens
``unrouted``    leads without a territory, and their assignment
``outbox``      the mail outbox and the failed mails
``policy``      the rules' knobs
==============  ==========================================================================

Four promises hold for every view:

* **Access** (R12): every view, the index included, checks ``is_accessible``. Anonymous
  visitors are sent to the login page, logged-in users without the role get 403.
* **Row filtering**: ``get_query``, ``get_count_query`` and ``get_one`` all apply the
  same :meth:`~.base.ScopedModelView.row_filter`, so a row hidden from the list is also
  hidden from its details, edit and delete URLs, from actions and from exports. An admin
  sees every row. A sales rep may open exactly one view, *Installateure*, read-only and
  filtered to his own installers (the ones he assigns leads to, R5) — the same structure
  a portal can extend to more roles.
* **Leads are never edited here** (R12): the lead views are read-only lists; assigning an
  unrouted lead goes through ``LeadDesk.assign`` like everywhere else, and retrying a
  failed mail through ``Outbox.retry``.
* **CSRF** on every form: the forms are Flask-WTF forms (``form_base_class``), so the
  token they carry is the one the app-wide ``CSRFProtect`` checks; the batch-action and
  delete forms of Flask-Admin are built from the same base. Exports are limited to
  whitelisted columns and every cell is formula-safe (:func:`~.base.formula_safe`).
"""

from __future__ import annotations

import warnings

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import BootstrapTheme
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, scoped_session

from ..models import PortalUser
from ..services import current_services
from .access_log import AccessLogView
from .base import SecureIndexView, formula_safe
from .directory import InstallerView, RepView, TerritoryView
from .outbox import FailedMailView, OutboxView
from .policy import PolicyView
from .rows import (
    AdminReadBase,
    InstallerRow,
    LeadRow,
    OutboxRow,
    RepRow,
    SourceRow,
    TerritoryPrefixRow,
    TerritoryRow,
)
from .sources import SourceView
from .territory_policy import TerritoryPolicyView
from .unrouted import UnroutedLeadView
from .users import PortalUserView

__all__ = [
    "AccessLogView",
    "AdminReadBase",
    "FailedMailView",
    "InstallerRow",
    "InstallerView",
    "LeadRow",
    "OutboxRow",
    "OutboxView",
    "PolicyView",
    "PortalUserView",
    "RepRow",
    "RepView",
    "SourceRow",
    "SourceView",
    "TerritoryPolicyView",
    "TerritoryPrefixRow",
    "TerritoryRow",
    "TerritoryView",
    "UnroutedLeadView",
    "formula_safe",
    "init_admin",
]


def init_admin(app: Flask) -> None:
    """Mount Flask-Admin at ``/admin`` on ``app`` (called by ``create_app``).

    The views share one scoped ORM session per app, opened from the portal's session
    factory on first use in a request and closed when the app context ends.
    """

    def _new_session() -> Session:
        opened: Session = current_services().sessions()
        return opened

    session: scoped_session[Session] = scoped_session(_new_session)  # type: ignore[arg-type]

    @app.teardown_appcontext
    def _close_admin_session(_exc: BaseException | None) -> None:
        session.remove()

    admin = Admin(
        app,
        name=_l("Verwaltung"),
        index_view=SecureIndexView(name=_l("Übersicht"), url="/admin"),
        theme=BootstrapTheme(folder="bootstrap4", base_template="admin/qleads/base.html"),
    )
    directory = _l("Verzeichnis")
    mails = _l("Mails")
    with warnings.catch_warnings():
        # Flask-Admin 2 prefers a Flask-SQLAlchemy object; the portal has none and passes
        # a scoped session, which it still supports (and flags as deprecated for 3.0).
        warnings.simplefilter("ignore", DeprecationWarning)
        admin.add_view(RepView(RepRow, session, _l("Vertrieb"), directory, endpoint="reps"))
        admin.add_view(
            InstallerView(
                InstallerRow, session, _l("Installateure"), directory, endpoint="installers"
            )
        )
        admin.add_view(
            TerritoryView(TerritoryRow, session, _l("Gebiete"), directory, endpoint="territories")
        )
        admin.add_view(
            PortalUserView(PortalUser, session, _l("Benutzer"), directory, endpoint="users")
        )
        admin.add_view(
            SourceView(SourceRow, session, _l("Lead-Quellen"), directory, endpoint="sources")
        )
        admin.add_view(UnroutedLeadView(LeadRow, session, _l("Ohne Gebiet"), endpoint="unrouted"))
        admin.add_view(OutboxView(OutboxRow, session, _l("Postausgang"), mails, endpoint="outbox"))
        admin.add_view(
            FailedMailView(OutboxRow, session, _l("Fehlgeschlagen"), mails, endpoint="failed_mails")
        )
    admin.add_view(PolicyView(_l("Regeln"), endpoint="policy"))
    admin.add_view(TerritoryPolicyView(_l("Regeln je Gebiet"), endpoint="territory_policy"))
    admin.add_view(AccessLogView(_l("Zugriffsprotokoll"), endpoint="access_log", url="access-log"))
    app.extensions["qleads_admin"] = admin

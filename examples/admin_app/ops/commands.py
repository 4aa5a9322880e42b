"""The operator's commands, through Flask's CLI (``flask --app examples.admin_app …``):

* ``db upgrade`` — qleads' migrations, then the portal's; run before new instances start;
* ``create-admin USERNAME`` — the first admin (then the admin area does the rest);
* ``create-user USERNAME --role installer --rep REP`` or ``--role rep --territory ID
  --territory-name NAME --prefix 04 …`` — an installer under a rep, or a rep with his
  territory;
* ``issue-token SOURCE`` — a bearer token for the intake API (the source is created
  with ``--name`` if it does not exist); the token is printed once.

Passwords are asked for twice on a terminal, or read from an environment variable named
by ``--password-env`` (scripts, containers), never taken from the command line. Every
refusal is one line on stderr and exit code 1, with nothing stored.
"""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from qleads.errors import QleadsError
from qleads.model import Admin, Installer, SalesRep, Territory

from ..models import PortalUser
from ..services import Services, current_services

__all__ = ["register_commands"]

_MIN_PASSWORD = 12


def _password(password_env: str | None) -> str:
    if password_env is not None:
        value = os.environ.get(password_env)
        if value is None:
            raise click.ClickException(f"${password_env} is not set")
    else:
        value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(value) < _MIN_PASSWORD:
        raise click.ClickException(f"the password needs at least {_MIN_PASSWORD} characters")
    return value


def _check_free(services: Services, username: str) -> None:
    with services.read_sessions() as session:
        taken = session.scalar(select(PortalUser.id).where(PortalUser.username == username))
    if taken is not None:
        raise click.ClickException(f"the user name {username!r} is taken")


def _add_login(
    services: Services, username: str, role: str, actor_id: str, language: str, password: str
) -> None:
    with services.sessions() as session, session.begin():
        user = PortalUser(username=username, role=role, actor_id=actor_id, language=language)
        user.set_password(password)
        session.add(user)


_password_option = click.option(
    "--password-env", metavar="VAR", help="read the password from this environment variable"
)
_language_option = click.option(
    "--language", type=click.Choice(["de", "en"]), default="de", show_default=True
)


@click.command("create-admin")
@with_appcontext
@click.argument("username")
@click.option("--name", required=True, help="the admin's name")
@click.option("--email", default="", help="where admin mails go (failed deliveries)")
@_language_option
@_password_option
def create_admin(
    username: str, name: str, email: str, language: str, password_env: str | None
) -> None:
    """Create an admin and his login (the first one, or another)."""
    services = current_services()
    _check_free(services, username)
    password = _password(password_env)
    try:
        services.directory.add_admin(Admin(username, name, email, language))
    except QleadsError as exc:
        raise click.ClickException(exc.message) from exc
    _add_login(services, username, "admin", username, language, password)
    click.echo(f"admin {username} created")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice(["installer", "rep"]), required=True)
@click.option("--name", required=True, help="the person's or company's name")
@click.option("--email", required=True, help="where the lead mails go")
@click.option("--rep", "rep_id", help="installer: the rep he works under")
@click.option("--territory", "territory_id", help="rep: the id of the territory he owns")
@click.option("--territory-name", help="rep: the territory's name")
@click.option("--country", default="DE", show_default=True, help="rep: the territory's country")
@click.option("--prefix", "prefixes", multiple=True, help="rep: a postal-code prefix (repeat)")
@_language_option
@_password_option
def create_user(
    username: str,
    role: str,
    name: str,
    email: str,
    rep_id: str | None,
    territory_id: str | None,
    territory_name: str | None,
    country: str,
    prefixes: tuple[str, ...],
    language: str,
    password_env: str | None,
) -> None:
    """Create an installer (under --rep) or a rep (with his --territory) and the login."""
    services = current_services()
    directory = services.directory
    _check_free(services, username)
    if role == "installer":
        if not rep_id:
            raise click.ClickException("an installer needs --rep")
        if directory.rep(rep_id) is None:
            raise click.ClickException(f"no rep {rep_id!r}")
    elif not (territory_id and territory_name and prefixes):
        raise click.ClickException("a rep needs --territory, --territory-name and --prefix")
    elif directory.territory(territory_id) is not None:
        raise click.ClickException(f"territory {territory_id!r} exists already")
    password = _password(password_env)
    try:
        if role == "installer":
            assert rep_id is not None
            directory.add_installer(Installer(username, name, email, rep_id, language))
        else:
            assert territory_id is not None
            assert territory_name is not None
            directory.add_rep(SalesRep(username, name, email, language))
            directory.add_territory(
                Territory(territory_id, territory_name, country, frozenset(prefixes), username)
            )
    except QleadsError as exc:
        raise click.ClickException(exc.message) from exc
    _add_login(services, username, role, username, language, password)
    click.echo(f"{role} {username} created")


@click.command("issue-token")
@with_appcontext
@click.argument("source_id")
@click.option("--name", help="create the lead source with this name if it does not exist")
def issue_token(source_id: str, name: str | None) -> None:
    """Issue a bearer token for a lead source's intake API calls (printed once; the
    source's previous token stops working)."""
    from qleads.model import LeadSource

    from ..api.tokens import create_source_token

    directory = current_services().directory
    if directory.source(source_id) is None:
        if not name:
            raise click.ClickException(f"no lead source {source_id!r}: give --name to create it")
        directory.add_source(LeadSource(source_id, name))
    try:
        token = create_source_token(directory, source_id)
    except QleadsError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(token)


db = AppGroup("db", help="The database schema.")


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the tables: qleads' migrations, then the portal's."""
    from ..migrations import upgrade_all

    done = upgrade_all(current_services().engine)
    for tree, step in (("qleads", done.library), ("portal", done.portal)):
        if step.changed:
            click.echo(f"{tree}: upgraded from {step.before or 'nothing'} to {step.after}")
        else:
            click.echo(f"{tree}: up to date at {step.after}")


def register_commands(app: Flask) -> None:
    for command in (create_admin, create_user, issue_token, db):
        app.cli.add_command(command)

"""``/favicon.ico``: browsers ask for it on pages that name no icon (a PDF viewer, a
plain error of the server, a client of the API); it answers with the portal's icon
instead of a 404."""

from __future__ import annotations

from flask import Flask, Response, current_app, send_from_directory

__all__ = ["init_favicon"]


def _favicon() -> Response:
    folder = current_app.static_folder
    assert folder is not None  # the portal's app always has its static folder
    return send_from_directory(folder, "img/favicon.svg", mimetype="image/svg+xml", max_age=86400)


def init_favicon(app: Flask) -> None:
    app.add_url_rule("/favicon.ico", "favicon", _favicon)

"""The part of Flask-Admin 2 the portal uses (Flask-Admin annotates its code but ships no
``py.typed``; the signatures here are its own, with lazy texts allowed where it
renders them)."""

from flask_admin.base import Admin as Admin
from flask_admin.base import AdminIndexView as AdminIndexView
from flask_admin.base import BaseView as BaseView
from flask_admin.base import expose as expose

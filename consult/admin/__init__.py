"""Administration pages (roles, audit log)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from consult.admin.views import bp
    from consult.hooks import StaffLink, hooks
    from consult.permissions import Permission

    app.register_blueprint(bp)
    hooks(app).staff_nav.append(
        StaffLink(_l("Administration"), "admin.index", Permission.ADMIN_ACCESS, 90)
    )

"""Flask extensions, created unbound and attached in ``create_app``."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()


def _rate_limit_key() -> str:
    # Behind the proxy-fix, remote_addr is the client's; per-endpoint limits key on it.
    return get_remote_address() or request.remote_addr or "unknown"


limiter = Limiter(key_func=_rate_limit_key, default_limits=[], headers_enabled=True)

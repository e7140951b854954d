"""The operator web console: approve, watch and audit from a browser, in Korean (English on a switch).

``factorypilot console`` serves it (FastAPI + Jinja2 templates + a few lines of vanilla JS shipped in the
package; nothing is fetched at run time). Users, roles and per-company scoping live in ``console.sqlite``;
a decision made here takes the same single compare-and-set path as ``factorypilot runs approve``.
"""

from factorypilot.console._app import ConsoleConfig, create_app
from factorypilot.console._users import ROLES, User, UserStore

__all__ = ["ROLES", "ConsoleConfig", "User", "UserStore", "create_app"]

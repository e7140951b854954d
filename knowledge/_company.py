"""Company ids: validated, path-safe, one directory per company under ``FACTORYPILOT_HOME/companies/``.

Decision (see docs/knowledge.md): a company id is ASCII ``[a-z0-9][a-z0-9_-]{0,62}`` (case-insensitive, stored
lower-case, so ``ACME`` and ``acme`` are the same company). Any other name — e.g. a Korean company name such as
``대구정밀`` — is mapped to an IDNA-style slug ``xn--<punycode>``: deterministic, reversible, ASCII only, and it
can never contain a path separator. Names with path separators, dots, control characters or surrounding white
space are refused outright rather than "cleaned", so two different inputs never silently share one store.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from factorypilot.errors import ConfigError
from factorypilot.settings import get_settings

__all__ = ["company_dir", "company_slug"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_FORBIDDEN = set('/\\.:*?"<>|')


def company_slug(company: str) -> str:
    """The directory-safe id of ``company``; raises ``ConfigError`` for names that could escape the home."""
    if not isinstance(company, str) or not company:
        raise ConfigError("company id is empty", hint="pass a company id such as 'acme' or '대구정밀'")
    if company != company.strip():
        raise ConfigError(f"company id {company!r} has leading or trailing white space", hint="remove it")
    bad = sorted({ch for ch in company if ch in _FORBIDDEN or unicodedata.category(ch).startswith("C")})
    if bad:
        raise ConfigError(
            f"company id {company!r} contains forbidden characters {bad!r}",
            hint="use letters, digits, '-' or '_' (Korean names are allowed); no path separators or dots",
        )
    name = unicodedata.normalize("NFC", company).lower()
    if _SLUG.match(name):
        return name
    if any(ch.isspace() for ch in name):
        raise ConfigError(f"company id {company!r} contains white space", hint="use '-' or '_' instead")
    slug = "xn--" + name.encode("punycode").decode("ascii")
    if not _SLUG.match(slug):
        raise ConfigError(
            f"company id {company!r} cannot be turned into a safe directory name (slug {slug!r})",
            hint="use a shorter id made of letters, digits, '-' or '_'",
        )
    return slug


def company_dir(company: str, home: Path | None = None) -> Path:
    """``<home>/companies/<slug>``; ``home`` defaults to ``FACTORYPILOT_HOME``. Not created here."""
    root = (home if home is not None else get_settings().home) / "companies"
    path = root / company_slug(company)
    # Belt and braces: the slug regex already forbids separators and dots.
    if path.resolve().parent != root.resolve():
        raise ConfigError(f"company id {company!r} resolves outside {root}", hint="use a plain company id")
    return path

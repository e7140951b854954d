"""Process-wide settings from the environment (prefix ``FACTORYPILOT_``), pydantic-settings.

Only what every layer needs lives here; components keep their own pydantic configs (``extra="forbid"``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """``FACTORYPILOT_HOME`` (default ``./.factorypilot``) holds ledgers, checkpoints, stores and reports."""

    model_config = SettingsConfigDict(env_prefix="FACTORYPILOT_", extra="ignore")

    home: Path = Field(default=Path(".factorypilot"), description="data directory")
    log_level: str = Field(default="WARNING", description="logging level for the factorypilot logger")
    allow_model_requests: bool = Field(
        default=True,
        description="when false, any attempt to call a real (network) chat or embedding model raises; "
        "the test suite sets FACTORYPILOT_ALLOW_MODEL_REQUESTS=false",
    )
    lang: str = Field(default="en", description="default report language: en or ko")
    knowledge_llm: bool = Field(
        default=False, description="knowledge answers use the local model (judge + ko/en query translation) "
        "configured for the LLM planner (FACTORYPILOT_LLM_* or the pilot's planner: block); see docs/knowledge.md")
    ledger_anchor: Path | None = Field(
        default=None, description="external append-only anchor file for the ledger head (another disk or share); "
        "a pilot appends a line after every run, `ledger verify` checks the ledger against it")
    ledger_key: SecretStr | None = Field(
        default=None, description="HMAC key that signs the external anchor's lines (keep it outside the home)")
    b2mml_schemas: Path | None = Field(
        default=None, description="folder of the MESA B2MML XSDs used to validate B2MML exports when a MES config "
        "names no schema_dir (default: FACTORYPILOT_HOME/b2mml if it exists)")
    checkpointer_url: str | None = Field(
        default=None,
        description="LangGraph checkpointer: unset = SQLite under home; postgresql://... = Postgres "
        '(pip install "factorypilot[postgres]")',
    )

    def ledger_key_bytes(self) -> bytes | None:
        return self.ledger_key.get_secret_value().encode("utf-8") if self.ledger_key else None

    def path(self, *parts: str) -> Path:
        """A path under ``home``, with its parent directory created."""
        p = self.home.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings read once per process. Tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()

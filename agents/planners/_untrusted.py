"""The escaping of untrusted prompt text lives in the core (``factorypilot._untrusted``) so that the knowledge
store's local-model judge uses the same function; this module re-exports it for the planner."""

from factorypilot._untrusted import CLOSE, OPEN, quote_excerpt, quote_untrusted

__all__ = ["CLOSE", "OPEN", "quote_excerpt", "quote_untrusted"]

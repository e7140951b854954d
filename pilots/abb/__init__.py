"""Reference pilot: ABB (AI·Big data·Blockchain) — quality analytics and lot traceability. See ``pilot.yaml``."""

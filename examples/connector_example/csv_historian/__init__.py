"""A CSV-backed historian connector — the worked example in ``docs/writing-a-connector.md``."""

from csv_historian._connector import CsvHistorianConfig, CsvHistorianConnector

__all__ = ["CsvHistorianConfig", "CsvHistorianConnector"]

"""What a pilot (and the template exported from it) is for: ``solves``, ``needs`` and ``not_for`` statements.

Each statement is written in a plant manager's words, in Korean **and** English, so firm-to-template matching
(:mod:`factorypilot.pilots.spreading.matching`) can compare a firm's goals and constraints with it in either language::

    solves:
      - {en: "Lot genealogy a customer can verify", ko: "고객이 직접 검증할 수 있는 로트 계보"}
    needs:
      - {en: "Station data over OPC UA", ko: "OPC UA로 읽는 스테이션 데이터", data_source: opcua}
    not_for:
      - {en: "Single machines without lots", ko: "로트 개념이 없는 단독 설비"}

``data_source`` (only meaningful under ``needs``) names a data source the firm must have (``opcua``,
``mes-files``); matching penalises a template whose required source the firm lacks and says why.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DataSourceId", "FitStatement"]

DataSourceId = Literal["opcua", "mes-files"]


class FitStatement(BaseModel):
    """One bilingual statement of what a template solves, needs, or is not for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str = Field(min_length=1, description="the statement in English")
    ko: str = Field(min_length=1, description="the statement in Korean")
    data_source: DataSourceId | None = Field(
        default=None, description="under needs: a data source the firm must have (opcua, mes-files)")

    def text(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en

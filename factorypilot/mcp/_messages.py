"""The text of a tool error, in English and Korean.

The MCP server's own refusals carry both languages in their message and hint. An error raised deeper down
(a connector, the store) may be English only: the client then gets a Korean line naming its kind before it,
so a person reading the assistant's answer is never left with English alone.
"""

from __future__ import annotations

import re

from factorypilot.errors import (
    ApprovalError,
    AuthenticationError,
    CapabilityError,
    ConfigError,
    ConnectionError_,
    DataError,
    FactoryPilotError,
    LeaseHeldError,
    LedgerIntegrityError,
    NodeNotFoundError,
    SafetyViolation,
    SecurityError,
    StorageError,
)

__all__ = ["tool_error_text"]

_HANGUL = re.compile("[\uac00-\ud7a3]")

# most specific first: NodeNotFoundError and ConnectorTimeout are connection errors too
_KIND_KO: tuple[tuple[type[FactoryPilotError], str], ...] = (
    (AuthenticationError, "인증 실패"),
    (SecurityError, "권한 없음"),
    (SafetyViolation, "안전 정책 거부"),
    (NodeNotFoundError, "설비에 없는 태그"),
    (ConnectionError_, "설비 연결 오류"),
    (CapabilityError, "설비 연결이 지원하지 않는 기능"),
    (ApprovalError, "승인 오류"),
    (LedgerIntegrityError, "감사 원장 무결성 오류"),
    (LeaseHeldError, "다른 프로세스가 파일럿을 쓰는 중"),
    (StorageError, "저장소 오류"),
    (DataError, "데이터 오류"),
    (ConfigError, "요청 또는 설정 오류"),
)


def tool_error_text(exc: FactoryPilotError) -> str:
    """``str(exc)``; prefixed with a Korean name of its kind when it has no Korean of its own."""
    text = str(exc)
    if _HANGUL.search(text):
        return text
    kind = next((ko for cls, ko in _KIND_KO if isinstance(exc, cls)), "오류")
    return f"{kind} / error: {text}"

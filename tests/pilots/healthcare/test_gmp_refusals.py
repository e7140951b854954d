"""The GMP deviation report lists what the safety guard refused, with the reason in the report's language (the
ledger's report record keeps the reason codes); a record written before codes existed shows its English text."""

from __future__ import annotations

from pathlib import Path

from factorypilot.agents import Ledger
from factorypilot.pilots.healthcare.gmp import deviation_report

EN = "value 30.0 below allowed minimum 60.0"
KO = "값 30.0 이(가) 허용 최솟값 60.0 보다 작습니다"


def test_refusals_in_the_deviation_report_in_korean_and_english(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.append("detection", {"events": []}, run_id="r1")
        ledger.append("report", {"pilot": "healthcare", "status": "done", "results": [
            {"target": "ns=2;s=HVAC.Fan", "status": "refused", "reason": EN,
             "codes": [{"code": "below_min", "args": {"value": 30.0, "min": 60.0}}]},
            {"target": "deviation", "status": "done", "reason": "note stored and read back"}]}, run_id="r1")
        ledger.append("report", {"pilot": "healthcare", "status": "done", "results": [
            {"target": "ns=2;s=HVAC.Fan", "status": "refused", "reason": EN}]}, run_id="r0")  # before codes
        ko = deviation_report(ledger, "r1", lang="ko")
        en = deviation_report(ledger, "r1")
        older = deviation_report(ledger, "r0", lang="ko")
    assert f"- `ns=2;s=HVAC.Fan`: 안전 가드가 거부 — {KO}" in ko
    assert f"- `ns=2;s=HVAC.Fan`: refused by the safety guard — {EN}" in en
    assert "`deviation`: refused" not in en
    assert f"- `ns=2;s=HVAC.Fan`: 안전 가드가 거부 — {EN}" in older

"""Programme KPIs: per-firm baseline/current, aggregation with the right sign per KPI, ko/en, chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.errors import ConfigError
from factorypilot.pilots.spreading.programme import collect, record_kpis, report, write_report
from factorypilot.pilots.spreading.templates import Project, export_template, init_from_template

register(app)
runner = CliRunner()


@pytest.fixture
def firms(fp_home: Path, tmp_path: Path) -> Path:
    template = export_template("mobility", fp_home / "templates", home=fp_home, override_reason="t", by="t")
    root = tmp_path / "firms"
    a = init_from_template(template, company="성서정밀", endpoint="opc.tcp://127.0.0.1:4840", dest=root / "a")
    b = init_from_template(template, company="대성금속", endpoint="opc.tcp://127.0.0.1:4841", dest=root / "b")
    record_kpis(a, baseline={"oee": 0.60, "downtime": 10.0, "scrap_rate": 0.040},
                current={"oee": 0.66, "downtime": 8.0, "scrap_rate": 0.030})
    record_kpis(b, baseline={"oee": 0.50, "downtime": 20.0, "scrap_rate": 0.020},
                current={"oee": 0.55, "downtime": 22.0})
    with b.ledger() as ledger:
        ledger.append("approval", {"decision": "approve"})
        ledger.append("action", {"status": "done"})
        ledger.append("action", {"status": "refused"})
    return root


def test_aggregate_across_firms(firms: Path) -> None:
    rep = report(collect([firms]))
    assert rep.firms == 2
    assert rep.solutions == 1
    assert len(rep.deployments) == 2
    by = {k.name: k for k in rep.kpis}
    assert by["oee"].baseline == pytest.approx(0.55)
    assert by["oee"].current == pytest.approx(0.605)
    assert by["oee"].change_pct == pytest.approx(10.0)
    assert by["oee"].improved
    assert by["downtime"].change_pct == pytest.approx(0.0)
    assert by["downtime"].improved
    assert by["scrap_rate"].firms == 1
    assert by["scrap_rate"].change_pct == pytest.approx(-25.0)
    assert by["scrap_rate"].improved  # lower scrap is better
    b = next(d for d in rep.deployments if d.company == "대성금속")
    assert (b.approvals, b.actions, b.writes_enabled) == (1, 2, False)


def test_markdown_json_and_chart_in_korean_and_english(firms: Path, tmp_path: Path) -> None:
    rep = report(collect([firms / "a", firms / "b"]))
    ko = rep.to_markdown("ko")
    assert "참여 기업 수: **2**" in ko
    assert "설비종합효율" in ko
    assert "+10.0 % (개선)" in ko
    assert "읽기 전용" in ko
    en = rep.to_markdown("en")
    assert "Firms: **2**" in en
    assert "scrap rate" in en
    files = write_report(rep, tmp_path / "out", lang="ko")
    assert files["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    assert data["firms"] == 2
    assert {k["name"] for k in data["kpis"]} == {"oee", "downtime", "scrap_rate"}


def test_programme_cli(firms: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["programme", "record", "--project", str(firms / "a"), "--current", "mttr=1.5",
                              "--baseline", "mttr=2.0"], catch_exceptions=False)
    assert out.exit_code == 0
    assert Project.open(firms / "a").root.joinpath("kpis.yaml").read_text(encoding="utf-8").count("mttr") == 2
    out = runner.invoke(app, ["programme", "report", str(firms), "--out", str(tmp_path / "r"), "--lang", "en"],
                        catch_exceptions=False)
    assert out.exit_code == 0
    assert (tmp_path / "r" / "kpis.en.png").exists()
    assert "MTTR" in out.output
    bad = runner.invoke(app, ["programme", "record", "--project", str(firms / "a"), "--current", "oee"])
    assert bad.exit_code == 1
    assert isinstance(bad.exception, ConfigError)
    with pytest.raises(ConfigError, match="no project folder"):
        collect([tmp_path / "nowhere"])

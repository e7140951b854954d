"""Section-aware loading: headings found in plain text, table rows that keep their column names, DOCX and HTML
tables in place, a heading path in every section."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from factorypilot.knowledge._loaders import load_file
from factorypilot.knowledge._sections import Sections, log_row, markdown_tables, row_line, txt_heading, txt_title


def test_txt_headings() -> None:
    assert txt_heading("ROOT CAUSE") == 1
    assert txt_heading("CENTRAL COOLANT SYSTEM CS-1 - MAINTENANCE LOG") == 1
    assert txt_heading("3. 미생물 시험") == 1
    assert txt_heading("2.1 Die preheating") == 2
    assert txt_heading("[MC-33] 2025-01-20") == 2
    for body in ("Check pH twice a week; it must stay between 8.8 and 9.4.", "2025-01-13  full tank change",
                 "1. 잉곳은 장입 전에 수분을 확인한다.", "- 전도도: 1.3 µS/cm 이하", "", "OK"):
        assert txt_heading(body) == 0, body


@given(st.text(max_size=120))
def test_txt_heading_never_fails(line: str) -> None:
    assert txt_heading(line) in (0, 1, 2, 3)


def test_table_rows_keep_their_column_names() -> None:
    assert row_line(["part", "limit", ""], ["EH-40", "3.0 cc/min", "x"]) == "part: EH-40; limit: 3.0 cc/min; col3: x"
    md = "intro\n| parameter | set point |\n|---|---|\n| pressure | 850 bar |\n| speed | 4.2 m/s |\nafter"
    assert markdown_tables(md).split("\n") == ["intro", "parameter: pressure; set point: 850 bar",
                                               "parameter: speed; set point: 4.2 m/s", "after"]


def test_heading_levels_replace_their_siblings() -> None:
    s = Sections()
    s.heading(1, "Manual")
    s.heading(2, "Start-up")
    s.line("preheat the die")
    s.heading(2, "Limits")
    s.line("850 bar")
    s.heading(2, "[MC-1]")  # no level 1 above: still a sibling, not nested
    s.line("x")
    assert [(d.metadata["section"], d.page_content.split("\n")[-1]) for d in s.done()] == [
        ("Manual > Start-up", "preheat the die"), ("Manual > Limits", "850 bar"), ("Manual > [MC-1]", "x")]


def test_txt_file_gets_sections(tmp_path: Path) -> None:
    p = tmp_path / "log.txt"
    p.write_text("PUMP LOG\nstarted\n\nROOT CAUSE\nThe strainer was blocked.\n", encoding="utf-8")
    docs = load_file(p, p.read_bytes()).sections
    assert [d.metadata["section"] for d in docs] == ["PUMP LOG", "ROOT CAUSE"]
    assert "strainer" in docs[1].page_content


def test_docx_table_stays_in_its_section_with_header_names(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Report", level=1)
    d.add_heading("Results", level=2)
    table = d.add_table(rows=2, cols=2)
    for j, text in enumerate(("week", "rejected")):
        table.cell(0, j).text = text
    for j, text in enumerate(("28", "6")):
        table.cell(1, j).text = text
    d.add_heading("Evaluation", level=2)
    d.add_paragraph("scale in the cooling line")
    path = tmp_path / "r.docx"
    d.save(str(path))
    docs = load_file(path, path.read_bytes()).sections
    assert [(x.metadata["section"], x.page_content.split("\n")[-1]) for x in docs] == [
        ("Report > Results", "week: 28; rejected: 6"), ("Report > Evaluation", "scale in the cooling line")]


def test_html_table_rows_use_the_header_row(tmp_path: Path) -> None:
    p = tmp_path / "q.html"
    p.write_text("<h1>Leak test</h1><table><tr><th>month</th><th>rejects</th></tr><tr><td>April</td><td>221</td>"
                 "</tr></table><h2>Analysis</h2><p>porosity</p>", encoding="utf-8")
    docs = load_file(p, p.read_bytes()).sections
    assert [(x.metadata["section"], x.page_content.split("\n")[-1]) for x in docs] == [
        ("Leak test", "month: April; rejects: 221"), ("Leak test > Analysis", "porosity")]


def test_log_rows_are_titled_by_date_and_machine() -> None:
    assert log_row("2026.01.09  2호기   ［고장］  E-217 반복 발생") == "2026.01.09 2호기"
    assert log_row("2026.05.08  1,2호기 ［예방］  집진 테이블 필터 교체") == "2026.05.08 1,2호기"
    assert log_row("2025-05-19  strong smell reported by operators at MC-34") == "2025-05-19"
    assert log_row("2025/03/04 MC-34 coolant topped up") == "2025/03/04"  # one space: not a column layout
    assert log_row("2026.06.30") == "2026.06.30"
    assert log_row("IM-02  2025-01-08  Check ring clearance 0.12 mm") is None
    assert log_row("202 6.01.09 text") is None


@given(st.text(max_size=120))
def test_log_row_never_fails_and_starts_with_the_date(line: str) -> None:
    title = log_row(line)
    assert title is None or line.startswith(title.split(" ")[0])


def test_txt_title_reads_a_title_line_not_a_sentence() -> None:
    line = "■ 용접셀 정비이력 조회 (MES 출력)  출력일시: 2026.06.30 17:42"
    assert txt_title(line) == "용접셀 정비이력 조회 (MES 출력)"
    assert txt_title("가공 3라인 CNC 정비 이력 (2025년 상반기)") == "가공 3라인 CNC 정비 이력 (2025년 상반기)"
    assert txt_title("The pump must be checked every day.") is None
    assert txt_title("2026.01.09  2호기  고장") is None


def test_mes_log_export_is_cut_at_its_dated_rows(tmp_path: Path) -> None:
    """A Korean MES log export (no heading lines): the title line heads the path, each dated row is a section with
    its continuation lines, and the notes after the closing rule are not the last row's."""
    text = ("■ 설비 정비이력 조회 (MES 출력)  출력일시: 2026.06.30\n"
            "----------------------------------------\n"
            "일자        설비     구분      내용\n"
            "----------------------------------------\n"
            "2026.01.09  2호기   ［고장］  E-217 반복 발생. 송급롤러 교체\n"
            "                              → 가압레버 눈금 3.5로 재설정.\n"
            "2026.02.03  1호기   ［고장］  E-412 토치 충돌.\n"
            "----------------------------------------\n"
            "※ 문의: 보전팀 내선 2240\n")
    path = tmp_path / "log.txt"
    path.write_text(text, encoding="utf-8")
    sections = {d.metadata["section"]: d.page_content for d in load_file(path, path.read_bytes()).sections}
    assert "가압레버 눈금 3.5" in sections["설비 정비이력 조회 (MES 출력) > 2026.01.09 2호기"]
    assert "E-412" in sections["설비 정비이력 조회 (MES 출력) > 2026.02.03 1호기"]
    assert "내선 2240" in sections["설비 정비이력 조회 (MES 출력)"]
    assert "내선 2240" not in sections["설비 정비이력 조회 (MES 출력) > 2026.02.03 1호기"]


def test_a_one_line_text_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("pump seal leak on line 3", encoding="utf-8")
    [doc] = load_file(path, path.read_bytes()).sections
    assert doc.page_content == "pump seal leak on line 3"

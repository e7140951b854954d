"""Section-aware loading: headings found in plain text, table rows that keep their column names, DOCX and HTML
tables in place, a heading path in every section."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from factorypilot.knowledge._loaders import load_file
from factorypilot.knowledge._sections import Sections, markdown_tables, row_line, txt_heading


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

"""Two companies with overlapping content and colliding chunk ids never see each other's chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from factorypilot.errors import ConfigError
from factorypilot.knowledge import KnowledgeStore, company_dir, company_slug

SHARED = "# 공통 안전 수칙\n설비 점검 전에는 반드시 전원을 차단하고 잠금 장치를 건다. Lock out before any inspection.\n"


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _make_pair(tmp_path: Path) -> tuple[KnowledgeStore, KnowledgeStore]:
    home = tmp_path / "home"
    a_docs = _write(tmp_path / "a", {
        "safety.md": SHARED,  # identical file in both companies: identical chunk ids
        "secret.md": "# 단가표\nACME 공급 단가: 브래킷 1,250원. Bracket unit price for ACME is 1,250 won.\n",
    })
    b_docs = _write(tmp_path / "b", {
        "safety.md": SHARED,
        "secret.md": "# 단가표\n대구정밀 공급 단가: 브래킷 990원. Bracket unit price for Daegu Precision is 990 won.\n",
    })
    a = KnowledgeStore.open("acme", home=home)
    b = KnowledgeStore.open("대구정밀", home=home)
    assert not a.ingest(a_docs).failed
    assert not b.ingest(b_docs).failed
    return a, b


@pytest.fixture(scope="module")
def two_companies(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeStore, KnowledgeStore]:
    """Read-only pair shared by the module (the deleting test builds its own)."""
    return _make_pair(tmp_path_factory.mktemp("pair"))


def test_ids_collide_but_stores_stay_apart(two_companies: tuple[KnowledgeStore, KnowledgeStore]) -> None:
    a, b = two_companies
    a_hits = a.query("공통 안전 수칙 잠금", k=10)
    b_hits = b.query("공통 안전 수칙 잠금", k=10)
    shared_a = {h.citation.chunk_id for h in a_hits if h.citation.file == "safety.md"}
    shared_b = {h.citation.chunk_id for h in b_hits if h.citation.file == "safety.md"}
    assert shared_a
    assert shared_a == shared_b
    assert {h.citation.source for h in a_hits} <= {str(p) for p in (a.root.parents[2] / "a").glob("*")}
    assert all("/b/" not in h.citation.source for h in a_hits)
    assert all("/a/" not in h.citation.source for h in b_hits)


@pytest.mark.parametrize("mode", ["hybrid", "vector", "bm25"])
def test_price_question_never_crosses(two_companies: tuple[KnowledgeStore, KnowledgeStore], mode: str) -> None:
    a, b = two_companies
    for store, own, other, own_dir in ((a, "1,250", "990", "a"), (b, "990", "1,250", "b")):
        hits = store.query("브래킷 공급 단가 bracket unit price", k=10, mode=mode)  # type: ignore[arg-type]
        texts = " ".join(h.text for h in hits)
        assert own in texts
        assert other not in texts
        assert 1 <= len(hits) <= 2  # at most this company's two chunks: nothing else is reachable
        assert {h.citation.source for h in hits} <= {str(store.root.parents[2] / own_dir / n)
                                                      for n in ("safety.md", "secret.md")}


def test_tools_are_scoped(two_companies: tuple[KnowledgeStore, KnowledgeStore]) -> None:
    a, b = two_companies
    assert "990" not in a.as_tool().invoke({"query": "대구정밀 단가 990원"})
    assert "1,250" not in b.as_tool().invoke({"query": "ACME 단가 1,250"})


def test_physically_separate_directories(two_companies: tuple[KnowledgeStore, KnowledgeStore]) -> None:
    a, b = two_companies
    assert a.root.name == "acme"
    assert b.root.name == company_slug("대구정밀")
    assert b.root.name.startswith("xn--")
    assert (a.root / "chroma").is_dir()
    assert (b.root / "chroma").is_dir()
    assert a.root.parent == b.root.parent
    assert a.stats().chunks == b.stats().chunks == 2


def test_deleting_in_one_company_leaves_the_other(tmp_path: Path) -> None:
    a, b = _make_pair(tmp_path)
    assert a.delete("safety.md") == 1
    assert a.stats().chunks == 1
    assert b.stats().chunks == 2
    assert b.query("공통 안전 수칙", k=1)[0].citation.file == "safety.md"


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", "acme\\x", "", " acme", "acme\n", "a.b", "C:", "x\x00"])
def test_company_ids_cannot_escape(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        company_dir(bad, tmp_path)


def test_company_slugs() -> None:
    assert company_slug("ACME") == "acme"
    assert company_slug("daegu_precision-2") == "daegu_precision-2"
    assert company_slug("대구정밀") == company_slug("대구정밀")
    assert company_slug("대구정밀") != company_slug("대구정밀2")
    slug = company_slug("대구정밀")
    assert slug.isascii()
    assert "/" not in slug
    assert slug.removeprefix("xn--").encode().decode("punycode") == "대구정밀"

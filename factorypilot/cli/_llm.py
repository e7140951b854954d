"""``factorypilot llm serve|check``: a local model server, and whether a server can plan."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

llm_app = typer.Typer(help="Local LLM tooling: serve a GGUF model, check a model server. / 로컬 LLM 도구",
                      no_args_is_help=True)
console = Console()


@llm_app.command("serve")
def serve(model: Path = typer.Option(..., "--model", help="path to a GGUF model file"),
          port: int = typer.Option(8080, "--port", help="TCP port (0 = a free one)"),
          host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (default: this machine only)"),
          threads: int = typer.Option(2, "--threads", help="CPU threads for the model (fixed)"),
          ctx_size: int = typer.Option(4096, "--ctx-size", help="context length in tokens"),
          alias: str = typer.Option("", "--alias", help="model name clients use (default: the file name)")) -> None:
    """Serve a GGUF model over an OpenAI-compatible API (llama.cpp via the local-llm extra), until Ctrl-C.

    Offline: nothing is downloaded; factorypilot ships no model. Needs: pip install "factorypilot\\[local-llm]".
    오프라인 실행: 모델을 내려받지 않으며, 직접 준비한 GGUF 파일을 지정합니다.

    Example:  factorypilot llm serve --model ./qwen2.5-1.5b-instruct-q4_k_m.gguf --threads 2
    """
    from factorypilot.agents.planners.local_server import LocalModelServer

    srv = LocalModelServer(model, host=host, port=port or None, threads=threads, ctx_size=ctx_size,
                           alias=alias or None)
    with srv:
        console.print(f"serving {srv.alias} at [bold]{srv.base_url}[/] ({threads} threads) — "
                      "Ctrl-C stops / 중지: Ctrl-C")
        console.print(f"  check it:  factorypilot llm check --base-url {srv.base_url}")
        console.print(f"  use it:    FACTORYPILOT_LLM_BASE_URL={srv.base_url} FACTORYPILOT_LLM_MODEL={srv.alias} "
                      "FACTORYPILOT_LLM_MODE=json factorypilot eval mobility --planner llm")
        threading.Event().wait()  # the server runs on its own threads; Ctrl-C ends this wait


@llm_app.command("check")
def check(base_url: str = typer.Option("http://127.0.0.1:8080/v1", "--base-url", help="OpenAI-compatible …/v1 URL"),
          model: str = typer.Option("", "--model", help="model name (default: the first the server lists)"),
          timeout: float = typer.Option(300.0, "--timeout", help="seconds per model call"),
          max_tokens: int = typer.Option(400, "--max-tokens", help="reply length cap"),
          mode: str = typer.Option("both", "--mode", help="json, tools or both"),
          api_key_env: str = typer.Option("", "--api-key-env", help="variable holding the API key, if any")) -> None:
    """Send a real planning request: does the server plan, in which mode (json / tools), and how fast?

    모델 서버가 계획 요청에 응답하는지, 어떤 방식(json/tools)이 동작하는지, 속도는 어떤지 확인합니다.

    Example:  factorypilot llm check --base-url http://127.0.0.1:8080/v1
    """
    from factorypilot.agents.planners.llm_check import check_server
    from factorypilot.errors import ConfigError

    if mode not in ("json", "tools", "both"):
        raise ConfigError(f"unknown mode {mode!r}", where="--mode", hint="json, tools or both")
    modes = ("json", "tools") if mode == "both" else (mode,)
    rep = asyncio.run(check_server(base_url, model=model or None, timeout_s=timeout, max_tokens=max_tokens,
                                   modes=modes, api_key_env=api_key_env or None))

    def num(x: float | None, unit: str) -> str:
        return "–" if x is None else f"{x:.3g} {unit}"

    console.print(f"server {rep.base_url}, model {rep.model}")
    console.print(f"speed / 속도: prompt {num(rep.prompt_tokens_per_s, 'tok/s')}, generation "
                  f"{num(rep.generation_tokens_per_s, 'tok/s')}, "
                  f"time to first token {num(rep.time_to_first_token_s, 's')}")
    table = Table(title="planning request / 계획 요청", title_justify="left")
    for col in ("mode / 방식", "valid plan / 유효한 계획", "source / 출처", "seconds / 초",
                "prompt tokens (server) / 프롬프트 토큰", "proposed / 제안", "guard / 안전 검사"):
        table.add_column(col, overflow="fold")
    for m in rep.modes:
        ok = "[green]yes / 예[/]" if m.valid_plan else "[red]no / 아니요[/]"
        table.add_row(m.mode, ok, m.source, f"{m.seconds:g}", str(m.prompt_tokens), "; ".join(m.actions) or "–",
                      "; ".join(m.guard) or "–")
    console.print(table)
    for m in rep.modes:
        if not m.valid_plan:
            console.print(f"[dim]{m.mode}: {m.note}[/]")
    if rep.recommended_mode:
        console.print(f"recommended / 권장: planner mode [bold]{rep.recommended_mode}[/] "
                      f"(FACTORYPILOT_LLM_MODE={rep.recommended_mode})")
    else:
        console.print("[red]no mode produced a valid plan[/] / 유효한 계획을 만든 방식이 없습니다: "
                      "try a larger model, a longer --timeout, or --max-tokens")
        raise typer.Exit(1)

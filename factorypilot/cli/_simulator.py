"""``factorypilot simulator``: run a simulated plant (OPC UA server) and list the sector models."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.errors import ConfigError

simulator_app = typer.Typer(
    name="simulator",
    help="Simulated plants (the testbed): an OPC UA server with sector models and fault injection.\n\n"
    "Example:  factorypilot simulator run --model mobility --port 4840 --fault drift:spindle_vibration:0.1",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _console() -> Console:
    return Console()  # created per command so COLUMNS / the terminal width are read when it runs


def _users(pairs: list[str]) -> dict[str, str] | None:
    users: dict[str, str] = {}
    for pair in pairs:
        name, sep, password = pair.partition(":")
        if not sep or not name:
            raise ConfigError(f"cannot read --user {name!r}:***", where="--user", hint="use --user NAME:PASSWORD")
        users[name] = password
    return users or None


@simulator_app.command("run")
def run(
    model: str = typer.Option("mobility", "--model", "-m", help="sector model (see `simulator models`)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(4840, "--port", "-p", help="TCP port (0 = a free one)"),
    seed: int = typer.Option(0, "--seed", help="random seed; same seed, same values"),
    tick: float = typer.Option(1.0, "--tick", help="seconds per simulation tick"),
    scale: int = typer.Option(1, "--scale", help="replicate the model's line N times (1,000+ tags)"),
    fault: list[str] = typer.Option([], "--fault", "-f",
                                    help="kind:role[:magnitude[:start_tick[:duration_ticks]]], repeatable; "
                                         "kinds: drift spike stuck noise comms_drop alarm"),
    secure: bool = typer.Option(False, "--secure", help="Basic256Sha256 Sign and SignAndEncrypt endpoints"),
    cert_dir: Path | None = typer.Option(None, "--cert-dir", help="certificates (generated there if missing)"),
    offer_none: bool = typer.Option(False, "--offer-none", help="with --secure, also offer security None"),
    user: list[str] = typer.Option([], "--user", help="NAME:PASSWORD for username login, repeatable"),
    no_anonymous: bool = typer.Option(False, "--no-anonymous", help="refuse anonymous sessions"),
    ticks: int | None = typer.Option(None, "--ticks", help="stop after this many ticks (default: until Ctrl-C)"),
    shards: int = typer.Option(1, "--shards", help="serve the plant from N processes of --scale lines each "
                                                  "(ports --port, --port+1, ...; no faults/security)"),
) -> None:
    """Run a simulated plant until Ctrl-C, printing its endpoint and its roles → node ids.

    Example:  factorypilot simulator run --model mobility --port 4840 --seed 0 --fault drift:spindle_vibration
    """
    import asyncio
    import contextlib

    from factorypilot.pilots.simulator import Fault, PlantSimulator

    faults = [Fault.parse(text) for text in fault]
    if shards > 1:
        _run_shards(model, shards=shards, scale=scale, seed=seed, host=host, port=port, tick=tick,
                    faults=bool(faults) or secure or bool(user))
        return
    if secure and cert_dir is None:
        from factorypilot.settings import get_settings

        cert_dir = Path(get_settings().home) / "simulator-pki"
    sim = PlantSimulator(model, seed=seed, host=host, port=port, tick_seconds=tick, secure=secure,
                         cert_dir=cert_dir, users=_users(user), allow_anonymous=not no_anonymous, scale=scale,
                         offer_none=offer_none)
    for f in faults:
        sim.inject(f)

    async def serve() -> None:
        async with sim:
            _print_start(sim)
            done = asyncio.Event()  # set by the tick watcher once --ticks is reached; Ctrl-C otherwise
            while not done.is_set():
                await asyncio.sleep(min(tick, 0.2))
                if ticks is not None and sim.tick_index >= ticks:
                    done.set()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    _console().print(f"stopped at tick {sim.tick_index}")


def _run_shards(model: str, *, shards: int, scale: int, seed: int, host: str, port: int, tick: float,
                faults: bool) -> None:
    import time

    from factorypilot.pilots.simulator import ShardedPlant

    if faults:
        raise ConfigError("--shards cannot be combined with --fault, --secure or --user", where="--shards",
                          hint="run a single process for fault injection and security")
    console = _console()
    with ShardedPlant(model, shards=shards, lines_per_shard=scale, seed=seed, host=host, base_port=port,
                      tick_seconds=tick) as plant:
        table = Table(title=f"{model}: {len(plant.roles())} signals on {shards} shards")
        for col in ("shard", "endpoint", "lines", "signals"):
            table.add_column(col)
        for k, ep in enumerate(plant.endpoints):
            count = sum(1 for e, _ in plant.roles().values() if e == ep)
            table.add_row(str(k), ep, f"{k * scale + 1}..{(k + 1) * scale}", str(count))
        console.print(table)
        console.print("Ctrl-C to stop")
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            console.print("stopping shards")


def _print_start(sim: object) -> None:
    from factorypilot.pilots.simulator import PlantSimulator

    assert isinstance(sim, PlantSimulator)
    console = _console()
    table = Table(title=f"{sim.model_name} — {len(sim.roles())} signals", show_lines=False)
    for col in ("role", "node id", "이름", "unit", "writable"):
        table.add_column(col, overflow="fold")
    for role, node_id in list(sim.roles().items())[:200]:
        s = sim.engine.signals[role]
        table.add_row(role, node_id, s.name_ko, s.unit or "", "yes" if s.writable else "")
    console.print(table)
    if len(sim.roles()) > 200:
        console.print(f"… and {len(sim.roles()) - 200} more roles")
    if sim.certificates is not None:
        c = sim.certificates
        console.print(f"certificates: {c.directory} (client cert {c.client_cert.name}, "
                      f"application uri {c.client_uri})")
    for f in sim.faults:
        console.print(f"fault: {f.kind.value} {f.role or ''} magnitude={f.magnitude} from tick {f.start_tick}")
    console.print(f"[bold green]endpoint[/] {sim.endpoint}  (Ctrl-C to stop)", soft_wrap=True)


@simulator_app.command("models")
def models() -> None:
    """List the plant models of the installed sector pilots (entry-point group factorypilot.pilots).

    Example:  factorypilot simulator models
    """
    from factorypilot.pilots.simulator import available_models

    table = Table(title="simulator models")
    for col in ("name", "이름", "description", "signals", "methods"):
        table.add_column(col)
    for name, cls in available_models().items():
        table.add_row(name, cls.title_ko, cls.description, str(len(cls.signals)), str(len(cls.methods)))
    _console().print(table)

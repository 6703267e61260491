"""`sketchlab bench study`: the study server under many participants, and storage alone."""

from pathlib import Path
from typing import Annotated

import typer


def bench_study(
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write the figures here")
    ] = None,
    clients: Annotated[
        int, typer.Option(min=1, max=500, help="concurrent participants against one server")
    ] = 50,
    think: Annotated[
        float, typer.Option(help="mean seconds a participant looks at a sketch")
    ] = 2.0,
    time_limit: Annotated[
        float, typer.Option(min=10, max=3600, help="stop the load test after this many seconds")
    ] = 240,
    writers: Annotated[int, typer.Option(help="concurrent writers in the storage bench")] = 200,
    postgres: Annotated[
        str | None,
        typer.Option(help="also run both benches on this postgresql+psycopg:// URL"),
    ] = None,
    skip_load: Annotated[bool, typer.Option(help="only the storage bench")] = False,
    trial_types: Annotated[
        bool,
        typer.Option(
            help="load a study with a confidence rating after each answer and a free-naming "
            "condition (typed names) beside forced choice"
        ),
    ] = False,
    replicas: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=16,
            help="run the PostgreSQL load on this many servers behind Caddy "
            "(deploy/Caddyfile, sticky sessions); needs --postgres",
        ),
    ] = None,
) -> None:
    """Answer-to-next-trial latency (p50/p95/p99), errors, lost and duplicated trials with
    `clients` protocol-level participants on one loopback server, then the storage bench;
    on SQLite, and again on PostgreSQL with --postgres (through Caddy in front of
    --replicas servers, if given). Loopback only; bounded in count and time."""
    import tempfile

    from sketchlab.bench.study_load import run_load
    from sketchlab.bench.study_storage import storage_bench
    from sketchlab.errors import BadInput

    if replicas and not postgres:
        raise BadInput("--replicas needs --postgres URL: replicas share one PostgreSQL database")
    if replicas:
        from study.proxy import caddy_path

        caddy_path()  # no caddy: stop before minutes of SQLite benches
    if postgres:  # an unreachable database stops here, before minutes of SQLite benches
        from study.storage import Storage

        Storage(postgres, "bench-check").close()
    figures: dict = {}
    if not skip_load:
        figures["load"] = run_load(
            clients=clients,
            think_s=(0.5 * think, 1.5 * think),
            time_limit_s=time_limit,
            trial_types=trial_types,
        )
    with tempfile.TemporaryDirectory(prefix="sketchlab-storage-") as folder:
        figures["storage_sqlite"] = storage_bench(
            f"sqlite:///{folder}/bench.sqlite", writers=writers
        )
    if postgres:
        if not skip_load:
            figures["load_postgresql"] = run_load(
                clients=clients,
                storage=postgres,
                replicas=replicas,
                think_s=(0.5 * think, 1.5 * think),
                time_limit_s=time_limit,
                trial_types=trial_types,
            )
        figures["storage_postgresql"] = storage_bench(postgres, writers=writers)
    from sketchlab.files import print_json

    print_json(figures, json_out)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    bench.command("study")(bench_study)

"""`sketchlab study serve study.yaml`: run the participant web app (and its admin page)."""

from pathlib import Path
from typing import Annotated

import typer

from sketchlab.commands.study import StorageUrl, StudyYaml, study_app
from sketchlab.errors import BadInput

DEFAULT_PORT = 8501
"""Streamlit's default port; with --replicas, Caddy's."""


def serve(
    ctx: typer.Context,
    study_yaml: StudyYaml,
    storage: StorageUrl = None,
    port: Annotated[
        int | None, typer.Option(help="port to listen on (Streamlit's default: 8501)")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="address to bind, e.g. 127.0.0.1 or 0.0.0.0")
    ] = None,
    replicas: Annotated[
        int | None,
        typer.Option(
            help="run this many servers on loopback behind Caddy (the packaged Caddyfile), "
            "which listens on --port on every interface; needs a PostgreSQL storage"
        ),
    ] = None,
) -> None:
    """Start the study app; extra options such as --server.baseUrlPath=/study go to
    `streamlit run`. Participants open http://HOST:PORT/?PROLIFIC_PID=...; the admin page
    is ?page=admin (password: admin_password in .streamlit/secrets.toml or
    SKETCHLAB_ADMIN_PASSWORD)."""
    from study.serve import serve as serve_study

    if replicas is not None:
        from study.replicas import serve_replicas

        if address is not None:
            raise BadInput("--address is for one server; with --replicas Caddy listens on --port")
        serve_replicas(
            Path(study_yaml),
            storage,
            replicas=replicas,
            port=port or DEFAULT_PORT,
            extra_options=ctx.args,
        )
        return
    serve_study(
        Path(study_yaml), storage=storage, port=port, address=address, extra_options=ctx.args
    )


def register(app: typer.Typer, bench: typer.Typer) -> None:
    study_app.command(
        "serve",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(serve)

"""`sketchlab study serve study.yaml`: run the participant web app (and its admin page)."""

from pathlib import Path
from typing import Annotated

import typer

from sketchlab.commands.study import StorageUrl, StudyYaml, study_app


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
) -> None:
    """Start the study app; extra options such as --server.baseUrlPath=/study go to
    `streamlit run`. Participants open http://HOST:PORT/?PROLIFIC_PID=...; the admin page
    is ?page=admin (password: admin_password in .streamlit/secrets.toml or
    SKETCHLAB_ADMIN_PASSWORD)."""
    from study.serve import serve as serve_study

    serve_study(
        Path(study_yaml), storage=storage, port=port, address=address, extra_options=ctx.args
    )


def register(app: typer.Typer, bench: typer.Typer) -> None:
    study_app.command(
        "serve",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(serve)

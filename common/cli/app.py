"""The `cortex` commands: components for compose/Kubernetes, dev stack, and operator tools."""

import typer

from common.cli import assistant, components, memory, queues, recall, reindex

cli = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False
)
# In the order `cortex --help` lists them.
for command in (
    components.dev,
    components.controller,
    components.gateway,
    components.worker,
    queues.pause,
    queues.resume,
    queues.drain,
    queues.replay,
    queues.status,
    memory.search,
    recall.recall,
    reindex.reindex,
    assistant.mcp,
):
    cli.command()(command)
cli.command("ingest-chats")(memory.ingest_chats)
cli.command("dead-letters")(queues.dead_letters)
cli.command()(components.embedder)  # fmt: skip


def main() -> None:
    """Entry point of the `cortex` console script."""
    cli()

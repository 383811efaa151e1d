"""The `cortex` command. It starts components by module path and never imports them."""

from common.cli.app import main

__all__ = ["main"]

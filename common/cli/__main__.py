"""`python -m common.cli` runs the cortex CLI."""

from common.cli import main

main()

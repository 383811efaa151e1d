"""`python -m common` runs the cortex CLI."""

from common.cli import main

main()

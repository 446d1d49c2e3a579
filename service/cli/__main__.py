"""Run the CLI with `python -m service.cli`."""

from service.cli import main

main()

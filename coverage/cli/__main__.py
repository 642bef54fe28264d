"""``python -m coverage.cli``: the ``safetynet`` command."""

from coverage.cli import main

main()

"""``python -m coverage.cli``: the ``safetynet`` command."""

from coverage.cli import main

if __name__ == "__main__":  # importing this module (a test walking the package) runs nothing
    main()

"""The public exception hierarchy of safetynet-coverage.

Every error the library raises on purpose derives from :class:`CoverageError`. Input
problems also derive from :class:`ValueError`, so ``except ValueError`` keeps working.
Messages name the file, the row and the field, what was found and what was expected.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousNameError",
    "CoverageError",
    "DataFileNotFoundError",
    "InputError",
    "NameResolutionError",
    "UnknownNameError",
    "UnknownProgrammeError",
    "UnreadableFileError",
]


class CoverageError(Exception):
    """Base class of every error raised by safetynet-coverage."""


class InputError(CoverageError, ValueError):
    """Something the user supplied (a file, an option, a value) cannot be used."""


class UnreadableFileError(InputError):
    """A whole input file cannot be read (missing, wrong format, undecodable)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class NameResolutionError(InputError):
    """A county or township name could not be resolved to exactly one place.

    ``suggestions`` holds the closest official names (``縣市鄉鎮市區``), best first.
    """

    def __init__(self, message: str, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = list(suggestions or [])
        super().__init__(message)


class UnknownNameError(NameResolutionError):
    """No county or township has this name."""


class AmbiguousNameError(NameResolutionError):
    """Several townships have this name (e.g. ``東區``); the county is needed."""


class UnknownProgrammeError(InputError):
    """A programme (category) name matches none of the programmes.

    ``suggestions`` holds the closest accepted names, best first.
    """

    def __init__(self, message: str, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = list(suggestions or [])
        super().__init__(message)


class DataFileNotFoundError(CoverageError, FileNotFoundError):
    """A bundled data file was asked for by a name that does not exist."""

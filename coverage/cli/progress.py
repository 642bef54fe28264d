"""Logging and progress on stderr for the ``safetynet`` command line. A leaf of the CLI package.

The library only logs (``logging.getLogger(__name__)``); handlers, verbosity (``-v``/``-q``) and
progress bars are set up here alone. A progress bar shows while a step that can take more than a
couple of seconds runs (reading registries, locating points, building a road graph, siting) and
is removed when it ends. It is drawn only on a terminal: with ``-q``, or when stderr is a file or
a pipe, nothing is drawn, so what a command prints and writes is the same either way.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

__all__ = ["configure", "shows_progress", "step"]

_STATE = {"quiet": False}


def configure(verbose: int, quiet: bool) -> None:
    """Log level from ``-v``/``-vv``/``-q``, to stderr; ``-q`` also hides the progress bars.

    Parameters
    ----------
    verbose : int
        0 warnings, 1 info, 2 or more debug.
    quiet : bool
        Only errors, and no progress.
    """
    _STATE["quiet"] = quiet
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def shows_progress() -> bool:
    """Whether progress is drawn: stderr is a terminal and ``-q`` was not given.

    Returns
    -------
    bool
    """
    return not _STATE["quiet"] and sys.stderr.isatty()


@contextlib.contextmanager
def step(description: str) -> Iterator[None]:
    """A progress bar (running, with the time elapsed) on stderr while the block runs.

    Parameters
    ----------
    description : str
        What the step does, e.g. ``讀取清冊 reading registries``.

    Yields
    ------
    None
    """
    if not shows_progress():
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        bar.add_task(description, total=None)
        yield

"""Work the maps of one run share: computed once for all of them, not once per map.

:func:`coverage.maps.render.write_maps` draws every county's map and the national map from one
report and one township table. What does not depend on the map — the boundaries projected to
metres, every facility's state, popup and service area, every township's tooltip and label point —
is computed on first use inside :func:`sharing` and handed out again to the next map; each map
then takes its own rows of it. The results are those of computing it map by map (the same
functions on the same rows: tests/maps/test_memo.py compares the pages).

A leaf module of :mod:`coverage.maps` (it imports nothing from the package). Outside
:func:`sharing` nothing is kept: :func:`shared` computes afresh on every call.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

__all__ = ["is_sharing", "shared", "sharing"]

T = TypeVar("T")

# name → (the inputs, kept alive so that their ids stay theirs; the value)
_MEMO: contextvars.ContextVar[dict[Hashable, tuple[tuple[Any, ...], Any]] | None] = contextvars.ContextVar(
    "_MEMO", default=None)


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Keep what :func:`shared` computes until the block ends (a block inside another joins it).

    The inputs handed to :func:`shared` must not change inside the block: a value is found again
    by the identity of its inputs, not by their content.

    Yields
    ------
    None
    """
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def is_sharing() -> bool:
    """Whether a :func:`sharing` block is active: then work for every map at once pays off.

    Returns
    -------
    bool
    """
    return _MEMO.get() is not None


def shared(name: Hashable, inputs: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or inside :func:`sharing` the value it gave for the same ``name`` and ``inputs``.

    Parameters
    ----------
    name : hashable
        What is computed, with any plain parameters of it (``("tooltips", ("a", "b"), 3)``).
    inputs : tuple
        The objects it is computed from (data frames, a report), told apart by identity.
    compute : callable
        Takes nothing and returns the value; its value is handed out as is, so callers must not
        change it.

    Returns
    -------
    object
        The value.

    Examples
    --------
    >>> calls = []
    >>> table = object()
    >>> with sharing():
    ...     first = shared("n", (table,), lambda: calls.append(1) or len(calls))
    ...     again = shared("n", (table,), lambda: calls.append(1) or len(calls))
    >>> first, again, len(calls)
    (1, 1, 1)
    """
    memo = _MEMO.get()
    if memo is None:
        return compute()
    key = (name, *map(id, inputs))
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (inputs, compute())
    return hit[1]

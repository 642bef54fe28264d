"""Tasks shared between this process and one forked copy of it: the child from the front, this one from the back.

:func:`coverage.maps.render.write_maps` renders its pages this way on two cores: the child is forked
once the report exists, so it needs nothing sent to it, and it starts on the first page at once
while this process goes on with other work (the CLI writes the tables and lays out its summary);
this process then takes pages from the end of the list until the two meet. Each page is written by
whichever process renders it, atomically, with the same bytes (rendering is deterministic).

The two processes tell each other what they take through two pipes (4-byte integers). A page both
happen to take at the same moment is rendered twice, with the same bytes; nothing is lost. A task
the child fails (an exception, or the child dies) is reported as not done: the caller does it
again in this process, where its error is raised as without the child. The child never returns
into the caller's code: it ends with ``os._exit`` whatever happens, so no ``finally`` block, exit
handler or buffered output of this process runs twice.

A leaf module of :mod:`coverage.maps` (standard library only).
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import sys
from collections.abc import Callable, Iterator

__all__ = ["can_fork", "forked_share"]

log = logging.getLogger(__name__)

_INT = struct.Struct("<i")


def can_fork() -> bool:
    """Whether a child can share the work: ``os.fork`` exists, this process may run on two cores, and no
    other Python thread runs (a fork copies only the calling thread: a lock another one holds, on a
    stream or a console, would stay held in the copy).

    Returns
    -------
    bool
    """
    import threading

    if not hasattr(os, "fork") or threading.active_count() > 1:  # pragma: no cover - not POSIX, or threads
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores >= 2


def _send(fd: int, value: int) -> bool:
    try:
        os.write(fd, _INT.pack(value))  # 4 bytes: one atomic write on a pipe
        return True
    except OSError:  # the other side has ended
        return False


def _receive(fd: int, pending: bytearray, *, block: bool) -> list[int] | None:
    """The integers readable on ``fd`` now (or, with ``block``, once some arrive); None at end of file."""
    os.set_blocking(fd, block)
    try:
        data = os.read(fd, 1 << 16)
    except BlockingIOError:
        return []
    except OSError:
        return None
    if not data:
        return None
    pending.extend(data)
    whole = len(pending) - len(pending) % _INT.size
    values = [v for (v,) in _INT.iter_unpack(bytes(pending[:whole]))]
    del pending[:whole]
    return values


def _child(count: int, do: Callable[[int], object], claims_in: int, news_out: int) -> None:
    """The child's loop: tasks 0, 1, … until it reaches one this process has taken; each is announced
    (``2 i``) before it starts and confirmed (``2 i + 1``) once done."""
    first_taken = count
    pending = bytearray()
    for i in range(count):
        got = _receive(claims_in, pending, block=False)
        if got is None:  # this process has gone: stop
            return
        first_taken = min([first_taken, *got])
        if i >= first_taken or not _send(news_out, 2 * i):
            return
        try:
            do(i)
        except Exception as exc:  # done again (and raised) in this process
            log.debug("task %d failed in the forked process (%s)", i, type(exc).__name__)
            continue
        if not _send(news_out, 2 * i + 1):
            return


@contextlib.contextmanager
def forked_share(count: int, do: Callable[[int], object], *,
                 reported: Callable[[int], object] | None = None) -> Iterator[Callable[[], dict[int, str]]]:
    """Do tasks ``0 … count − 1`` (``do(i)``) in a forked child while the block runs; the yielded function
    makes this process do tasks from the last one down until it meets the child.

    Use as a context manager. The function it yields takes nothing, does this process's share (an
    exception of ``do`` here is kept back, the task counted as not done), waits for the child and
    returns which process did each task that was done: ``{i: "child" | "here"}``. Tasks missing
    from it failed, or were left undone by a child that died: the caller does them again, in order,
    so that their error is raised in this process. Leaving the block without calling it (an error in
    the block) tells the child to stop after its current task and waits for it; what the child
    finished is then passed to ``reported`` only.

    Without :func:`can_fork`, or with fewer than two tasks, no child is made: the function does
    every task here.

    Parameters
    ----------
    count : int
        Number of tasks.
    do : callable
        Takes a task's index; its return value is ignored. In the child it runs on a copy of this
        process's memory taken when the block starts, so it must not rely on changes made in the block.
    reported : callable, optional
        Called here with a task's index as soon as the child reports it done, whether the block
        ends well or not (e.g. to list a file the child wrote in this process's output run).

    Yields
    ------
    callable
        Takes nothing; returns ``{index: "child" | "here"}`` of the tasks done.
    """
    done: dict[int, str] = {}

    def here(i: int) -> None:
        try:
            do(i)
        except Exception:  # done again by the caller, where its error is raised in order
            return
        done[i] = "here"

    if count < 2 or not can_fork():
        def alone() -> dict[int, str]:
            for i in range(count):
                here(i)
            return done

        yield alone
        return
    claims_in, claims_out = os.pipe()  # this process → child: the tasks it takes
    news_in, news_out = os.pipe()  # child → this process: tasks started and done
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is left for the child to write again
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which ends with os._exit (no coverage data)
        try:
            os.close(claims_out)
            os.close(news_in)
            _child(count, do, claims_in, news_out)
        finally:
            os._exit(0)
    os.close(claims_in)
    os.close(news_out)
    state = {"ended": False, "finished": False}
    started: set[int] = set()
    pending = bytearray()

    def listen(block: bool) -> None:
        if state["ended"]:
            return
        got = _receive(news_in, pending, block=block)
        if got is None:  # the child has ended
            state["ended"] = True
            return
        for value in got:
            if value % 2:
                done[value // 2] = "child"
                if reported is not None:
                    reported(value // 2)
            else:
                started.add(value // 2)

    def finish() -> dict[int, str]:
        i = count - 1
        while True:
            listen(block=False)
            if i <= max(started, default=-1):  # the child has taken this one (and those before it)
                break
            if not state["ended"]:
                _send(claims_out, i)
            here(i)
            i -= 1
        while not state["ended"]:  # the child's last task
            listen(block=True)
        state["finished"] = True
        return done

    try:
        yield finish
    finally:
        if not state["finished"]:  # the block failed (or finish did): stop after the current task
            _send(claims_out, 0)
        os.close(claims_out)
        while not state["ended"]:
            listen(block=True)
        os.close(news_in)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

"""How the build holds and turns signals: SIGINT and SIGTERM stop a build cleanly, never halfway through a rename.

``interruptible`` (the coordinator): the signals raise ``BuildInterrupted`` so clean-up runs.
``signals_deferred``: hold them for a block (a brief's renames, the manifest) and deliver them after.
``STOPPING`` and ``WRITING``: a worker's state, shared by the pool (which stops it) and the brief (which must not
start renaming once told to stop, and must finish renaming before the worker exits).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOPPING = threading.Event()  # this worker was told to stop (SIGTERM)
WRITING = threading.Lock()  # held while a brief's outputs are renamed into place


class BuildInterrupted(KeyboardInterrupt):
    """The build was stopped by SIGINT or SIGTERM (``signum``); finished briefs are in place."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_deferred(redeliver: bool = True) -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (main thread only), then deliver them to the old handlers.

    Python-level, unlike ``pthread_sigmask``: a signal the kernel hands to another thread (zmq, the heartbeat,
    the pool's manager) is held all the same. With ``redeliver=False`` they are dropped (used while the build
    is already stopping).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received and redeliver:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(received[0])


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """During the build, SIGINT and SIGTERM raise BuildInterrupted in the main thread (so clean-up runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise BuildInterrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""Ctrl-C that is never lost.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be; when that is a
finaliser or a weak-reference callback (papermill and ZeroMQ run some while a notebook
executes), the exception is printed as "ignored" and the run goes on. The command line's
handler also records the request, so that a report checks it before it is published, and a
batch before it starts another report.
"""

from __future__ import annotations

import logging
import signal
import threading

#: Set once Ctrl-C (SIGINT) was received by the command line.
requested = threading.Event()


#: Loggers that, once Ctrl-C stopped a notebook, only report the kernel being torn down
#: ("Kernel died…", "Task exception was never retrieved"): the command says « interrompu ».
_TEARDOWN_LOGGERS = ("asyncio", "papermill", "nbclient", "traitlets")


def _on_sigint(signum: int, frame: object) -> None:
    requested.set()
    for name in _TEARDOWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    raise KeyboardInterrupt


def install() -> None:
    """Record every Ctrl-C, then raise KeyboardInterrupt as Python does (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even when the first one was swallowed."""
    if requested.is_set():
        raise KeyboardInterrupt

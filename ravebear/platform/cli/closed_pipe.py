"""Keep a command's work going when the reader of its stdout or stderr goes away (`ravebear backtest | head -1`).

nautilus's Rust logger writes to fds 1 and 2 from its own thread. When the pipe's reader has gone, it prints
"Error writing to stdout: BrokenPipe" to stderr for every line, and when stderr is that same closed pipe the
Rust print panics and the process aborts (exit 134) before the run folder is written. Python's own prints
raise BrokenPipeError. So while the command runs, fds 1 and 2 (when they are pipes or sockets) point at
pipes of our own, drained by a thread each that forwards to the real destination and, once that reader is
gone, drops the rest. Terminals and files are left alone: only pipes and sockets raise EPIPE.
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import sys
import threading
from collections.abc import Iterator

_CHUNK = 65_536


class _Forwarder:
    """Owns one fd: writers write into our pipe, a thread copies it to where the fd pointed before."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.target = os.dup(fd)
        self.reader_gone = False
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._read_end = read_end
        self._thread = threading.Thread(target=self._pump, name=f"fd{fd}-forwarder", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while chunk := os.read(self._read_end, _CHUNK):
            view = memoryview(chunk)
            while view and not self.reader_gone:
                try:
                    view = view[os.write(self.target, view) :]
                except BlockingIOError:  # a non-blocking destination that is full: wait until it takes more
                    select.select([], [self.target], [], 1.0)
                except OSError:  # EPIPE (reader gone) or a destination otherwise broken: drop the rest, keep
                    self.reader_gone = True  # draining so no writer ever blocks or sees EPIPE
        os.close(self._read_end)

    def restore(self) -> None:
        """Wait until what was written is copied, then point the fd back at its old destination (/dev/null when
        that reader is gone)."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.fd)  # closes our pipe's last write end: the thread copies the rest and reads EOF
        os.close(devnull)
        self._thread.join()  # a reader that is slow (a pager) holds us here, as it would hold a direct write
        if not self.reader_gone:
            os.dup2(self.target, self.fd)
        os.close(self.target)


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


@contextlib.contextmanager
def survive_closed_pipes() -> Iterator[None]:
    """Run the body with stdout and stderr safe from a reader that goes away; output after that is dropped."""
    _flush()
    forwarders = [_Forwarder(fd) for fd in (1, 2) if _is_pipe_or_socket(fd)]
    try:
        yield
    finally:
        _flush()
        for forwarder in forwarders:
            forwarder.restore()

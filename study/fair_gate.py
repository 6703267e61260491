"""A first-come, first-served gate in front of a connection pool.

SQLAlchemy's pool lets a thread that just gave a connection back take it again at once,
ahead of threads that have been waiting (the woken waiter finds the pool empty again). With
many more busy threads than connections, some threads then wait for seconds while others
write over and over. The gate admits at most `size` threads at a time and hands a freed
place to the longest-waiting thread, so waits are in arrival order.
"""

from __future__ import annotations

import threading
from collections import deque


class FairGate:
    """At most `size` holders at a time; waiting threads get in in arrival order."""

    def __init__(self, size: int):
        self._lock = threading.Lock()
        self._free = size
        self._waiting: deque[threading.Event] = deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the place is handed over by __exit__

    def __exit__(self, *exc) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1

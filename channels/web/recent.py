"""A few answers kept for seconds: what every console page shows but that
costs a scan (the sidebar's queue counts, the staff list), so that a busy
inbox does not recount per page view.  Per process and short-lived on purpose:
a count a second old is still true enough to steer by, and nothing here is
ever the basis of a decision."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class Recent:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._kept: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(key)
        if found is not None and now - found[0] < self.seconds:
            return found[1]
        value = compute()
        with self._lock:
            if len(self._kept) > 1000:  # many users: start again rather than grow
                self._kept.clear()
            self._kept[key] = (now, value)
        return value

"""Timers of two processes firing at the same moment (tests that one wins)."""

from __future__ import annotations

import threading
from typing import Protocol


class Timer(Protocol):
    def run_once(self) -> int: ...


def run_at_once(*timers: Timer) -> list[int]:
    """Each timer's run_once in a thread of its own, together: how many each fired."""
    results: list[int] = []
    runs = [threading.Thread(target=lambda t=t: results.append(t.run_once())) for t in timers]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    return results

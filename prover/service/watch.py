"""One poller for every WatchJob stream: the versions of all watched jobs in one query.

A job changes in whichever process holds it (a worker on another machine), so watchers must
poll the store. Polled per stream, 64 streams at 10 Hz would be 640 queries a second; here one
thread asks for the versions of every watched job at once and wakes the streams whose job
changed. Streams wait with a timeout, so one whose client vanished notices within
``wait_s`` even when its job never changes.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from prover.jobs import JobStore

log = logging.getLogger("zkprover.watch")


class WatchHub:
    def __init__(self, store: JobStore, poll_s: float = 0.1) -> None:
        self.store = store
        self.poll_s = poll_s
        self._cond = threading.Condition()
        self._watched: Counter[str] = Counter()
        self._versions: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    def wait_for_change(self, job_id: str, version: int, timeout: float) -> bool:
        """Block until the store's version of ``job_id`` differs from ``version`` (True), or
        ``timeout`` passes (False)."""
        with self._cond:
            if self._closed:
                return False
            self._watched[job_id] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._poll, name="watch-hub", daemon=True)
                self._thread.start()
            try:
                return (
                    self._cond.wait_for(lambda: self._closed or self._versions.get(job_id, version) != version, timeout)
                    and not self._closed
                )
            finally:
                self._watched[job_id] -= 1
                if not self._watched[job_id]:
                    del self._watched[job_id]
                    self._versions.pop(job_id, None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _poll(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                ids = list(self._watched)
            try:
                versions = self.store.versions(ids) if ids else {}
            except Exception as exc:  # the store is down: keep the streams open, try again
                log.warning("watch poll: %s", exc)
                versions = {}
            with self._cond:
                changed = False
                for job_id, v in versions.items():
                    if job_id in self._watched and self._versions.get(job_id) != v:
                        self._versions[job_id] = v
                        changed = True
                if changed:
                    self._cond.notify_all()
                self._cond.wait(self.poll_s)

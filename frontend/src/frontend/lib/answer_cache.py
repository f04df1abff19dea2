"""A small per-worker store of the backend's GET answers, kept to revalidate them.

Each entry holds an answer already parsed into its model and the ETag it came with. The client
sends that ETag back in `If-None-Match`; a 304 means the stored answer is still current, so the
body is neither transferred nor parsed again. Nothing is ever served without that check, so a
stored answer can be old but never stale. The least recently used entry goes first when full.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    etag: str
    value: Any


class AnswerCache:
    def __init__(self, max_entries: int) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be 0 (off) or more")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, StoredAnswer] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> StoredAnswer | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def store(self, key: str, etag: str, value: Any) -> None:
        if not self.enabled:
            return
        self._entries[key] = StoredAnswer(etag, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

"""Content-addressed file storage for raw messages and attachments under the data directory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path


class BlobStore:
    """Stores bytes once per SHA-256, durably (written, synced, renamed, directory synced)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this digest lives."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes) -> str:
        """Store the bytes (a no-op when already stored) and return their SHA-256."""
        return (await self.put_many([data]))[0]

    async def put_many(self, items: Sequence[bytes]) -> list[str]:
        """Store each item as put() does, in one trip to a worker thread; their SHA-256s."""
        return await asyncio.to_thread(self._write_all, items)

    async def get(self, sha256: str) -> bytes:
        """The stored bytes; raises FileNotFoundError."""
        return await asyncio.to_thread(self.path_for(sha256).read_bytes)

    def _write_all(self, items: Sequence[bytes]) -> list[str]:
        digests = [hashlib.sha256(data).hexdigest() for data in items]
        written = {self._write(digest, data) for digest, data in zip(digests, items, strict=True)}
        # The renames are durable only once their directories are synced too.
        for folder in sorted(folder for folder in written if folder is not None):
            _sync_directory(folder)
        return digests

    def _write(self, digest: str, data: bytes) -> Path | None:
        """Write one blob; returns the directory that gained it, or None if it was there."""
        target = self.path_for(digest)
        if target.exists():
            return None
        if not target.parent.is_dir():
            self._make_directories(target.parent)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target.parent

    @staticmethod
    def _make_directories(folder: Path) -> None:
        # Up from the new folder only as far as the first that exists (not to the root).
        created = []
        for path in (folder, *folder.parents):
            if path.is_dir():
                break
            created.append(path)
        folder.mkdir(parents=True, exist_ok=True)
        for path in reversed(created):
            _sync_directory(path.parent)


def _sync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

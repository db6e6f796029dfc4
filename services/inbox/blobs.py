"""Content-addressed file storage for raw messages and attachments under the data directory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    """Stores bytes once per SHA-256, durably (written, synced, then renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this digest lives."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes) -> str:
        """Store the bytes (a no-op when already stored) and return their SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, digest, data)
        return digest

    async def get(self, sha256: str) -> bytes:
        """The stored bytes; raises FileNotFoundError."""
        return await asyncio.to_thread(self.path_for(sha256).read_bytes)

    def _write(self, digest: str, data: bytes) -> None:
        target = self.path_for(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
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

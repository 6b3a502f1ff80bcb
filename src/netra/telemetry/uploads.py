"""Where uploads are streamed to disk while they are imported, and the sweep of those a
killed process left behind (a 2 GB upload cut off by SIGKILL must not stay for ever).

An upload in flight rewrites its file every few milliseconds, so a file untouched for
STALE_AFTER_S belongs to no live request, even with several processes sharing the
data directory: only those are swept.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from netra.settings import Settings

log = logging.getLogger(__name__)

UPLOAD_SUFFIX = ".upload"
STALE_AFTER_S = 600.0


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def sweep_stale_uploads(settings: Settings, *, now: float | None = None) -> int:
    """Delete the upload temp files no request is writing any more; how many."""
    directory = uploads_dir(settings)
    if not directory.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - STALE_AFTER_S
    swept = 0
    for path in directory.glob(f"*{UPLOAD_SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                swept += 1
        except FileNotFoundError:
            continue  # finished (or swept by another process) meanwhile
    if swept:
        log.info("swept %d stale upload file(s) from %s", swept, directory)
    return swept

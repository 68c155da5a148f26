"""Writing a result file to object storage so that readers never see half of it.

The data goes to a temporary name beside the destination and is moved into place only once it is
complete; on any failure the temporary file is removed. Downstream tasks therefore find either the
whole file or none — never a truncated export that looks valid.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)


def storage_path(url: str | ObjectStoragePath, conn_id: str | None) -> ObjectStoragePath:
    """An ObjectStoragePath for a URL; an empty conn id (from a blank template) means none."""
    return ObjectStoragePath(str(url), conn_id=conn_id or None)


@contextmanager
def atomic_write(destination: ObjectStoragePath) -> Iterator[IO[bytes]]:
    """``with atomic_write(path) as out: out.write(...)`` — all of it lands at ``path``, or nothing does."""
    partial = destination.parent / f".{destination.name}.{uuid.uuid4().hex[:12]}.partial"
    try:
        try:
            handle = partial.open("wb")
        except OSError as exc:
            raise OSError(
                f"cannot write to {destination}: {exc}. Check the path exists or can be created, "
                "and that the storage connection grants write access."
            ) from exc
        with handle:
            yield handle
        partial.rename(destination)
    except BaseException:
        try:
            partial.unlink(missing_ok=True)
        except OSError as exc:  # never let the clean-up hide the error that got us here
            log.warning("Could not remove the partial file %s: %s", partial, exc)
        raise

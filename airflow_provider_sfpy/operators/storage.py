"""Writing result files to object storage so that readers never see half of one.

The data goes to a temporary name beside the destination and is moved into place only once it is
complete; on any failure the temporary file is removed. Downstream tasks therefore find either the
whole file or none — never a truncated export that looks valid.

On object stores (``s3://``, ``gs://``...) the final move is a copy and a delete, not an atomic
rename, but the copy is a single object PUT/COPY: readers still see the old object or the whole new
one. A worker killed between writing and moving can leave a ``.name.<hex>.partial`` behind; writers
that own a folder (the Bulk query part files) sweep those on their next successful run.

``atomic_write`` is also the one place where missing local folders are created: every file an
operator writes (exports, Bulk query parts, combined files and manifests, Bulk result CSVs, SAQL
results) goes through it, so no writer needs a folder prepared for it. Object stores have no
folders to create, and are not asked to (see ``_ensure_local_folder``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from airflow.sdk import ObjectStoragePath

from airflow_provider_sfpy.operators.base import is_templated

log = logging.getLogger(__name__)

#: Protocols of the local filesystem (a plain path has none): there folders must exist before a write.
LOCAL_PROTOCOLS = frozenset({"", "file", "local"})


def storage_path(url: str | ObjectStoragePath, conn_id: str | None) -> ObjectStoragePath:
    """An ObjectStoragePath for a URL; an empty conn id (from a blank template) means none."""
    return ObjectStoragePath(str(url), conn_id=conn_id or None)


def known_before_run(destination: object) -> bool:
    """Whether a destination is final when the DAG is parsed: a plain URL or path, not a template
    or an XComArg, which only the run resolves."""
    if isinstance(destination, ObjectStoragePath):
        return True
    return isinstance(destination, str) and not is_templated(destination)


def is_local(path: ObjectStoragePath) -> bool:
    return path.protocol in LOCAL_PROTOCOLS


def check_file_destination(destination: ObjectStoragePath, given: object, *, writer: str, hint: str = "") -> None:
    """Refuse, before anything is queried, a destination that cannot become one file.

    ``given`` is the destination as the user wrote it (a trailing ``/`` names a folder, and
    ObjectStoragePath drops it); ``writer`` names the operator in the message, ``hint`` adds what
    else the user could do. Raises ``IsADirectoryError`` for a folder and ``NotADirectoryError``
    when a parent folder of a local path is a file.
    """
    shown = str(given)
    if shown.rstrip().endswith("/") or destination.is_dir():
        what = "ends with '/', so it names a folder" if shown.rstrip().endswith("/") else "is an existing folder"
        raise IsADirectoryError(
            f"cannot write to {shown}: it {what}, and {writer} writes a single file. Give the file's own "
            f"path (for example {shown.rstrip().rstrip('/')}/data.csv){hint}."
        )
    if is_local(destination):
        for parent in destination.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise NotADirectoryError(
                        f"cannot write to {shown}: {parent} is a file, so no folder can be created there. "
                        "Choose another destination, or move that file away."
                    )
                break


def _ensure_local_folder(folder: ObjectStoragePath) -> None:
    """Create a local folder and its parents; object stores have no folders to create.

    (``mkdir`` on an object store is not harmless: for a path whose bucket is missing, s3fs would
    try to create the bucket.)
    """
    if is_local(folder):
        folder.mkdir(parents=True, exist_ok=True)


@contextmanager
def atomic_write(destination: ObjectStoragePath) -> Iterator[IO[bytes]]:
    """``with atomic_write(path) as out: out.write(...)`` — all of it lands at ``path``, or nothing does.

    A local destination's missing parent folders are created first.
    """
    partial = destination.parent / f".{destination.name}.{uuid.uuid4().hex[:12]}.partial"
    try:
        try:
            if is_local(destination) and destination.is_dir():
                raise IsADirectoryError(f"{destination} is an existing folder, not a file")
            _ensure_local_folder(destination.parent)
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

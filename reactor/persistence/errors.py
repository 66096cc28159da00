"""What persistence raises when the database itself fails, as opposed to a bad request.

``StorageUnavailable`` (and its kinds) mean "the write was not stored; nothing is half
applied; retry later". Clients see the stable ``code`` and the message, which names the
cause in words (never a driver's internal text alone).
"""

from __future__ import annotations

from reactor.errors import ReactorError

__all__ = ["DatabaseInUse", "DiskFull", "LeaseLost", "StorageUnavailable"]


class StorageUnavailable(ReactorError):
    """The database could not be reached or could not store the write."""

    code = "StorageUnavailable"


class DiskFull(StorageUnavailable):
    """The database's disk (or its size limit) is full; free space and retry."""

    code = "DiskFull"


class DatabaseInUse(ReactorError):
    """Another reactor server holds this database's lease."""

    code = "DatabaseInUse"


class LeaseLost(StorageUnavailable):
    """This server's lease was taken over by another server: it must not write any more."""

    code = "LeaseLost"

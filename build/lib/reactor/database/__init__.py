"""The database layer: transactions, commits, read sets and subscriptions."""

from reactor.database.database import Database, TableInfo
from reactor.database.transaction import UNSET, Limits, Transaction

__all__ = ["UNSET", "Database", "Limits", "TableInfo", "Transaction"]

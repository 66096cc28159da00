"""Helpers shared by the test suite (not tests themselves).

`tests/` is not a package: pytest puts `tests/` on `sys.path` (its default "prepend"
import mode), so these helpers are imported as `support.net` and `support.postgres`.
"""

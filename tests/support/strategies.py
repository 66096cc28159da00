"""Hypothesis strategies shared by the property tests of the database's data structures.

Keys are short byte strings, so random operations hit the same keys and interval ends
often (the interesting cases: duplicates, touching and nested intervals).
"""

from __future__ import annotations

from hypothesis import strategies as st

keys = st.binary(min_size=0, max_size=3)
intervals = st.tuples(keys, keys).map(lambda t: (min(t), max(t)))

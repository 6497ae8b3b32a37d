"""The audit trail: an append-only, hash-chained record of every access, with no personal data.

`chain` defines a record and its hash, `store` appends and reads, `verify` finds edited, removed
or reordered records, `report` and `render` build the agreement's semester usage report.
"""

"""PostgreSQL, for state several gateway processes share (docs/operator-guide.md)."""

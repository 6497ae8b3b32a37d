"""Data balikan: the return data the agreement obliges the agency to send Dukcapil, never lost.

An item (NIK, nomor register, nomor SK rapat paripurna) is written to a durable outbox (SQLite by
default, PostgreSQL for gateways sharing one) before the API answers, sealed with AES-GCM,
delivered with exponential backoff, dead-lettered after the configured tries, and deleted as
soon as Dukcapil holds it. See docs/return-data.md.
"""

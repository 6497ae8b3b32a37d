"""The desk agent (`ktp-gateway desk`): the officer's PC, its readers, one outbound connection.

It does what only the desk can do (reader and card events, the card session through the SAM,
the signature check) and holds no Dukcapil credential, outbox or audit trail (docs/desks.md).
"""

"""PC/SC driver layer: APDUs, the `Connection` edge, reader pairs and the KTP-el application.

Only `ktp_gateway.reader.pcsc` imports pyscard; everything above it sees `Connection`.
"""

"""The reader stack, from the PC/SC edge to the reader service.

`smartcard/` (APDUs, processors, the one pyscard module) <- `ktp_gateway.sam` <- `card/` (the
KTP-el application) <- this package's own modules: the reader service, the PC/SC monitor, the
event hub, `readers --watch`. Imports point that way only (tests/test_layout.py).
"""

"""The integrated reader family: a vendor text protocol over a serial port.

`frames.py` encodes commands and cuts answers out of the byte stream, bounded and typed; the
serial edge (the one pyserial import) and the device session sit on top of it.
"""

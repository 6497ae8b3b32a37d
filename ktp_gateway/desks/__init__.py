"""Desks and the one access point (docs/desks.md): the desk CA, the roster of enrolled desks,
the frames both sides speak, and the channel that carries them.

The access point side lives here; the desk agent (`ktp_gateway.desk_agent`) uses the shared
parts (frames, transport, files) and never the access point's CA key, roster or settings.
"""

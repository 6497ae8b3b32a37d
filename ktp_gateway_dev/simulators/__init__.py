"""Emulators and simulators that stand in for hardware and networks the project cannot reach.

They are real programs (a card and a SAM behind the virtual reader, an HTTP server for Dukcapil)
over one file of synthetic people, so tests and the demo run through the same code paths as an
office does.
"""

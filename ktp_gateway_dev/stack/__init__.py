"""The virtual test stack: pcscd with the project's vpcd readers, and emulators placed in them."""

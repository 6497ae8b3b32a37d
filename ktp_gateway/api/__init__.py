"""The local REST API the case application calls (FastAPI)."""

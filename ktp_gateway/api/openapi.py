"""Write the committed contract: `python -m ktp_gateway.api.openapi > openapi.json`.

Apart from contract.py so the app, which installs the contract, never imports its own generator.
"""

from __future__ import annotations

import json

from fastapi import FastAPI

from ktp_gateway.api.app import create_app


def render(app: FastAPI) -> str:
    """The app's contract as the committed openapi.json holds it."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(create_app()), end="")

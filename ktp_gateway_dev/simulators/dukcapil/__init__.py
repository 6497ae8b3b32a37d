"""A simulated Dukcapil CALL_NIK web service over the synthetic population, quirks included.

Run it as a real server (`python -m ktp_gateway_dev.simulators.dukcapil --port N`) or build the app
in-process with `create_app(SimulatorConfig(...))`. Tests steer it through `/_simulator/*`.
"""

from __future__ import annotations

from ktp_gateway_dev.simulators.dukcapil.app import ADMIN_PREFIX, create_app
from ktp_gateway_dev.simulators.dukcapil.config import Fault, FaultMode, SimulatorConfig, Style

__all__ = ["ADMIN_PREFIX", "Fault", "FaultMode", "SimulatorConfig", "Style", "create_app"]

"""The virtual KTP-el card: what its chip holds (`files`) and how it answers APDUs (`applet`)."""

from __future__ import annotations

from ktp_gateway_dev.simulators.card.applet import VirtualKtpCard
from ktp_gateway_dev.simulators.card.files import CardImage, CardVariant, build_image

__all__ = ["CardImage", "CardVariant", "VirtualKtpCard", "build_image"]

"""Activation values Dukcapil produces for one reader, and the SAM open data derived from them."""

from __future__ import annotations

from dataclasses import dataclass

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.specs import ActivationLayout


@dataclass(frozen=True, slots=True, repr=False)
class Activation:
    """PCID and CONF of one reader; secrets: never logged, never returned by the API."""

    pcid: bytes
    conf: bytes

    def __repr__(self) -> str:
        return "Activation(<secret>)"

    @classmethod
    def from_hex(cls, pcid: str, conf: str) -> Activation:
        try:
            return cls(bytes.fromhex(pcid), bytes.fromhex(conf))
        except ValueError:
            raise ConfigurationError("activation values must be hex strings") from None

    def open_data(self, layout: ActivationLayout) -> bytes:
        """The SAM open command's data, by the profile's layout."""
        if len(self.pcid) != layout.pcid_length or len(self.conf) != layout.conf_length:
            raise ConfigurationError(
                f"activation values must be {layout.pcid_length}-byte PCID and "
                f"{layout.conf_length}-byte CONF"
            )
        # pcid_xor_conf: PCID xor CONF[0:16] || PCID xor CONF[16:32] (shared/ktp-el-notes.md).
        half = layout.pcid_length
        first = bytes(p ^ c for p, c in zip(self.pcid, self.conf[:half], strict=True))
        second = bytes(p ^ c for p, c in zip(self.pcid, self.conf[half:], strict=True))
        return first + second

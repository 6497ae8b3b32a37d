"""The check families, in the order an officer reads them: hardware, agreement, registry,
configuration, versions. Families run side by side; steps within one run in order.
"""

from __future__ import annotations

from ktp_gateway.doctor import (
    agreement,
    configuration,
    desks,
    dukcapil,
    integrated,
    pcscd,
    readers,
    slots,
)
from ktp_gateway.doctor.runner import Family, Step
from ktp_gateway.doctor.versions import check_versions

CONFIG_HANG = "a file read did not finish: check the disks and network mounts"

HARDWARE: Family = (
    Step("pcscd", "pcscd", pcscd.check_pcscd, pcscd.HANG_FIX, gates=True),
    Step("readers", "readers", readers.check_readers, readers.HANG_FIX, gates=True),
    Step("slots", "reader slots", slots.check_slots, slots.HANG_FIX),
)

# The serial family beside PC/SC, not gated by pcscd.
SERIAL: Family = (
    Step("integrated", integrated.TITLE, integrated.check_integrated, integrated.HANG_FIX),
)

FAMILIES: tuple[Family, ...] = (
    HARDWARE,
    SERIAL,
    (Step("agreement", "agreement", agreement.check_agreement, CONFIG_HANG),),
    (Step("dukcapil", "Dukcapil", dukcapil.check_dukcapil, dukcapil.HANG_FIX),),
    (
        Step("settings", "settings", configuration.check_settings, CONFIG_HANG),
        Step("secrets", "secret files", configuration.check_secrets, CONFIG_HANG),
        Step("bind", "API bind", configuration.check_bind, CONFIG_HANG),
        Step("storage", "storage", configuration.check_storage, CONFIG_HANG),
        Step("return_data", "return data", configuration.check_return_data, CONFIG_HANG),
        Step("certificates", "certificates", configuration.check_certificates, CONFIG_HANG),
        Step("desks", "desks", desks.check_desks, CONFIG_HANG),
    ),
    (Step("versions", "versions", check_versions, CONFIG_HANG),),
)

# `doctor --desk`, on an officer's PC: its readers, its enrolment, the access point's answer.
DESK_FAMILIES: tuple[Family, ...] = (
    HARDWARE,
    SERIAL,
    (
        Step("desk_enrolment", "enrolment", desks.check_enrolment, CONFIG_HANG, gates=True),
        Step("desk_access_point", "access point", desks.check_access_point, desks.HANG_FIX),
    ),
    (Step("versions", "versions", check_versions, CONFIG_HANG),),
)

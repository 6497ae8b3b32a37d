"""Face photo and family-card queries, and field restriction, against the real simulator."""

from __future__ import annotations

import pytest

from ktp_gateway.domain import GrantedField, Grants
from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.errors import ErrorCode
from ktp_gateway.nik import InvalidNikError
from ktp_gateway_dev.simulators.population import load_population

from .conftest import PEOPLE, Simulator, settings_for
from .test_client import Recorder, expect

BUDI = PEOPLE["budi"].nik
NOT_GRANTED = ["ISLAM", "DIPLOMA IV/STRATA I", "99999", "UJICOBA-9901"]


async def test_face_photo_is_the_registry_jpeg(client: DukcapilClient, sim: Simulator) -> None:
    photo = await client.query_photo(BUDI)
    assert photo.nik == BUDI and photo.content_type == "image/jpeg"
    assert photo.data == PEOPLE["budi"].photo_bytes()
    assert sim.stats()["outcomes"] == {"photo_found": 1}


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("joko", ErrorCode.DUKCAPIL_NOT_FOUND),
        ("agus", ErrorCode.DUKCAPIL_HOLDER_DECEASED),
        ("rina", ErrorCode.DUKCAPIL_RECORD_BLOCKED),
    ],
)
async def test_photo_refusals(client: DukcapilClient, key: str, code: ErrorCode) -> None:
    await expect(code, client.query_photo(PEOPLE[key].nik))  # type: ignore[arg-type]


async def test_family_members_have_granted_fields_and_no_kk_number(
    client: DukcapilClient,
) -> None:
    members = await client.query_family(BUDI)
    family = load_population().family(PEOPLE["budi"].no_kk)
    assert sorted(m.person.nik for m in members) == sorted(p.nik for p in family)
    relations = {m.person.nik: m.hubungan_keluarga for m in members}
    assert relations[BUDI] == "KEPALA KELUARGA" and relations[PEOPLE["andi"].nik] == "ANAK"
    dump = "".join(m.model_dump_json() for m in members)
    assert PEOPLE["budi"].no_kk not in dump
    for value in NOT_GRANTED:
        assert value not in dump


async def test_family_of_an_unknown_nik_is_not_found(client: DukcapilClient) -> None:
    await expect(ErrorCode.DUKCAPIL_NOT_FOUND, client.query_family(PEOPLE["joko"].nik))  # type: ignore[arg-type]


async def test_malformed_nik_never_leaves_for_photo_or_family(
    legacy_client: DukcapilClient, legacy: Simulator
) -> None:
    for call in (legacy_client.query_photo, legacy_client.query_family):
        with pytest.raises(InvalidNikError):
            await call("3171013213809901")
    assert legacy.stats()["requests"] == 0


async def test_ungranted_photo_and_family_are_never_asked(legacy: Simulator) -> None:
    grants = Grants(photo=False, family=False)
    async with DukcapilClient(settings_for(legacy), grants=grants) as client:
        await expect(ErrorCode.FIELD_NOT_GRANTED, client.query_photo(BUDI))  # type: ignore[arg-type]
        await expect(ErrorCode.FIELD_NOT_GRANTED, client.query_family(BUDI))  # type: ignore[arg-type]
    assert legacy.stats()["requests"] == 0


async def test_ungranted_fields_are_dropped_and_counted(legacy: Simulator) -> None:
    recorder = Recorder()
    granted = frozenset(GrantedField) - {GrantedField.NAMA_AYAH, GrantedField.ALAMAT}
    settings = settings_for(legacy)
    async with DukcapilClient(settings, grants=Grants(fields=granted), observer=recorder) as client:
        person = await client.query_nik(BUDI)
    assert person.nama_ayah is None and person.alamat is None
    assert person.nama_lengkap == "BUDI CONTOH"
    dropped = {field for operation, field in recorder.dropped if operation == "nik"}
    assert {"AGAMA", "GOL_DARAH", "NIK_IBU", "NIK_AYAH", "NO_KK", "KODE_POS"} <= dropped
    assert {"NAMA_LGKP_AYAH", "ALAMAT", "NO_RT", "KEL_NAME"} <= dropped
    assert "NAMA_LGKP" not in dropped and "RESPON" not in dropped
    assert len(recorder.dropped) == len(set(recorder.dropped))  # one count per field per record


async def test_a_record_about_someone_else_is_never_released(
    legacy_client: DukcapilClient, legacy: Simulator
) -> None:
    legacy.fault("other_person", count=1)
    error = await expect(ErrorCode.DUKCAPIL_BAD_RESPONSE, legacy_client.query_nik(BUDI))
    assert "different NIK" in error.detail

"""Canary identities and the search for them: the evidence behind "no storage".

Each run invents a few synthetic people whose every identifying value is a fresh, unique
string (NIK, names, mother's and father's names, place of birth, address) and whose photo
carries 64 fresh random bytes. Because nothing else on the machine can contain these values,
finding one anywhere the gateway could write is a leak, and finding none is the proof.
Each value is searched as plain text (and lower case, URL-encoded), hex (both cases) and
base64 (standard and URL-safe, at all three alignments, so an encoding of a longer buffer that
contains the value is found too).
"""

from __future__ import annotations

import base64
import os
import secrets
import string
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ktp_gateway_dev.simulators.population import PHOTO_DIR, Address, Person

MAX_FILE_BYTES = 64 * 1024 * 1024
MIN_ENCODED_BYTES = 12  # shorter values' hex/base64 fragments could occur by chance
_LETTERS = string.ascii_uppercase
_PHOTO_BASE = "budi.jpg"  # the placeholder drawing the canary photos are made from
_NAMES = ("ALFA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL")
# status of each canary, in order: every registry answer and a card the registry does not know
_PROFILES = (
    ("active", True, False),  # (registry status, has a card, card differs from the registry)
    ("active", True, True),
    ("deceased", True, False),
    ("blocked", True, False),
    ("absent", True, False),
    ("active", False, False),
)


def _token(length: int = 10) -> str:
    return "".join(secrets.choice(_LETTERS) for _ in range(length))


def _nik(used: set[str]) -> tuple[str, str]:
    """A structurally valid NIK (Jakarta Pusat region, 19xx birth date) and that birth date."""
    while True:
        year, month, day = (
            1950 + secrets.randbelow(50),
            1 + secrets.randbelow(12),
            1 + secrets.randbelow(28),
        )
        serial = 1000 + secrets.randbelow(9000)
        nik = f"317101{day:02d}{month:02d}{year % 100:02d}{serial:04d}"
        if nik not in used:
            used.add(nik)
            return nik, f"{year:04d}-{month:02d}-{day:02d}"


def canary_photo(marker: bytes) -> bytes:
    """A valid JPEG: the placeholder drawing with `marker` in a comment segment after SOI."""
    base = (PHOTO_DIR / _PHOTO_BASE).read_bytes()
    segment = b"\xff\xfe" + (len(marker) + 2).to_bytes(2, "big") + marker
    return base[:2] + segment + base[2:]


@dataclass(frozen=True, slots=True)
class Canary:
    """One canary person and the values that must never be found."""

    person: Person
    values: dict[str, bytes]  # label -> the value's bytes

    @property
    def key(self) -> str:
        return self.person.key


@dataclass(frozen=True, slots=True)
class CanarySet:
    """This run's canaries, the run's marker (in every text value), and where their files are."""

    run: str
    canaries: list[Canary]
    directory: Path

    @property
    def people_file(self) -> Path:
        return self.directory / "canary_people.yaml"

    def by_status(self, status: str, *, card: bool = True) -> Canary:
        for canary in self.canaries:
            person = canary.person
            if person.registry.status == status and (person.card is not None) == card:
                return canary
        raise LookupError(status)

    def needles(self) -> list[Needle]:
        """Every form of every value, plus the run marker (catches a truncated value)."""
        found = [n for canary in self.canaries for n in needles_for(canary.values)]
        marker = self.run.encode()
        found += [
            Needle("run marker", "plain", marker),
            Needle("run marker", "hex", marker.hex().encode()),
        ]
        return found


def make_canaries(directory: Path, *, count: int = len(_PROFILES)) -> CanarySet:
    """Invent this run's canaries, write their photos and a people file the simulator loads."""
    run = _token(6)
    directory.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    canaries = []
    for index, (status, has_card, differs) in enumerate(_PROFILES[:count]):
        canaries.append(_canary(directory, run, index, status, has_card, differs, used))
    people = [c.person.model_dump(mode="json") for c in canaries]
    path = directory / "canary_people.yaml"
    path.write_text(yaml.safe_dump({"people": people}, sort_keys=False), encoding="utf-8")
    return CanarySet(run, canaries, directory)


def _canary(
    directory: Path,
    run: str,
    index: int,
    status: str,
    has_card: bool,
    differs: bool,
    used: set[str],
) -> Canary:
    name = _NAMES[index % len(_NAMES)]
    nik, born = _nik(used)
    text = {
        "nama_lengkap": f"KANARI {run}{_token()} {name}",
        "nama_ibu_kandung": f"IBU {run}{_token()} {name}",
        "nama_ayah": f"AYAH {run}{_token()} {name}",
        "tempat_lahir": f"KOTA {run}{_token()}",
        "alamat": f"JL. {run}{_token()} NO. {index + 1}",
    }
    marker = secrets.token_bytes(64)
    photo = directory / f"canary-{index}.jpg"
    photo.write_bytes(canary_photo(marker))
    address = Address(
        alamat=text["alamat"], no_rt="001", no_rw="002", dusun="-", kel_name="KANARI",
        kec_name="KANARI", kab_name="KOTA KANARI", prop_name="DKI JAKARTA", no_prop="31",
        no_kab="71", no_kec="1", no_kel="1001",
    )  # fmt: skip
    card_overrides: dict[str, object] = {}
    values = {f"{field}": value.encode() for field, value in text.items()}
    if differs:
        moved = f"GG. {run}{_token()} NO. 9"
        card_overrides = {"address": {"alamat": moved}}
        values["alamat (card)"] = moved.encode()
    person = Person.model_validate(
        {
            "key": f"canary-{index}",
            "nik": nik,
            "no_kk": f"3171012001{secrets.randbelow(10**6):06d}",
            "nama_lgkp": text["nama_lengkap"],
            "jenis_klmin": "PEREMPUAN" if index % 2 else "LAKI-LAKI",
            "tmpt_lhr": text["tempat_lahir"],
            "tgl_lhr": born,
            "status_kawin": "KAWIN",
            "jenis_pkrjn": "KARYAWAN SWASTA",
            "nama_lgkp_ibu": text["nama_ibu_kandung"],
            "nama_lgkp_ayah": text["nama_ayah"],
            "agama": "ISLAM",
            "gol_darah": "O",
            "pddk_akh": "SLTA/SEDERAJAT",
            "stat_hbkel": "KEPALA KELUARGA",
            "kewarganegaraan": "WNI",
            "address": address.model_dump(),
            "photo": str(photo.resolve()),  # absolute: PHOTO_DIR / an absolute path is the path
            "card": {
                "tempat_terbit": "KOTA KANARI",
                "tanggal_terbit": "2015-01-01",
                "berlaku_hingga": "SEUMUR HIDUP",
                "overrides": card_overrides,
            }
            if has_card
            else None,
            "registry": {"status": status},
        }
    )
    values = {f"{person.key} {label}": value for label, value in values.items()}
    values[f"{person.key} nik"] = nik.encode()
    values[f"{person.key} photo"] = marker
    return Canary(person, values)


@dataclass(frozen=True, slots=True)
class Needle:
    label: str  # which value ("canary-2 nama_ibu_kandung")
    form: str  # plain, lower, url, hex, HEX, base64, base64url
    data: bytes


def _base64_fragments(value: bytes, encode: Callable[[bytes], bytes]) -> Iterator[bytes]:
    """The part of the base64 text that depends only on `value`, at each of three alignments."""
    for pad in range(3):
        encoded = encode(bytes(pad) + value)
        start = (pad * 4 + 2) // 3
        end = (pad + len(value)) // 3 * 4
        yield encoded[start:end]


def needles_for(values: dict[str, bytes]) -> list[Needle]:
    """The forms each value is searched in."""
    found: list[Needle] = []
    for label, value in values.items():
        found.append(Needle(label, "plain", value))
        if value.upper() != value.lower():
            found.append(Needle(label, "lower", value.lower()))
        quoted = urllib.parse.quote_from_bytes(value).encode()
        if quoted != value:
            found += [
                Needle(label, "url", quoted),
                Needle(label, "url+", quoted.replace(b"%20", b"+")),
            ]
        if len(value) < MIN_ENCODED_BYTES:
            continue
        found += [
            Needle(label, "hex", value.hex().encode()),
            Needle(label, "HEX", value.hex().upper().encode()),
        ]
        for form, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            found += [
                Needle(label, form, fragment) for fragment in _base64_fragments(value, encode)
            ]
    return _unique(found)


def _unique(needles: list[Needle]) -> list[Needle]:
    seen: set[bytes] = set()
    out = []
    for needle in needles:
        if needle.data not in seen:
            seen.add(needle.data)
            out.append(needle)
    return out


@dataclass(frozen=True, slots=True)
class Place:
    """Somewhere the gateway could have written: directories (optionally only files changed
    since a time, minus exclusions) and/or captured texts (responses, log output)."""

    name: str
    paths: tuple[Path, ...] = ()
    texts: tuple[tuple[str, bytes], ...] = ()
    changed_since: float | None = None
    exclude: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    place: str
    where: str
    needle: str
    form: str

    def __str__(self) -> str:
        return f"{self.place}: {self.needle} ({self.form}) in {self.where}"


@dataclass(slots=True)
class SearchResult:
    places: list[str] = field(default_factory=list)
    files: int = 0
    texts: int = 0
    bytes: int = 0
    needles: int = 0
    values: int = 0
    hits: list[Hit] = field(default_factory=list)


def _files(place: Place) -> Iterator[Path]:
    excluded = tuple(str(path.resolve()) for path in place.exclude)
    for root in place.paths:
        if root.is_file():
            yield root
            continue
        for directory, dirs, files in os.walk(root):
            if directory.startswith(excluded):
                dirs[:] = []
                continue
            for name in files:
                path = Path(directory, name)
                if str(path.resolve()).startswith(excluded):
                    continue
                yield path


def _read(path: Path, changed_since: float | None) -> bytes | None:
    try:
        stat = path.lstat()
        if not path.is_file() or path.is_symlink():
            return None
        if changed_since is not None and max(stat.st_mtime, stat.st_ctime) < changed_since:
            return None
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES)
    except OSError:
        return None  # vanished or unreadable (another process's file): nothing the gateway left


def search(places: Iterable[Place], needles: list[Needle]) -> SearchResult:
    """Look for every needle in every place; a hit names the place, the file or item, the value."""
    result = SearchResult(needles=len(needles), values=len({n.label for n in needles}))
    for place in places:
        result.places.append(place.name)
        for path in _files(place):
            data = _read(path, place.changed_since)
            if data is None:
                continue
            result.files += 1
            result.bytes += len(data)
            result.hits += _hits(place.name, str(path), data, needles)
        for name, data in place.texts:
            result.texts += 1
            result.bytes += len(data)
            result.hits += _hits(place.name, name, data, needles)
    return result


def _hits(place: str, where: str, data: bytes, needles: list[Needle]) -> list[Hit]:
    return [Hit(place, where, n.label, n.form) for n in needles if n.data in data]

"""The operator guide and install guide stay true: every doctor check is explained, every link
goes to a file that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

from ktp_gateway.doctor.checks import DESK_FAMILIES, FAMILIES

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Lines the family steps write besides their own id (one per reader, or one per probe answer).
EXTRA_CHECKS = {
    "card", "sam", "sam_serial", "activation", "dukcapil_login", "clock", "dukcapil_tls",
}  # fmt: skip


def test_every_doctor_check_is_in_the_operator_guide() -> None:
    guide = (DOCS / "operator-guide.md").read_text(encoding="utf-8")
    families = (*FAMILIES, *DESK_FAMILIES)
    checks = {step.check for family in families for step in family} - {"slots"} | EXTRA_CHECKS
    assert [c for c in sorted(checks) if f"| `{c}`" not in guide] == []


def test_links_in_the_guides_resolve() -> None:
    for name in ("operator-guide.md", "install.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
        assert targets
        missing = [t for t in targets if not (DOCS / t).exists()]
        assert missing == [], name

"""The certificate's subject (CN, O, OU, E) as it will be written, from cleaned answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

QUALIFICATION_PREFIXES = {"JFBA", "CPA", "ACT1", "ACT2", "REA"}


@dataclass(frozen=True)
class Subject:
    cn: str
    o: str
    ous: tuple[str, ...]
    e: str

    def lines(self) -> list[tuple[str, str]]:
        """(attribute, value) in the certificate's order; absent attributes left out."""
        rows = [("CN", self.cn)]
        if self.o:
            rows.append(("O", self.o))
        rows.extend(("OU", ou) for ou in self.ous)
        if self.e:
            rows.append(("E", self.e))
        return rows


def common_name(given_roman: str, family_roman: str) -> str:
    return " ".join(part for part in (given_roman, family_roman) if part)


def subject_of(cleaned: Mapping[str, str]) -> Subject:
    """What goes into the certificate. Fields still invalid or empty are simply left out."""
    ous: list[str] = []
    organization = ""
    if cleaned.get("include_org") == "yes":
        organization = cleaned.get("org_name_en", "")
        if cleaned.get("corporate_number"):
            ous.append(f"CN-{cleaned['corporate_number']}")
    qualification = cleaned.get("qualification", "")
    if qualification in QUALIFICATION_PREFIXES and cleaned.get("qualification_number"):
        ous.append(f"{qualification}-{cleaned['qualification_number']}")
    return Subject(
        cn=common_name(cleaned.get("given_name_roman", ""), cleaned.get("family_name_roman", "")),
        o=organization,
        ous=tuple(ous),
        e=cleaned.get("cert_email", ""),
    )

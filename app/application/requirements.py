"""Which identity documents an application needs, by case. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.i18n import _

ID_FRONT = "id_front"
ID_BACK = "id_back"
EMPLOYMENT = "employment"
QUALIFICATION = "qualification"
OTHER = "other"
KINDS = (ID_FRONT, ID_BACK, EMPLOYMENT, QUALIFICATION, OTHER)


def kind_label(kind: str) -> str:
    return {
        ID_FRONT: _("本人確認書類（表面）"),
        ID_BACK: _("本人確認書類（裏面）"),
        EMPLOYMENT: _("在籍を証明する書類"),
        QUALIFICATION: _("資格を証明する書類"),
        OTHER: _("その他の書類"),
    }.get(kind, _("その他の書類"))


def required_kinds(cleaned: Mapping[str, str]) -> list[str]:
    kinds = [ID_FRONT]
    if cleaned.get("include_org") == "yes":
        kinds.append(EMPLOYMENT)
    if cleaned.get("qualification") not in (None, "", "none"):
        kinds.append(QUALIFICATION)
    return kinds


def requirement_notes(cleaned: Mapping[str, str]) -> list[str]:
    """What to upload in this case, in plain words, for the documents page."""
    notes = [
        _(
            "本人確認書類（運転免許証、パスポート、マイナンバーカードなど）の写しの表面と裏面。"
            "裏面に記載のない書類は表面のみで構いません。"
        ),
        _("マイナンバーカードは表面のみをアップロードしてください（裏面の個人番号は不要です）。"),
    ]
    if cleaned.get("include_org") == "yes":
        notes.append(
            _(
                "証明書に組織名を記載するため、その組織への在籍を証明する書類"
                "（在籍証明書、社員証の写しなど）。"
            )
        )
    if cleaned.get("qualification") not in (None, "", "none"):
        notes.append(_("資格を証明する書類（資格者証、登録証の写しなど）。"))
    return notes


def missing_documents(cleaned: Mapping[str, str], documents: Sequence[Mapping[str, Any]]) -> str:
    """'' when every required kind has a document; otherwise what is missing, in Japanese."""
    present = {str(d.get("kind")) for d in documents}
    missing = [kind_label(k) for k in required_kinds(cleaned) if k not in present]
    if not missing:
        return ""
    return _("次の書類をアップロードしてください: {kinds}").format(kinds="、".join(missing))

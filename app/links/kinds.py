"""A kind of emailed link: its address, its table, where the session keeps it."""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.table import Table

from app.links.tokens import LinkState


@dataclass(frozen=True)
class LinkKind:
    """`/{name}/t/<token>` is exchanged for the token-free `landing` page, the token row's id
    is kept in the session under `session_key`, and `/{name}/link/<state>` explains a link
    that cannot be used."""

    name: str
    table: type[Table]
    session_key: str
    landing: str

    def url(self, base_url: str, token: str) -> str:
        """The address that goes into the mail (the only place the raw token is written)."""
        return f"{base_url}/{self.name}/t/{token}"

    def state_path(self, state: LinkState | str) -> str:
        value = state.value if isinstance(state, LinkState) else state
        return f"/{self.name}/link/{value}"

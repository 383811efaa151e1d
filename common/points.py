"""What the store holds: a point per embedded item, and a search hit."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["alert", "chat"]


class Point(BaseModel):
    """One embedded item; `id` is a uuid5 of its dedup key, so a re-store overwrites."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    vector: list[float]
    payload: dict[str, Any]


class Hit(BaseModel):
    """One ranked search match with its stored payload."""

    id: str
    score: float
    kind: Kind
    payload: dict[str, Any]

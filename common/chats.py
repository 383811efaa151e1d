"""The chat batch accepted by `POST /v1/chats`."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant", "system"]


class ChatMessage(BaseModel):
    """One message of a conversation."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    role: Role
    text: str = Field(max_length=1_000_000)
    created_at: datetime


class Conversation(BaseModel):
    """A conversation and the messages of it being sent now."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=1000)
    messages: list[ChatMessage] = Field(max_length=10_000)


class ChatBatch(BaseModel):
    """A batch of conversations from one source (LibreChat)."""

    model_config = ConfigDict(extra="ignore")

    source: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    conversations: list[Conversation] = Field(max_length=1_000)

"""`POST /v1/chats/known`: which chat messages this deployment already accepted, as they are now.

The answer is the gateway's own dedup state (`cortex:seen:<message key>`, the content hash it
last accepted), so a client that asks before it sends keeps no checkpoint of its own: nothing
left in another Redis, or by another deployment, can make it skip a message.
"""

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from common import keys
from common.items import chat_key
from gateway.auth import check_token
from gateway.body import parse, read_body
from gateway.errors import JSONBody
from gateway.state import State

PATH = "/v1/chats/known"
# Messages per lookup: one pipelined round trip of this many commands keeps Redis responsive.
MAX_MESSAGES = 1000

router = APIRouter()


class KnownMessage(BaseModel):
    """One message as the client holds it: its ids and the content hash of its role and text."""

    model_config = ConfigDict(extra="ignore")

    conversation_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    content_hash: str = Field(pattern=r"^[0-9a-f]{16}$")


class KnownQuery(BaseModel):
    """Messages of one source to look up, at most `MAX_MESSAGES`."""

    model_config = ConfigDict(extra="ignore")

    source: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    messages: list[KnownMessage] = Field(max_length=MAX_MESSAGES)


@router.post(PATH)
async def known_chats(request: Request) -> JSONBody:
    """200 with `known`: per message, in order, whether it was accepted with that content hash.

    Asking keeps a held message remembered as long as posting it again would (its dedup TTL
    is renewed), so a message skipped because it is known never expires unnoticed.
    """
    state: State = request.app.state.cortex
    settings = state.settings
    check_token(request, settings.webhook_token)
    query = parse(KnownQuery, await read_body(request, limit=settings.max_body_bytes))
    if not query.messages:
        return JSONBody({"known": []})
    pipe = state.redis.pipeline(transaction=False)
    for m in query.messages:
        seen = keys.seen(chat_key(query.source, m.conversation_id, m.message_id))
        pipe.getex(seen, ex=settings.chat_dedup_ttl_s)
    held = await pipe.execute()
    known = [
        value == m.content_hash.encode() for value, m in zip(held, query.messages, strict=True)
    ]
    return JSONBody({"known": known})

"""Qdrant client exceptions mapped to the cortex hierarchy: retry (TransientError) or fail now."""

import grpc  # type: ignore[import-untyped]
import httpx
from qdrant_client.common.client_exceptions import QdrantException
from qdrant_client.http.exceptions import ApiException, UnexpectedResponse

from common.errors import CortexError, PermanentError, TransientError

BACKEND_ERRORS = (ApiException, QdrantException, httpx.HTTPError, grpc.RpcError, OSError)
BAD_INPUT_ERRORS = (ValueError, RuntimeError)
_TRANSIENT_GRPC_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)


def translate(exc: Exception) -> CortexError:
    """Map a client exception to TransientError (retry) or PermanentError (fail now)."""
    if isinstance(exc, UnexpectedResponse):
        status = exc.status_code or 0
        if status >= 500 or status in (408, 429):
            return TransientError(f"Qdrant answered {status}: {exc}")
        return PermanentError(f"Qdrant rejected the request ({status}): {exc}")
    if isinstance(exc, grpc.RpcError):
        code = exc.code() if isinstance(exc, grpc.Call) else None
        if code is not None and code not in _TRANSIENT_GRPC_CODES:
            return PermanentError(f"Qdrant rejected the request ({code}): {exc}")
        return TransientError(f"Qdrant gRPC call failed: {exc}")
    if isinstance(exc, BAD_INPUT_ERRORS):
        return PermanentError(f"Qdrant rejected the request: {exc}")
    return TransientError(f"Qdrant unreachable or failing: {exc}")

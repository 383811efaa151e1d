"""The one error hierarchy: transient failures are retried, permanent ones dead-lettered."""


class CortexError(Exception):
    """Base of every error cluster-cortex raises on purpose."""


class TransientError(CortexError):
    """The operation may succeed later: a timeout, a refused connection, a 5xx."""


class PermanentError(CortexError):
    """Retrying cannot help: bad input, a 4xx, a model or dimension mismatch."""


class ConfigurationError(PermanentError):
    """The deployment is inconsistent with stored data (a changed model or dimension)."""


class BackendOverloaded(TransientError):
    """The backend said it is overloaded (429, 503) or did not answer in time."""


class Shed(TransientError):
    """The guard refused the call before anything was sent to the backend."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

"""The collection: created once with its model and dimension in its own metadata, checked at start.

The metadata is written atomically with the creation, so a collection can never hold vectors
of two models: a worker configured for another model or dimension refuses to start.
"""

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from common.errors import ConfigurationError

MODEL_KEY = "cortex_model"
DIM_KEY = "cortex_dim"


def create_collection(client: QdrantClient, name: str, *, dim: int, model: str) -> None:
    """Create the collection; losing a creation race to another caller is success."""
    try:
        client.create_collection(
            name,
            vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            metadata={MODEL_KEY: model, DIM_KEY: dim},
        )
    except ValueError:
        # Local mode reports "already exists" as ValueError, as it does bad input.
        if not client.collection_exists(name):
            raise
    except UnexpectedResponse as exc:
        if exc.status_code != 409:  # a server reports a lost creation race as 409
            raise


def check_recorded(info: models.CollectionInfo, name: str, *, dim: int, model: str) -> None:
    """Raise ConfigurationError unless the collection was built with this model and dim."""
    old_dim = vector_size(info)
    metadata = info.config.metadata or {}
    old_model = metadata.get(MODEL_KEY)
    if old_dim == dim and old_model == model:
        return
    hint = "" if old_model else " (none recorded: not created by cluster-cortex?)"
    raise ConfigurationError(
        f"Qdrant collection {name!r} holds vectors of model {old_model!r}"
        f"{hint} with dim {old_dim}, but the configured embedder is {model!r} with dim"
        f" {dim}; set CORTEX_COLLECTION to a new name or re-embed, never mix two models"
    )


def vector_size(info: models.CollectionInfo) -> int | None:
    """Return the collection's single unnamed vector size, None if it uses named vectors."""
    vectors = info.config.params.vectors
    return vectors.size if isinstance(vectors, models.VectorParams) else None

"""The collection: created once with its model, dimension and text version in its own metadata.

The metadata is written atomically with the creation, so a collection can never hold vectors
of two models: a worker configured for another model or dimension refuses to start. Besides
the unnamed dense vector, every point has a named BM25 sparse vector (`SPARSE`) with Qdrant's
IDF modifier. A collection without it (made before hybrid search), or indexed from another
text version (`common.text.TEXT_VERSION`), is upgraded by `cortex reindex`: the start-up check
says so, instead of failing on the first search.
"""

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from common.errors import ConfigurationError
from common.text import TEXT_VERSION

MODEL_KEY = "cortex_model"
DIM_KEY = "cortex_dim"
TEXT_KEY = "cortex_text"
SPARSE = "bm25"
# Where `cortex reindex` builds the upgraded copy; while it exists, a reindex is unfinished.
REINDEX_SUFFIX = "-reindex"
_REINDEX_HINT = (
    "stop the store worker (and `cortex dev`) and run `cortex reindex`: it adds BM25 vectors"
    " computed from the stored payloads, keeps the dense vectors, and calls no embedder"
)


def reindex_name(name: str) -> str:
    """The name of the copy `cortex reindex` builds of collection `name`."""
    return name + REINDEX_SUFFIX


def create_collection(
    client: QdrantClient, name: str, *, dim: int, model: str, distance: str = "Cosine"
) -> None:
    """Create the collection (dense + BM25); losing a creation race to another caller is success."""
    try:
        client.create_collection(
            name,
            vectors_config=models.VectorParams(size=dim, distance=models.Distance(distance)),
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            metadata={MODEL_KEY: model, DIM_KEY: dim, TEXT_KEY: TEXT_VERSION},
        )
    except ValueError:
        # Local mode reports "already exists" as ValueError, as it does bad input.
        if not client.collection_exists(name):
            raise
    except UnexpectedResponse as exc:
        if exc.status_code != 409:  # a server reports a lost creation race as 409
            raise


def check_recorded(info: models.CollectionInfo, name: str, *, dim: int, model: str) -> None:
    """Raise ConfigurationError unless the collection was built with this model and dim.

    Then, a collection of this model but without BM25 vectors or of another text version is
    an upgrade to make: ConfigurationError naming `cortex reindex`.
    """
    old_dim = vector_size(info)
    metadata = info.config.metadata or {}
    old_model = metadata.get(MODEL_KEY)
    if old_dim != dim or old_model != model:
        hint = "" if old_model else " (none recorded: not created by cluster-cortex?)"
        raise ConfigurationError(
            f"Qdrant collection {name!r} holds vectors of model {old_model!r}"
            f"{hint} with dim {old_dim}, but the configured embedder is {model!r} with dim"
            f" {dim}; set CORTEX_COLLECTION to a new name or re-embed, never mix two models"
        )
    if not has_sparse(info):
        raise ConfigurationError(
            f"Qdrant collection {name!r} has no BM25 sparse vectors (created before hybrid"
            f" search); {_REINDEX_HINT}"
        )
    if metadata.get(TEXT_KEY) != TEXT_VERSION:
        raise ConfigurationError(
            f"Qdrant collection {name!r} is indexed from text version"
            f" {metadata.get(TEXT_KEY)!r}, this release from {TEXT_VERSION}; {_REINDEX_HINT}"
        )


def unfinished_reindex(name: str) -> ConfigurationError:
    """The error for a collection whose `cortex reindex` stopped halfway."""
    return ConfigurationError(
        f"a `cortex reindex` of Qdrant collection {name!r} is unfinished (collection"
        f" {reindex_name(name)!r} exists); run `cortex reindex` again to complete it"
    )


def has_sparse(info: models.CollectionInfo) -> bool:
    """Whether the collection has the BM25 sparse vector with Qdrant's IDF modifier."""
    params = (info.config.params.sparse_vectors or {}).get(SPARSE)
    return params is not None and params.modifier == models.Modifier.IDF


def is_current(info: models.CollectionInfo) -> bool:
    """Whether the collection needs no reindex: BM25 vectors of this release's text version."""
    return has_sparse(info) and (info.config.metadata or {}).get(TEXT_KEY) == TEXT_VERSION


def vector_size(info: models.CollectionInfo) -> int | None:
    """Return the collection's single unnamed vector size, None if it uses named vectors."""
    vectors = info.config.params.vectors
    return vectors.size if isinstance(vectors, models.VectorParams) else None

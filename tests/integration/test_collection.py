"""A changed model or dimension stops the store worker at start-up instead of mixing vectors."""

import pytest

from tests.support.stack import Stack


def test_changed_dimension_is_a_start_up_error(make_stack: type[Stack]) -> None:
    first = make_stack()
    first.worker("store").stop()

    changed = make_stack(CORTEX_EMBED_DIM="384")
    with pytest.raises(RuntimeError) as exited:
        changed.worker("store", name="store-384")
    assert "384" in str(exited.value) and "768" in str(exited.value)
    assert "CORTEX_COLLECTION" in str(exited.value)


def test_changed_model_is_a_start_up_error(make_stack: type[Stack]) -> None:
    make_stack().worker("store").stop()
    changed = make_stack(CORTEX_EMBED_MODEL="mxbai-embed-large")
    with pytest.raises(RuntimeError) as exited:
        changed.worker("store", name="store-mxbai")
    assert "mxbai-embed-large" in str(exited.value) and "nomic-embed-text" in str(exited.value)

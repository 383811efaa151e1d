"""What every refused request must look like: the status, a JSON body naming the problem."""

from typing import Any

import requests


def assert_error(response: requests.Response, status: int) -> dict[str, Any]:
    """Assert an error answer (status, JSON with `error`, no traceback); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] and "Traceback" not in response.text
    return body

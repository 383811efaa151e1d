"""The import contracts in pyproject.toml cover every module and package they are about.

`lint-imports` (run by the test command) checks the contracts; these tests check that a
module added to `common/` is not silently outside the shared contract's list, and that every
package says in its docstring what it is for.
"""

import importlib
import pkgutil
import tomllib
from pathlib import Path

import common

ROOT = Path(__file__).resolve().parents[1]
# Entry points, not contract: `python -m common` runs the CLI.
NOT_CONTRACT = {"__main__"}


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_every_module_of_common_itself_is_in_the_shared_contract() -> None:
    modules = {m.name for m in pkgutil.iter_modules(common.__path__) if not m.ispkg}
    listed = {name.removeprefix("common.") for name in _contracts()["contract"]["source_modules"]}
    assert modules - NOT_CONTRACT == listed


def test_every_sub_package_of_common_is_named_in_a_contract() -> None:
    packages = {f"common.{m.name}" for m in pkgutil.iter_modules(common.__path__) if m.ispkg}
    assert packages <= set(_contracts()["contract"]["forbidden_modules"])


def test_every_package_says_what_it_is_for() -> None:
    for init in sorted(ROOT.glob("[cgw]*/**/__init__.py")):
        name = ".".join(init.relative_to(ROOT).parent.parts)
        doc = importlib.import_module(name).__doc__ or ""
        assert len(doc.split()) >= 8, f"{name}: its __init__ docstring should say what it holds"

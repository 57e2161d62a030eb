"""The layers of DESIGN.md hold: components (the domain) build on providers (the wire); providers never
know the domain; the twins stand apart from both, as the appliances do; nothing the product ships
imports test code. Checked on the imports of every module, including imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Top-level package -> the packages it must never import.
FORBIDDEN = {
    "components": {"emulators", "tests"},
    "providers": {"components", "emulators", "tests"},
    "emulators": {"components", "providers", "tests"},
    "__main__": {"emulators", "tests"},
    # operations on deployed stacks (the drift report) use the product, never the twins or the tests
    "ops": {"emulators", "tests"},
}


def _modules(package: str) -> list[Path]:
    if package == "__main__":
        return [ROOT / "__main__.py"]
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value)))
            elif isinstance(first, ast.JoinedStr):
                found.append((node.lineno, ast.unparse(first).strip("f'\"")))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_layer_imports_what_it_must_not(package: str) -> None:
    breaches = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in _modules(package)
        for line, module in _imports(path)
        if module.split(".")[0] in FORBIDDEN[package]
    ]
    assert not breaches, "\n".join(breaches)


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from tests.e2e import conftest\n    import emulators.f5\n")
    assert [m for _, m in _imports(probe)] == ["tests.e2e", "emulators.f5"]

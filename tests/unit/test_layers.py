"""Imports run one way: app -> oversight -> {wellness, evaluations, notices} -> core.

The kernel (core/: database, clock, audit log, accounts, the outbox and the scheduler)
knows no domain; a domain knows the kernel but neither the app nor another domain, nor
oversight. Oversight (the command role's figures and reports) reads the domains it counts
and is read by nothing but the app.
Read from the source (ast), so an import inside a function counts as much as one at
the top of a file.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "core"
DOMAINS = ("wellness", "evaluations", "notices")
OVERSIGHT = "oversight"
APP = "app"


def imported_modules(root: Path, path: Path, package: str):
    """(line, module) for every import in one file; relative imports made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # The package the file is in: `from . import x` in core/services/a.py means core.services.x.
    here = [package, *path.relative_to(root / package).parent.parts]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if not node.level:
                yield node.lineno, node.module
                continue
            base = here[:len(here) - node.level + 1]
            if node.module:
                yield node.lineno, ".".join([*base, node.module])
            else:
                for alias in node.names:
                    yield node.lineno, ".".join([*base, alias.name])


def forbidden_for(package: str) -> set[str]:
    if package == KERNEL:
        return {*DOMAINS, OVERSIGHT, APP}
    if package == OVERSIGHT:
        return {APP}
    return {APP, OVERSIGHT, *(d for d in DOMAINS if d != package)}


def upward_imports(root: Path = ROOT) -> list[str]:
    problems = []
    for package in (KERNEL, *DOMAINS, OVERSIGHT):
        forbidden = forbidden_for(package)
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imported_modules(root, path, package):
                top = module.split(".")[0]
                if top in forbidden:
                    problems.append(f"{path.relative_to(root)}:{line}: {package} imports {module}")
    return problems


def test_imports_run_one_way_app_then_domains_then_the_kernel():
    assert upward_imports() == []


def test_every_layer_is_read():
    # The check is only as good as the files it reads: each package is there and has modules.
    for package in (KERNEL, *DOMAINS, OVERSIGHT):
        assert list((ROOT / package).rglob("*.py")), package


def test_an_upward_or_sideways_import_is_named_with_its_file_and_line(tmp_path):
    for package, source in {"core": "import os\nfrom wellness.services import reminders\n",
                            "wellness": "def f():\n    from evaluations import rules\n",
                            "notices": "import app\n",
                            "evaluations": "from core.models import User\n"}.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "mod.py").write_text(source)
    (tmp_path / "wellness" / "ok.py").write_text("from core import clock\nfrom wellness import rules\n")
    (tmp_path / "notices" / "__init__.py").write_text("from . import mod\nfrom .. import app\n")
    assert upward_imports(tmp_path) == [
        "core/mod.py:2: core imports wellness.services",
        "wellness/mod.py:2: wellness imports evaluations",
        "notices/__init__.py:2: notices imports app",
        "notices/mod.py:1: notices imports app",
    ]

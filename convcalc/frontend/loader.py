"""Imports, resolved without importing anything.

``import`` statements of analysed code resolve to: keras / tensorflow names (modelled,
:mod:`convcalc.frontend.keras_api`); modules of the user's own project, read from
source next to the analysed file (relative imports within its package too); parts of
the installed keras package that are not modelled (``keras.applications``), read from
that package's own ``.py`` files, found on ``sys.path`` without importing keras; a few
modelled library modules (math, numpy...). Any other module is unknown.
"""

from __future__ import annotations

import ast
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcalc import rules
from convcalc.frontend import keras_api, pylibs
from convcalc.frontend.scopes import Frame
from convcalc.frontend.values import (
    KerasRef,
    LayerClass,
    ModuleObj,
    PyModule,
    Unknown,
)
from convcalc.layers import catalogue

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter

KERAS_ROOTS = ("keras", "tensorflow", "tf", "tf_keras")


class SourceTooLarge(Exception):
    """A source file is larger than the budget allows."""


@lru_cache(maxsize=1)
def keras_package_dir() -> Path | None:
    """The installed keras package directory, found on ``sys.path`` (not imported)."""
    for entry in sys.path:
        try:
            candidate = Path(entry or ".") / "keras"
            if (candidate / "__init__.py").is_file() and (candidate / "src").is_dir():
                return candidate.resolve()
        except OSError:
            continue
    return None


@lru_cache(maxsize=256)
def _parse_cached(path: str, mtime: int, size: int) -> ast.Module:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return ast.parse(text, filename=path)


def parse_file(path: Path, limit: int) -> ast.Module:
    """Parse a source file (cached while it does not change)."""
    st = path.stat()
    if st.st_size > limit:
        raise SourceTooLarge(f"{path} is {st.st_size:,} bytes (limit {limit:,})")
    return _parse_cached(str(path), st.st_mtime_ns, st.st_size)


def _import_only(tree: ast.Module) -> dict[str, ast.stmt] | None:
    """For a module made only of imports (a generated API module): name -> statement."""
    out: dict[str, ast.stmt] = {}
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and i == 0:
            continue
        if isinstance(stmt, ast.ImportFrom) and stmt.module != "__future__":
            for a in stmt.names:
                if a.name == "*":
                    return None
                out[a.asname or a.name] = stmt
        elif isinstance(stmt, ast.Import):
            for a in stmt.names:
                out[a.asname or a.name.split(".")[0]] = stmt
        elif isinstance(stmt, ast.ImportFrom):
            continue
        else:
            return None
    return out


class Loader:
    """Finds and runs the modules an analysed program imports."""

    def __init__(self, main: ModuleObj | None, roots: list[Path]) -> None:
        self.main = main
        self.roots = roots
        self.modules: dict[str, ModuleObj] = {}
        """Loaded source modules by resolved file path."""
        self.count = 0

    # ------------------------------------------------------------ import
    def import_module(self, it: Interpreter, dotted: str, level: int, frame: Frame,
                      node: ast.AST) -> Any:
        """The value ``import <dotted>`` (or ``from <dotted> import ...``) refers to."""
        if level:
            base = frame.module.package.split(".") if frame.module.package else []
            if level > 1:
                base = base[: len(base) - (level - 1)]
            full = ".".join([*base, dotted] if dotted else base)
            found = self._user_module(it, full, node)
            if found is not None:
                return found
            return Unknown(f"module {'.' * level}{dotted}")
        top = dotted.split(".")[0]
        if top in KERAS_ROOTS:
            return keras_api.import_keras(it, dotted, node)
        found = self._user_module(it, dotted, node)
        if found is not None:
            return found
        module = pylibs.py_module(dotted)
        if module is not None:
            return module
        return Unknown(f"module {dotted}", dotted.split(".")[-1])

    def import_from(self, it: Interpreter, module: Any, name: str, node: ast.AST) -> Any:
        """``from module import name``."""
        if isinstance(module, ModuleObj):
            if name in module.namespace:
                return module.namespace[name]
            if module.lazy and name in module.lazy:
                return self.lazy_member(it, module, name)
            sub = self._submodule(it, module, name, node)
            if sub is not None:
                return sub
            it.raise_py("ImportError", f"cannot import name {name!r} from {module.name!r}",
                        node)
        if isinstance(module, KerasRef):
            return keras_api.keras_attr(it, module, name, node)
        if isinstance(module, PyModule):
            if name in module.members:
                return module.members[name]
            sub = pylibs.py_module(f"{module.name}.{name}")
            return sub if sub is not None else Unknown(f"{module.name}.{name}", name)
        origin = module.origin if isinstance(module, Unknown) else repr(module)
        return Unknown(f"{name} from {origin}", name)

    def star_names(self, it: Interpreter, module: Any, node: ast.AST) -> dict[str, Any]:
        """The names ``from module import *`` binds."""
        if isinstance(module, ModuleObj):
            if module.lazy:
                for name in list(module.lazy):
                    self.lazy_member(it, module, name)
            names = module.namespace.get("__all__")
            if isinstance(names, (list, tuple)):
                return {n: module.namespace[n] for n in names
                        if isinstance(n, str) and n in module.namespace}
            return {k: v for k, v in module.namespace.items() if not k.startswith("_")}
        if isinstance(module, KerasRef):
            return self._keras_star(it, module, node)
        if isinstance(module, PyModule):
            return dict(module.members)
        frame = it.frame
        if frame is not None:
            frame.module.namespace["__star_unknown__"] = True
        return {}

    def _keras_star(self, it: Interpreter, module: KerasRef, node: ast.AST) -> dict[str, Any]:
        path = keras_api.canonical(module.path)
        out: dict[str, Any] = {}
        if len(path) >= 2 and path[1] in ("layers", "engine", "legacy"):
            for name in catalogue():
                value = keras_api.keras_attr(it, module, name, node)
                out[name] = value
            from convcalc.layers.base import REGISTRY

            for name in REGISTRY:
                out.setdefault(name, LayerClass(name, REGISTRY[name]))
            for name in (*keras_api.MERGE_FUNCTIONS, "Input"):
                out[name] = keras_api.keras_attr(it, module, name, node)
        elif len(path) >= 2 and path[1] == "models":
            for name in ("Model", "Sequential"):
                out[name] = keras_api.keras_attr(it, module, name, node)
        elif len(path) >= 2 and path[1] in ("backend", "config"):
            for name in keras_api._BACKEND:
                out[name] = keras_api._BACKEND[name]
        return out

    def module_attr(self, it: Interpreter, module: ModuleObj, name: str, node: Any) -> Any:
        """``module.name`` for a source module: lazy imports and submodules included."""
        if module.lazy and name in module.lazy:
            return self.lazy_member(it, module, name)
        sub = self._submodule(it, module, name, node)
        if sub is not None:
            return sub
        if module.name.startswith("keras"):
            return Unknown(f"{module.name}.{name}", name)
        it.raise_py("AttributeError", f"module {module.name!r} has no attribute {name!r}", node)
        return None

    def lazy_member(self, it: Interpreter, module: ModuleObj, name: str) -> Any:
        """Run the one import statement of an import-only module that binds ``name``."""
        assert module.lazy is not None
        stmt = module.lazy.pop(name)
        it.run_in(module, lambda frame: it.exec_block([stmt], frame))
        for other, s in list(module.lazy.items()):
            if s is stmt:
                module.lazy.pop(other)
        if name in module.namespace:
            return module.namespace[name]
        return Unknown(f"{module.name}.{name}", name)

    def _submodule(self, it: Interpreter, module: ModuleObj, name: str, node: Any) -> Any:
        if not module.file.endswith("__init__.py"):
            return None
        full = f"{module.name}.{name}"
        if module.name.split(".")[0] == "keras":
            found: Any = self.keras_source_module(it, tuple(full.split(".")), node,
                                                  quiet=True)
        else:
            found = self._user_module(it, full, node)
        if isinstance(found, ModuleObj):
            module.namespace[name] = found
            return found
        return None

    # ------------------------------------------------------------ user modules
    def _user_module(self, it: Interpreter, dotted: str, node: Any) -> ModuleObj | None:
        if not dotted:
            return None
        parts = dotted.split(".")
        for root in self.roots:
            base = root.joinpath(*parts)
            for candidate in (base / "__init__.py", base.with_name(parts[-1] + ".py")):
                if candidate.is_file():
                    if self.main is not None and candidate.resolve() == Path(
                            self.main.file).resolve():
                        return self.main
                    if len(parts) > 1:
                        parent = self._user_module(it, ".".join(parts[:-1]), node)
                    else:
                        parent = None
                    module = self.load(it, dotted, candidate, node)
                    if not isinstance(module, ModuleObj):
                        return None
                    if parent is not None:
                        parent.namespace.setdefault(parts[-1], module)
                    return module
        return None

    # ------------------------------------------------------------ keras source
    def _keras_file(self, path: tuple[str, ...]) -> Path | None:
        root = keras_package_dir()
        if root is None:
            return None
        p = list(path)
        if p[0] in ("tensorflow", "tf") and len(p) > 1 and p[1] == "keras":
            p = ["keras", *p[2:]]
        elif p[0] == "tf_keras":
            p = ["keras", *p[1:]]
        while len(p) > 1 and p[1] in ("api", "_tf_keras"):
            del p[1]
            if len(p) > 1 and p[1] == "keras":
                del p[1]
        base = root.joinpath(*p[1:])
        if (base / "__init__.py").is_file():
            return base / "__init__.py"
        if len(p) > 1 and base.with_name(p[-1] + ".py").is_file():
            return base.with_name(p[-1] + ".py")
        return None

    def keras_source_module(self, it: Interpreter, path: tuple[str, ...], node: Any,
                            quiet: bool = False) -> Any:
        """A module of the installed keras package, read from its source."""
        file = self._keras_file(path)
        if file is None:
            if keras_package_dir() is None and not quiet:
                it.report(rules.MISSING_DEPENDENCY,
                          f"{'.'.join(path)} is read from the installed keras package's "
                          "source, and keras is not installed", node=node,
                          hint="Install keras (`pip install keras`); it is read, not run.")
            return Unknown(".".join(path), path[-1])
        dotted = ".".join(["keras", *self._relative_parts(file)])
        return self.load(it, dotted, file, node)

    def _relative_parts(self, file: Path) -> list[str]:
        root = keras_package_dir()
        assert root is not None
        rel = file.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        return parts

    def keras_source_member(self, it: Interpreter, path: tuple[str, ...], node: Any) -> Any:
        """``keras.applications.ResNet50`` and the like: a module, or a module member."""
        if self._keras_file(path) is not None:
            return self.keras_source_module(it, path, node)
        module = self.keras_source_module(it, path[:-1], node)
        if isinstance(module, ModuleObj):
            return self.import_from(it, module, path[-1], node)
        return Unknown(".".join(path), path[-1])

    # ------------------------------------------------------------ running
    def load(self, it: Interpreter, dotted: str, file: Path, node: Any) -> Any:
        """Read and run a source module once per analysis."""
        key = str(file.resolve())
        if key in self.modules:
            return self.modules[key]
        self.count += 1
        if self.count > it.limits.modules:
            it.budget(f"more than {it.limits.modules} modules imported", node)
        try:
            tree = parse_file(file, it.limits.source_bytes)
        except SourceTooLarge as e:
            it.report(rules.BUDGET_EXCEEDED, f"{e}; its contents are unknown", node=node)
            return Unknown(f"module {dotted}")
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError) as e:
            it.report(rules.UNKNOWN_VALUE,
                      f"module {dotted} ({file}) cannot be read ({type(e).__name__}); "
                      "its contents are unknown", node=node)
            return Unknown(f"module {dotted}")
        is_package = file.name == "__init__.py"
        package = dotted if is_package else dotted.rpartition(".")[0]
        module = ModuleObj(dotted, str(file), {"__name__": dotted, "__file__": str(file),
                                               "__doc__": ast.get_docstring(tree)},
                           package)
        self.modules[key] = module
        lazy = _import_only(tree)
        if lazy is not None:
            module.lazy = lazy
            return module
        it.run_module(module, tree)
        return module


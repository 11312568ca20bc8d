"""aiogram's Telegram types and methods, each built the first time it is used.

`aiogram.types` ends its import by calling `model_rebuild()` on each of its ~300
pydantic models, so importing anything from aiogram builds a validator and a
serializer for every type of the Bot API, each carrying the schemas of all the types
it nests (a `Message` nests most of them): about 128 MB of resident memory with
aiogram 3.31, 28 MB without that loop (a known aiogram issue, #1513). A bot that answers messages and button
presses uses a few dozen of them.

`import_aiogram()` imports aiogram with that loop deferred. Each model it would have
rebuilt keeps pydantic's own placeholder validator, which builds the model on its
first validation or serialization - pydantic's ordinary path for a model whose
references were not yet resolvable. What aiogram's loop would have added is kept:
the namespace of every Telegram type, which resolves the names aiogram's modules
import only for type checkers. It becomes the parent namespace of every aiogram
model not yet built (its types and its methods), where pydantic looks when it
builds the model and every model it nests; and its names are added to aiogram's
type and method modules (where they are missing: exactly the names those modules
import under TYPE_CHECKING), for models made later, such as `Response[Message]`.

If aiogram was imported before this ran, or no longer rebuilds its types this way,
everything is built as aiogram does it: slower to start and heavier, never wrong.
tests/test_telegram_models.py checks that models built on demand parse and
serialize Bot API traffic as the eagerly built ones, and have the same JSON schemas
(`Update`, which nests every type an update carries, and every method).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

# aiogram's types by name, once imported with their build deferred (empty otherwise)
_namespace: dict[str, Any] = {}


def import_aiogram() -> bool:
    """Import aiogram, leaving its models to be built on first use; True if deferred."""
    if "aiogram" in sys.modules:
        return bool(_namespace)
    original = BaseModel.__dict__["model_rebuild"]

    def remember(cls: type[BaseModel], *, force: bool = False, raise_errors: bool = True,
                 _parent_namespace_depth: int = 2,
                 _types_namespace: dict[str, Any] | None = None) -> bool | None:
        if _types_namespace is None or force or not cls.__module__.startswith("aiogram."):
            return original.__func__(  # type: ignore[no-any-return]
                cls, force=force, raise_errors=raise_errors,
                _parent_namespace_depth=_parent_namespace_depth + 1,
                _types_namespace=_types_namespace)
        _namespace.update(_types_namespace)
        return None

    BaseModel.model_rebuild = classmethod(remember)  # type: ignore[method-assign,assignment]
    try:
        import aiogram  # noqa: F401
        import aiogram.methods  # noqa: F401
        import aiogram.types  # noqa: F401
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
    if not _namespace:
        return False
    for model in aiogram_models():
        if not model.__pydantic_complete__ and model.__pydantic_parent_namespace__ is None:
            _give_namespace(model)
    # models made later from aiogram's (aiogram's session parses each Bot API answer
    # with `Response[T]`) look names up in the modules of the types they nest
    for name, module in list(sys.modules.items()):
        if name.startswith(("aiogram.types.", "aiogram.methods.")) and module is not None:
            for key, value in _namespace.items():
                module.__dict__.setdefault(key, value)
    return True


def aiogram_models() -> Iterator[type[BaseModel]]:
    """Every pydantic model class aiogram defines (parametrised generics left out)."""
    seen: set[type] = set()
    stack: list[type] = [BaseModel]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            stack.append(sub)
            if sub.__module__.startswith("aiogram.") and "[" not in sub.__name__:
                yield sub


def build(*models: type[BaseModel]) -> None:
    """Build these models now: at start-up, off the first user's answer, or a model
    made at run time from aiogram's, such as the `Response[Message]` that parses the
    Bot API's answer to sendMessage (its own namespace lacks the Telegram types)."""
    for model in models:
        if not model.__pydantic_complete__:
            _give_namespace(model)
            model.model_rebuild()


def _give_namespace(model: type[BaseModel]) -> None:
    """Where pydantic resolves the model's names (and those of the models it nests)."""
    if _namespace:
        model.__pydantic_parent_namespace__ = dict(_namespace)

"""Checked specs → generated source files, in memory: ``{relative path: text}``.

Rendering never touches the disk; :mod:`codegen.writer` decides what to write, which is
what makes ``--check`` and the drift test exact.
"""

from __future__ import annotations

import jinja2
import msgspec

from mailspec import vocabulary

from .context import ProviderContext
from .pysource import Verbatim, docstring, import_key, literal, names_in, string

__all__ = ["render_all", "render_provider"]

_FILES = ("__init__.py", "client.py", "codes.py", "models.py", "spec.py")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mailspec.codegen", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(py=string, docstring=docstring, literal=literal)
    return env


_ENV = _environment()


def render_provider(model: ProviderContext) -> dict[str, str]:
    spec = msgspec.structs.replace(model.spec, codes=Verbatim("CODES"))
    names = names_in(spec)
    vocab = sorted((n for n in names if hasattr(vocabulary, n)), key=import_key)
    context = {
        "m": model,
        "spec_vocab": vocab,
        "spec_model_names": sorted(names - set(vocab), key=import_key),
        "spec_source": literal(spec, 0, len("SPEC = ")),
    }
    return {
        f"{model.module}/{name}": _ENV.get_template(f"{name}.j2").render(context) for name in _FILES
    }


def render_all(models: list[ProviderContext], spec_dir_name: str) -> dict[str, str]:
    files: dict[str, str] = {}
    ordered = sorted(models, key=lambda m: m.module)
    for model in ordered:
        files.update(render_provider(model))
    # relative to the package, so that it imports under whatever name it is given
    providers = {m.spec.provider.name: f".{m.module}" for m in ordered}
    files["__init__.py"] = _ENV.get_template("providers.py.j2").render(
        providers=providers, spec_dir=spec_dir_name
    )
    return files

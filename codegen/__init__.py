"""The generator: spec YAML → spec model → checks → Jinja2 templates → files.

Nothing here is imported when sending mail; it needs the ``codegen`` extra
(``pip install mailspec[codegen]``).
"""

from .loader import SpecError, load_spec
from .writer import Drift, GenerateError, generate, render_dir

__all__ = ["Drift", "GenerateError", "SpecError", "generate", "load_spec", "render_dir"]

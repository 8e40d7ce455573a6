"""Versioned prompt template files.

Prompts are data, not code: each file ``templates/<name>.v<N>.md`` starts with a
``version: N`` line (checked against the file name, so a copied file cannot silently keep a
stale version) and is divided into named blocks by ``=== block ===`` lines. Placeholders
use ``string.Template`` syntax (``${name}``) so that braces in prompt text need no escaping.
The newest version of each template is used; the version travels with every PromptSpec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from lanhar_core.errors import PromptTemplateError

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

_FILE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.md$")
_BLOCK = re.compile(r"^=== (?P<block>[a-z_:0-9]+) ===$", re.M)


@dataclass(frozen=True)
class PromptTemplate:
    """One parsed template file: its name, version and named text blocks."""

    name: str
    version: str
    blocks: dict[str, str]
    path: Path

    @property
    def tag(self) -> str:
        """``name.vN``: how this template is referred to in a PromptSpec's version string."""
        return f"{self.name}.v{self.version}"

    def block(self, block: str) -> str:
        if block not in self.blocks:
            raise PromptTemplateError(
                f"template {self.path.name} has no '=== {block} ===' block (it has: {', '.join(self.blocks) or 'none'})"
            )
        return self.blocks[block]

    def render(self, block: str, **values: str) -> str:
        """Fill the placeholders of one block; a missing value is an error, not a silent gap."""
        try:
            return Template(self.block(block)).substitute(values)
        except KeyError as exc:
            raise PromptTemplateError(f"template {self.path.name}, block {block!r} needs a value for {exc}") from exc


def _parse(path: Path, name: str, version: str) -> PromptTemplate:
    text = path.read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    declared = re.fullmatch(r"version:\s*(\d+)\s*", first)
    if not declared:
        raise PromptTemplateError(f"{path} must start with a 'version: N' line, found {first[:60]!r}")
    if declared.group(1) != version:
        raise PromptTemplateError(f"{path} declares version {declared.group(1)} but its file name says v{version}; make them agree")
    parts = _BLOCK.split(body)
    blocks = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    if not blocks:
        raise PromptTemplateError(f"{path} has no '=== block ===' sections")
    return PromptTemplate(name=name, version=version, blocks=blocks, path=path)


@lru_cache(maxsize=64)
def load_template(name: str, directory: Path = TEMPLATE_DIR) -> PromptTemplate:
    """The newest version of template ``name`` in ``directory``."""
    versions = []
    for path in directory.glob(f"{name}.v*.md"):
        match = _FILE.match(path.name)
        if match and match.group("name") == name:
            versions.append((int(match.group("version")), path))
    if not versions:
        raise PromptTemplateError(f"no prompt template '{name}.v<N>.md' in {directory}; the installation is incomplete")
    version, path = max(versions)
    return _parse(path, name, str(version))

"""YAML reading that remembers where every value came from, for one-line PolicyErrors."""

from __future__ import annotations

from typing import Any

import yaml

from services.compliance.core.errors import PolicyError

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing aliases (``*name``): a policy has no use for them, and they
    make graphs, not trees: ``a: &a [*a]`` is a cycle, and a few hundred bytes of aliases of
    aliases expand to gigabytes (the "billion laughs")."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a policy file", event.start_mark
            )
        return super().compose_node(parent, index)


def load_located(text: str, file: str) -> tuple[Any, dict[Path, int]]:
    """Parse one YAML document; return the data and a map of path -> 1-based line number."""
    try:
        # The reader checks every character as the loader is made: inside the try.
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise _unreadable(exc, text, file) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError(file, 1, "", "empty document")
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(file, line, "", f"invalid YAML: {exc.problem or exc}") from None
    except yaml.reader.ReaderError as exc:
        raise _unreadable(exc, text, file) from None
    except RecursionError:
        raise PolicyError(file, None, "", "invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    _walk(node, (), lines, file)
    return data, lines


def _unreadable(exc: yaml.reader.ReaderError, text: str, file: str) -> PolicyError:
    """A character YAML does not allow (a control code): the line it is on."""
    line = text.count("\n", 0, exc.position) + 1
    char = exc.character
    shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
    return PolicyError(file, line, "", f"invalid YAML: {exc.reason} ({shown})")


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                # PyYAML keeps the last duplicate silently; in a policy that hides a mistake.
                raise PolicyError(file, key_node.start_mark.line + 1, key, "duplicate key")
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, file)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of the longest prefix of ``path`` that exists (a missing field -> its parent)."""
    for end in range(len(path), -1, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None

"""docs/hooks.md, rendered from :mod:`floe_hooks.hookspecs`: the docstrings are the one source.

``python -m floe_hooks._hookdoc docs/hooks.md`` rewrites the page; ``tests/docs`` fails
when the page differs from what this renders, so an edit to a hookspec's docstring (or
a new hook) is one regeneration away from the manual, and the page is never edited by
hand. The docstrings use a small reStructuredText subset, turned into Markdown here:
``literal``, :role:`~dotted.Name`, ``:param x:``, ``:return:``, ``:raises X:`` fields,
``*`` bullets and ``Example::`` blocks.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

from floe_hooks import hookspecs

__all__ = ["render", "main"]

_HEADER = """\
# Hook reference

<!-- Generated from the docstrings of floe_hooks/hookspecs.py by
     `python -m floe_hooks._hookdoc docs/hooks.md`: edit the docstrings, not this page.
     tests/docs/test_docs.py fails when the two differ. -->

One section per hook of [`floe_hooks.hookspecs`](../floe_hooks/hookspecs.py), titled
with its signature: the hookspecs' docstrings, as they are. When each hook fires in each
command is in [lifecycle.md](lifecycle.md); a plugin built step by step is in
[writing-plugins.md](writing-plugins.md).

"""

_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc):`(?P<body>[^`]+)`")
_FIELD = re.compile(r"^:(?P<kind>param|return|returns|raises)(?: (?P<name>[\w.]+))?:\s*(?P<text>.*)$")


def _role(match: re.Match[str]) -> str:
    body = match["body"]
    explicit = re.fullmatch(r"(?P<text>.+?)\s*<[^>]+>", body)
    if explicit:
        return f"`{explicit['text']}`"
    name = body.lstrip("~")
    return f"`{name.rsplit('.', 1)[-1] if body.startswith('~') else name}`"


def _inline(text: str) -> str:
    text = _ROLE.sub(_role, text)
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _blocks(doc: str) -> Iterator[tuple[str, str]]:
    """``("text", paragraph)``, ``("code", block)`` and ``("field", field)`` pieces of a docstring."""
    lines = inspect.cleandoc(doc).splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        if _FIELD.match(line):  # a field list item, with its indented continuation
            body = [line]
            index += 1
            while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
                body.append(lines[index])
                index += 1
            yield "field", "\n".join(body).rstrip()
            continue
        body = []
        while index < len(lines) and lines[index].strip() and not _FIELD.match(lines[index]):
            body.append(lines[index])
            index += 1
        paragraph = "\n".join(body)
        if paragraph.endswith("::"):
            intro = paragraph[:-2].rstrip()
            yield "text", intro + (":" if intro and not intro.endswith(":") else "")
            code = []
            while index < len(lines) and (not lines[index].strip() or lines[index].startswith(" ")):
                code.append(lines[index])
                index += 1
            yield "code", textwrap.dedent("\n".join(code)).strip("\n")
        else:
            yield "text", paragraph


def _text(paragraph: str) -> str:
    lines = []
    for line in paragraph.splitlines():
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped.startswith("* "):
            stripped = "- " + stripped[2:]
        lines.append(" " * indent + stripped)
    return _inline(textwrap.dedent("\n".join(lines)))


def _field(field: str, annotations: dict[str, str]) -> tuple[bool, str]:
    """``(is_an_argument, markdown)`` of one ``:param:``/``:return:``/``:raises:`` field."""
    first, _, rest = field.partition("\n")
    match = _FIELD.match(first)
    if match is None:
        return False, _text(field)
    body = _text("\n".join([match["text"], textwrap.dedent(rest)]).strip())
    kind, name = match["kind"], match["name"]
    if kind == "param":
        annotation = annotations.get(name or "")
        typed = f" (`{annotation}`)" if annotation else ""
        return True, f"- `{name}`{typed}: {body}"
    if kind in ("return", "returns"):
        return False, f"**Returns** {body}"
    return False, f"**Errors** (`{name}`): {body}" if name else f"**Errors:** {body}"


def _language(code: str) -> str:
    return "ini" if code.lstrip().startswith(("#", "[")) and "def " not in code else "python"


def markdown(doc: str, annotations: dict[str, str] | None = None) -> str:
    """The Markdown of one docstring; ``annotations`` give each argument's type."""
    out: list[str] = []
    arguments: list[str] = []

    def close() -> None:
        if arguments:
            out.append("**Arguments:**\n\n" + "\n".join(_indent_continuations(a) for a in arguments))
            arguments.clear()

    for kind, piece in _blocks(doc):
        if kind == "field":
            is_argument, rendered = _field(piece, annotations or {})
            if is_argument:
                arguments.append(rendered)
                continue
            close()
            out.append(rendered)
            continue
        close()
        out.append(f"```{_language(piece)}\n{piece}\n```" if kind == "code" else _text(piece))
    close()
    return "\n\n".join(out) + "\n"


def _indent_continuations(text: str) -> str:
    """Markdown list items keep their continuation lines indented by two spaces."""
    out = []
    in_item = False
    for line in text.splitlines():
        if line.startswith("- "):
            in_item = True
        elif not line.strip() or line.startswith(("**", "```", "#")):
            in_item = False
        elif in_item and not line.startswith(" "):
            line = "  " + line
        out.append(line)
    return "\n".join(out)


def _signature(name: str, function: Callable[..., Any]) -> str:
    signature = inspect.signature(function)
    args = ", ".join(signature.parameters)
    ret = signature.return_annotation
    ret = ret if isinstance(ret, str) else getattr(ret, "__name__", str(ret))
    return f"{name}({args}) -> {ret}"


def hook_names() -> list[str]:
    """The hooks, required ones first, in the order ``hookspecs`` lists them."""
    return [*hookspecs.REQUIRED_HOOKS, *hookspecs.OPTIONAL_HOOKS]


def render() -> str:
    """The whole of docs/hooks.md."""
    parts = [_HEADER]
    module_doc = markdown(hookspecs.__doc__ or "")
    parts.append("## Rules for every hook\n\n" + module_doc.split("\n\n", 1)[1] + "\n")
    rows = ["| hook | required | purpose |", "|---|---|---|"]
    for name in hook_names():
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        required = "yes" if name in hookspecs.REQUIRED_HOOKS else "no"
        rows.append(f"| [`{name}`](#{name}) | {required} | {_inline(doc.splitlines()[0])} |")
    parts.append("\n".join(rows) + "\n\n")
    for name in hook_names():
        function = getattr(hookspecs, name)
        parts.append(f"## {_signature(name, function)}\n\n")
        annotations = {
            arg: str(parameter.annotation)
            for arg, parameter in inspect.signature(function).parameters.items()
            if parameter.annotation is not inspect.Parameter.empty
        }
        parts.append(markdown(function.__doc__ or "", annotations) + "\n")
    return "".join(parts).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m floe_hooks._hookdoc [PATH]``: write the page to PATH (default: stdout)."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args:
        with open(args[0], "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

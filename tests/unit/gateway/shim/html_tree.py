"""A strict parse of the shim's pages for assertions: elements, attributes and their text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
}  # fmt: skip
URL_ATTRS = ("href", "src", "poster", "action", "formaction")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parent: Element | None
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def attr(self, name: str) -> str:
        value = self.attrs.get(name)
        assert value is not None, f"<{self.tag}> has no {name}"
        return value


class Tree(HTMLParser):
    """A strict-enough parse: every non-void tag must be closed, in order."""

    def __init__(self, document: str) -> None:
        # convert_charrefs=True hands us text already unescaped once (= html.unescape).
        super().__init__(convert_charrefs=True)
        self.decls: list[str] = []
        self.elements: list[Element] = []
        self.problems: list[str] = []
        self._open: list[Element] = []
        self.feed(document)
        self.close()
        if self._open:
            self.problems.append(f"never closed: {[e.tag for e in self._open]}")

    def handle_decl(self, decl: str) -> None:
        self.decls.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._open[-1] if self._open else None
        element = Element(tag, dict(attrs), parent)
        if len(attrs) != len(element.attrs):
            self.problems.append(f"duplicate attribute on <{tag}>")
        if parent is not None:
            parent.children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.problems.append(f"self-closed non-void <{tag}/>")
            self._open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void </{tag}>")
        elif not self._open or self._open[-1].tag != tag:
            expected = self._open[-1].tag if self._open else None
            self.problems.append(f"</{tag}> closes <{expected}>")
        else:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def one(self, tag: str) -> Element:
        found = self.all(tag)
        assert len(found) == 1, f"expected one <{tag}>, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one #{element_id}, found {len(found)}"
        return found[0]

    def share_codes(self) -> dict[str, str]:
        """Label text → contents of the textarea that label points at."""
        codes = {}
        for label in self.all("label"):
            control = self.by_id(label.attr("for"))
            assert control.tag == "textarea"
            codes[label.text.strip()] = control.text
        return codes

    def url_values(self) -> list[str]:
        return [v for e in self.elements for k, v in e.attrs.items() if k in URL_ATTRS and v]


def inside(element: Element, ancestor: Element) -> bool:
    node = element.parent
    while node is not None and node is not ancestor:
        node = node.parent
    return node is ancestor


def with_class(tree: Tree, tag: str, name: str) -> list[Element]:
    return [e for e in tree.all(tag) if name in (e.attrs.get("class") or "").split()]


def facts(tree: Tree) -> dict[str, str]:
    """The details list as term → text."""
    (dl,) = with_class(tree, "dl", "facts")
    terms = [c for c in dl.children if c.tag == "dt"]
    values = [c for c in dl.children if c.tag == "dd"]
    assert len(terms) == len(values)
    return {t.text: " ".join(v.text.split()) for t, v in zip(terms, values, strict=True)}


def parse(document: str) -> Tree:
    tree = Tree(document)
    assert tree.problems == []
    return tree


def page_text(tree: Tree) -> str:
    return " ".join(tree.one("body").text.split())

"""Sanitising of issuer and funder logos before a course is stored.

Logos arrive as inline SVG from partners and administrators, whom we trust to describe a course
but not to write markup that runs in other people's software. The stored logo is drawn into every
certificate PDF by Typst and shown on the public HTML verification page, so it must hold no
script or event handler, and no reference to anything outside the document: an external image,
stylesheet or font would be fetched each time a certificate is rendered or viewed, leaking the
reader's IP address and letting whoever controls that URL change the picture after the fact.

`sanitise_svg` parses with defusedxml (no DTDs, no entities), keeps what an SVG renderer draws
and drops the rest; documents that cannot be made safe by dropping parts are refused with
`UnsafeLogo`, whose message tells the sender what to fix.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = ["MAX_BYTES", "MAX_DEPTH", "UnsafeLogo", "sanitise_svg"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

MAX_BYTES = 512 * 1024
# Real logos nest a few dozen groups at most; the limit keeps ElementTree's recursive serialiser
# (and Typst's SVG importer) far from their recursion limits on hostile input.
MAX_DEPTH = 100

# An allowlist rather than a list of known-bad elements: nothing outside it is drawn by an SVG
# renderer, so dropping it loses no artwork, while some of it is dangerous in ways a denylist
# misses. `<img>`, `<meta>` or `<embed>` inside SVG markup become live HTML elements when the
# logo is inlined in an HTML page. Deliberately absent: script, foreignObject, the animation
# elements (animate, animateMotion, animateTransform, set, discard: they can rewrite href and
# event attributes after sanitising), cursor and color-profile (they only fetch), the obsolete
# SVG font elements, and everything HTML (iframe, object, embed, audio, video, ...).
_ELEMENTS = frozenset(
    {
        "a",
        "circle",
        "clipPath",
        "defs",
        "desc",
        "ellipse",
        "feBlend",
        "feColorMatrix",
        "feComponentTransfer",
        "feComposite",
        "feConvolveMatrix",
        "feDiffuseLighting",
        "feDisplacementMap",
        "feDistantLight",
        "feDropShadow",
        "feFlood",
        "feFuncA",
        "feFuncB",
        "feFuncG",
        "feFuncR",
        "feGaussianBlur",
        "feImage",
        "feMerge",
        "feMergeNode",
        "feMorphology",
        "feOffset",
        "fePointLight",
        "feSpecularLighting",
        "feSpotLight",
        "feTile",
        "feTurbulence",
        "filter",
        "g",
        "image",
        "line",
        "linearGradient",
        "marker",
        "mask",
        "metadata",
        "path",
        "pattern",
        "polygon",
        "polyline",
        "radialGradient",
        "rect",
        "stop",
        "style",
        "svg",
        "switch",
        "symbol",
        "text",
        "textPath",
        "title",
        "tspan",
        "use",
        "view",
    }
)

# xml:base would re-anchor even a local `#fragment` onto a remote document; ping makes a click
# on an <a> report to a third party.
_DROPPED_ATTRIBUTES = frozenset({"xml:base", "ping"})

_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.I)
# CSS functions other than url() that take a bare string and fetch it.
_FETCHING_FUNCTIONS = re.compile(
    r"(?<![\w-])(?:-[a-z]+-)?(?:image-set|image|cross-fade|src|expression)\(", re.I
)
_URL_OPEN = re.compile(r"url\(", re.I)
# A declaration runs to the next `;` outside quotes and parentheses: `url("#a;b")` is one.
_DECLARATION = re.compile(r"""(?:[^;"'(]|"[^"]*"?|'[^']*'?|\([^)]*\)?)+""")
_URL_ARGUMENT = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([^"'()\s]*))\s*\)""")
# Browsers ignore tabs and newlines anywhere in a URL and control characters around it, so
# "java\tscript:" still runs.
_IGNORED_IN_SCHEMES = re.compile(r"[\x00-\x20]+")


class UnsafeLogo(ValueError):
    """The logo cannot be accepted as it is; the message says why and what to change."""


def sanitise_svg(text: str) -> str:
    """Return `text` as a standalone SVG document that is safe to draw and to embed in a page.

    Raises `UnsafeLogo` if `text` is not well-formed XML, declares a DOCTYPE or entities, is not
    an `<svg>` document, is larger than `MAX_BYTES` or nests deeper than `MAX_DEPTH`.
    Idempotent: sanitising a sanitised logo returns it unchanged.
    """
    _check_size(text)
    root = _parse(text)
    _check_root(root)
    _check_depth(root)
    _clean(root)
    xlink = any(name.startswith("xlink:") for element in root.iter() for name in element.attrib)
    declarations = {"xmlns": SVG_NS} | ({"xmlns:xlink": XLINK_NS} if xlink else {})
    root.attrib = declarations | root.attrib
    result = tostring(root, encoding="unicode")
    # Escaping can make the output longer than the input; refusing here rather than storing it
    # keeps sanitising idempotent for logos just under the limit.
    _check_size(result)
    return result


def _check_size(text: str) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise UnsafeLogo(
            f"logo_svg is not well-formed XML: it contains an unpaired surrogate "
            f"(U+{ord(text[error.start]):04X}) at character {error.start}"
        ) from None
    if size > MAX_BYTES:
        raise UnsafeLogo(
            f"logo_svg is larger than 512 KB ({size // 1024} KB): simplify the artwork or "
            "reduce embedded bitmaps"
        )


# Illustrator and Inkscape write `<!DOCTYPE svg PUBLIC "…" "…svg11.dtd">` into exported logos.
# A DOCTYPE with no internal subset (no `[…]`) declares nothing and loads nothing here, so it is
# dropped; one with an internal subset (entities) is still refused.
_PLAIN_DOCTYPE = re.compile(
    r"<!DOCTYPE\s+svg(\s+(PUBLIC|SYSTEM)(\s+(\"[^\"]*\"|'[^']*'))+)?\s*>", re.I
)


def _parse(text: str) -> Element:
    text = _PLAIN_DOCTYPE.sub("", text, count=1)
    try:
        return fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UnsafeLogo(
            "logo_svg declares a DOCTYPE or entities, which are not allowed: "
            "remove the <!DOCTYPE …> declaration"
        ) from None
    except ParseError as error:
        raise UnsafeLogo(f"logo_svg is not well-formed XML: {error}") from None


def _check_root(root: Element) -> None:
    namespace, name = _split(root.tag)
    if name != "svg":
        raise UnsafeLogo(f"logo_svg must have <svg> as its root element, not <{name}>")
    if namespace not in ("", SVG_NS):
        raise UnsafeLogo(
            f"logo_svg must have <svg> as its root element in the SVG namespace {SVG_NS}, "
            f"not in {namespace}"
        )


def _check_depth(root: Element) -> None:
    # Iterative: a recursive walk would itself hit the recursion limit on the input it rejects.
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeLogo(f"logo_svg nests elements more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in element)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _clean(element: Element) -> None:
    """Clean one kept element in place: its tag, its attributes, then its children."""
    # Un-namespaced elements are read as SVG: many hand-written logos omit xmlns, and the
    # output declares SVG as the default namespace, so the bare local name is the SVG name.
    element.tag = _split(element.tag)[1]
    element.attrib = _clean_attributes(element.attrib)
    kept: list[Element] = []
    for child in element:
        if _is_kept(child):
            _clean(child)
            kept.append(child)
        elif child.tail:
            # The text after a dropped element belongs to its parent (e.g. the rest of a <text>).
            if kept:
                kept[-1].tail = (kept[-1].tail or "") + child.tail
            else:
                element.text = (element.text or "") + child.tail
    element[:] = kept


def _is_kept(element: Element) -> bool:
    namespace, name = _split(element.tag)
    # Elements of other namespaces (Inkscape, RDF metadata, XHTML) are never drawn.
    if namespace not in ("", SVG_NS) or name not in _ELEMENTS:
        return False
    if name == "style":
        css = element.text or ""
        return len(element) == 0 and _css_is_local(css) and not _runs_script(css)
    return True


def _clean_attributes(attributes: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for key, value in attributes.items():
        name = _attribute_name(key)
        if name is None or name in _DROPPED_ATTRIBUTES:
            continue
        local = name.rpartition(":")[2]
        if local.lower().startswith("on"):
            continue
        if local == "href":
            if _is_local_or_inline(value):
                cleaned[name] = value
            continue
        if name == "style":
            value = _clean_declarations(value)
            if not value:
                continue
        # Presentation attributes (fill, mask, filter, cursor, ...) are CSS and can fetch too.
        if _runs_script(value) or not _css_is_local(value):
            continue
        cleaned[name] = value
    return cleaned


def _attribute_name(key: str) -> str | None:
    """The attribute's name as written in the output, or None for an attribute to drop."""
    namespace, name = _split(key)
    if namespace == "":
        return name
    if namespace == XLINK_NS:
        return f"xlink:{name}"
    if namespace == XML_NS:
        return f"xml:{name}"
    # Editor bookkeeping (inkscape:, sodipodi:, ...) changes nothing a renderer draws.
    return None


def _is_local_or_inline(href: str) -> bool:
    href = href.strip()
    return href.startswith("#") or _DATA_IMAGE.fullmatch(href) is not None


def _clean_declarations(style: str) -> str:
    declarations = _DECLARATION.findall(style)
    kept = [d for d in declarations if _css_is_local(d) and not _runs_script(d)]
    if len(kept) == len(declarations):
        return style
    return ";".join(d.strip() for d in kept if d.strip())


def _css_is_local(css: str) -> bool:
    """Whether `css` can be applied without fetching anything from outside the document."""
    # A CSS escape can spell url( or @import in a way no plain-text check recognises.
    if "\\" in css or "@import" in css.lower() or _FETCHING_FUNCTIONS.search(css):
        return False
    for opening in _URL_OPEN.finditer(css):
        argument = _URL_ARGUMENT.match(css, opening.end())
        if argument is None:
            return False
        target = next(group for group in argument.groups() if group is not None)
        if not target.startswith("#"):
            return False
    return True


def _runs_script(value: str) -> bool:
    normalised = _IGNORED_IN_SCHEMES.sub("", value).lower()
    return "javascript:" in normalised or "vbscript:" in normalised

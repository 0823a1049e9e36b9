from pathlib import Path

import pytest
import typst
from defusedxml.ElementTree import fromstring

from services.certification.render import FONTS
from services.registration.logos import MAX_BYTES, MAX_DEPTH, UnsafeLogo, sanitise_svg

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def svg(body: str, **attributes: str) -> str:
    extra = "".join(f' {name.replace("_", ":")}="{value}"' for name, value in attributes.items())
    return (
        f'<svg xmlns="{SVG}" xmlns:xlink="{XLINK}" width="160" height="60"'
        f' viewBox="0 0 160 60"{extra}>{body}</svg>'
    )


def test_a_script_element_is_removed_and_the_shapes_are_kept() -> None:
    clean = sanitise_svg(svg('<script>alert(1)</script><rect width="10" height="10"/>'))
    assert "script" not in clean
    assert "alert" not in clean
    assert '<rect width="10" height="10" />' in clean


def test_the_output_declares_svg_as_the_default_namespace_and_keeps_the_root_attributes() -> None:
    clean = sanitise_svg(svg("<circle r='5'/>"))
    assert clean.startswith(f'<svg xmlns="{SVG}" width="160" height="60" viewBox="0 0 160 60">')
    assert "ns0" not in clean


def test_a_root_without_a_namespace_is_read_as_svg() -> None:
    clean = sanitise_svg('<svg width="10"><rect width="10" height="10"/></svg>')
    assert clean == f'<svg xmlns="{SVG}" width="10"><rect width="10" height="10" /></svg>'


def test_event_handler_attributes_are_removed_from_every_element() -> None:
    clean = sanitise_svg(
        svg('<g onclick="steal()"><rect ONMOUSEOVER="steal()" fill="red"/></g>', onload="steal()")
    )
    assert "steal" not in clean
    assert '<rect fill="red" />' in clean


def test_an_external_href_is_removed_but_the_element_stays() -> None:
    clean = sanitise_svg(
        svg(
            '<image href="https://tracker.example/pixel.png" width="5" height="5"/>'
            '<use xlink:href="https://evil.example/sprite.svg#logo"/>'
        )
    )
    assert "example" not in clean
    assert '<image width="5" height="5" />' in clean
    assert "<use />" in clean


def test_a_local_fragment_href_is_kept_with_its_xlink_prefix() -> None:
    clean = sanitise_svg(svg('<defs><circle id="dot" r="3"/></defs><use xlink:href="#dot"/>'))
    assert f'xmlns:xlink="{XLINK}"' in clean
    assert '<use xlink:href="#dot" />' in clean
    assert '<use href="#dot" />' in sanitise_svg(svg('<use href="#dot"/>'))


def test_an_inline_bitmap_is_kept_but_an_inline_svg_or_html_is_not() -> None:
    clean = sanitise_svg(svg(f'<image href="{PIXEL}" width="1" height="1"/>'))
    assert f'href="{PIXEL}"' in clean
    for uri in ("data:image/svg+xml;base64,PHN2Zy8+", "data:text/html;base64,PHNjcmlwdD4="):
        assert "data:" not in sanitise_svg(svg(f'<image href="{uri}"/>'))


def test_a_javascript_href_is_removed_even_when_obfuscated() -> None:
    for href in ("javascript:alert(1)", " JavaScript:alert(1)", "java&#9;script:alert(1)"):
        clean = sanitise_svg(svg(f'<a href="{href}"><text>go</text></a>'))
        assert "alert" not in clean
        assert "<a><text>go</text></a>" in clean


def test_javascript_in_any_other_attribute_value_is_removed() -> None:
    clean = sanitise_svg(svg('<a xlink:title="javascript:alert(1)" target="_top"/>'))
    assert "alert" not in clean
    assert '<a target="_top" />' in clean


def test_a_style_element_with_an_import_is_dropped_whole() -> None:
    clean = sanitise_svg(
        svg('<style>@import "https://evil.example/x.css"; rect { fill: red }</style><rect/>')
    )
    assert "<style" not in clean
    assert "evil" not in clean
    assert "<rect />" in clean


def test_a_style_element_with_an_external_url_is_dropped_and_a_local_one_is_kept() -> None:
    remote = svg("<style>rect { fill: url(https://evil.example/p.svg#g) }</style><rect/>")
    assert "<style" not in sanitise_svg(remote)
    local = svg("<style>rect { fill: url(#g) } .a { stroke: url('#h') }</style><rect/>")
    assert "<style>rect { fill: url(#g) } .a { stroke: url('#h') }</style>" in sanitise_svg(local)


def test_a_style_element_that_escapes_its_way_to_a_url_is_dropped() -> None:
    clean = sanitise_svg(svg(r"<style>rect { fill: u\72l(https://evil.example/) }</style>"))
    assert "<style" not in clean


def test_an_external_url_in_a_style_attribute_drops_only_that_declaration() -> None:
    clean = sanitise_svg(
        svg(
            '<rect style="fill: url(#grad); '
            "background-image: url(http://tracker.example/p.png); stroke: blue; "
            "mask: url('#m;1')\"/>"
        )
    )
    assert "tracker" not in clean
    assert "<rect style=\"fill: url(#grad);stroke: blue;mask: url('#m;1')\" />" in clean


def test_a_style_attribute_left_empty_is_removed() -> None:
    clean = sanitise_svg(svg('<rect style="fill: url(&quot;http://x.example/&quot;)"/>'))
    assert "<rect />" in clean


def test_an_external_url_in_a_presentation_attribute_is_removed() -> None:
    clean = sanitise_svg(
        svg('<rect fill="url(https://evil.example/p.svg#g)" stroke="url(#local)" mask="url(x)"/>')
    )
    assert '<rect stroke="url(#local)" />' in clean


def test_foreign_object_and_html_elements_are_removed_with_their_content() -> None:
    body = (
        '<foreignObject width="10" height="10">'
        '<div xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://evil.example/"/></div>'
        '</foreignObject><iframe/><object data="x"/><embed src="x"/><audio/><video/>'
        '<img src="https://tracker.example/p.png"/><circle r="2"/>'
    )
    clean = sanitise_svg(svg(body))
    for gone in ("foreignObject", "div", "iframe", "object", "embed", "audio", "video", "img"):
        assert gone not in clean
    assert '<circle r="2" />' in clean


def test_animation_elements_are_removed() -> None:
    body = (
        '<a><set attributeName="href" to="javascript:alert(1)"/>'
        '<animate attributeName="href" values="javascript:alert(1)"/>'
        '<text>x<animateTransform attributeName="transform"/></text></a>'
    )
    assert sanitise_svg(svg(body)).endswith("<a><text>x</text></a></svg>")


def test_text_after_a_removed_element_is_kept_in_its_place() -> None:
    clean = sanitise_svg(svg("<text>Hello, <script>x</script>world<tspan>!</tspan></text>"))
    assert "<text>Hello, world<tspan>!</tspan></text>" in clean


def test_attributes_and_elements_of_editor_namespaces_are_removed() -> None:
    body = (
        '<sodipodi:namedview xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"/>'
        '<g xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" inkscape:label="Layer">'
        '<text xml:space="preserve" xml:base="https://evil.example/">x</text></g>'
    )
    clean = sanitise_svg(svg(body))
    assert "sodipodi" not in clean
    assert "inkscape" not in clean
    assert '<g><text xml:space="preserve">x</text></g>' in clean


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE svg [<!ATTLIST svg onload CDATA "alert(1)">]>'
        '<svg xmlns="http://www.w3.org/2000/svg"/>',
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg">&c;</svg>',
        '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
    ],
    ids=["doctype-with-internal-subset", "entity-bomb", "external-entity"],
)
def test_a_doctype_or_entity_declaration_is_rejected(document: str) -> None:
    with pytest.raises(UnsafeLogo, match="DOCTYPE or entities"):
        sanitise_svg(document)


@pytest.mark.parametrize(
    "document", ["", "not xml at all", "<svg><rect></svg>", '<svg><use xlink:href="#a"/></svg>']
)
def test_text_that_is_not_well_formed_xml_is_rejected(document: str) -> None:
    with pytest.raises(UnsafeLogo, match="not well-formed XML"):
        sanitise_svg(document)


def test_a_document_whose_root_is_not_svg_is_rejected() -> None:
    with pytest.raises(UnsafeLogo, match="root element, not <html>"):
        sanitise_svg('<html xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="' + SVG + '"/></html>')
    with pytest.raises(UnsafeLogo, match="in the SVG namespace"):
        sanitise_svg('<svg xmlns="http://example.org/not-svg"/>')


def test_a_logo_larger_than_512_kb_is_rejected() -> None:
    padding = "<rect/>" * (MAX_BYTES // len("<rect/>"))
    with pytest.raises(UnsafeLogo, match="larger than 512 KB"):
        sanitise_svg(svg(padding))


def test_a_logo_nested_too_deeply_is_rejected_and_one_level_less_is_accepted() -> None:
    depth = MAX_DEPTH - 1  # the <svg> root is the first level
    assert "<g />" in sanitise_svg(svg("<g>" * depth + "</g>" * depth))
    with pytest.raises(UnsafeLogo, match="levels deep"):
        sanitise_svg(svg("<g>" * MAX_DEPTH + "</g>" * MAX_DEPTH))


def test_the_result_is_a_valid_svg_document() -> None:
    root = fromstring(sanitise_svg(svg('<script/><rect onclick="x"/>')))
    assert root.tag == f"{{{SVG}}}svg"
    assert [child.tag for child in root] == [f"{{{SVG}}}rect"]


def test_sanitising_twice_gives_the_same_result_as_once() -> None:
    body = (
        '<style>@import "x.css";</style><style>.a{fill:url(#g)}</style>'
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#1f4e79"/></linearGradient>'
        '</defs><g onclick="x" style="fill:url(http://e.example/);opacity:.5">'
        f'<image xlink:href="{PIXEL}"/><use xlink:href="#g"/><script>x</script>tail'
        '<text xml:space="preserve" x="1">  Фондация &amp; &lt;партньори&gt;\n</text>'
        '<path d="M0 0h10" title="a&quot;b"/></g><foreignObject/>'
    )
    once = sanitise_svg(svg(body))
    assert sanitise_svg(once) == once
    unnamespaced = "<svg><rect/><script/></svg>"
    assert sanitise_svg(sanitise_svg(unnamespaced)) == sanitise_svg(unnamespaced)


def test_cyrillic_text_survives_intact() -> None:
    title = "Фондация за реформа в местното самоуправление"
    clean = sanitise_svg(svg(f'<text x="0" y="40" font-family="DejaVu Sans">{title}</text>'))
    assert f'<text x="0" y="40" font-family="DejaVu Sans">{title}</text>' in clean


def test_a_sanitised_logo_still_renders_in_a_typst_pdf(tmp_path: Path) -> None:
    logo = sanitise_svg(
        svg(
            '<script>alert(1)</script><defs><linearGradient id="g">'
            '<stop offset="0" stop-color="#1f4e79"/><stop offset="1" stop-color="#fff"/>'
            '</linearGradient></defs><rect width="160" height="60" fill="url(#g)" onclick="x"/>'
            f'<image xlink:href="{PIXEL}" width="10" height="10"/>'
            '<image href="https://tracker.example/p.png" width="10" height="10"/>'
            '<text x="10" y="40" font-family="DejaVu Sans" font-size="20">Фондация</text>'
        )
    )
    (tmp_path / "logo.svg").write_text(logo, encoding="utf-8")
    (tmp_path / "main.typ").write_text('#image("logo.svg", width: 2cm)\n', encoding="utf-8")
    pdf = typst.compile(
        tmp_path / "main.typ",
        root=tmp_path,
        font_paths=[FONTS],
        ignore_system_fonts=True,
        format="pdf",
    )
    assert isinstance(pdf, bytes)
    assert pdf.startswith(b"%PDF")


def test_an_editor_exports_public_doctype_is_dropped_and_the_logo_kept() -> None:
    exported = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10"/></svg>'
    )
    cleaned = sanitise_svg(exported)
    assert "DOCTYPE" not in cleaned and "<rect" in cleaned

"""Certificate rendering: the service's Typst renderer against WeasyPrint drawing the same
certificate (bench/certificate.html.j2 + bench/certificate.css, the "classic" design) in the
same process, on one thread, in alternating rounds. Needs no stack.

Both renderers get the same certificates: the same data (`CertificateRenderer.data`, which
both call inside the timed part, as the service does), the same bundled DejaVu TTF files, one
A4 landscape page, the signed data attached as `attesta-certificate.jws`. Every timed PDF is
a different certificate (holder, number, verification code, QR code, signature), as in the
service: rendering one certificate again and again would time Typst's memoised layout, not a
new certificate. Before timing, each renderer's PDFs are checked with pypdf: one page, A4
landscape, the holder's name in the page's text, the signature attached.
"""

from __future__ import annotations

import base64
import dataclasses
import gc
import importlib.metadata
import io
import itertools
import json
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pypdf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.figures import (
    MatrixFigures,
    PdfCheck,
    RendererFigures,
    RenderFigures,
    ratio,
)
from bench.people import trainees
from services.certification import domain
from services.certification.render import (
    DESIGNS,
    FONTS,
    CertificateContent,
    CertificateRenderer,
)
from services.certification.samples import SAMPLES, sample_content
from shared import signatures

HERE = Path(__file__).parent
TEMPLATE = "certificate.html.j2"
STYLESHEET = HERE / "certificate.css"
LANGUAGES = tuple(SAMPLES)  # bg, ru, pl, en
# The timed comparison: the design the service draws by default, in the course language the
# project started with. The Typst matrix covers every language and design.
LANGUAGE = "bg"
DESIGN = "classic"
# What Typst's smart quotes print around the course title in each language.
QUOTES = {"bg": ("„", "“"), "ru": ("«", "»"), "pl": ("„", "”"), "en": ("“", "”")}
# A4 landscape in PDF points.
A4_LANDSCAPE = (841.89, 595.28)
Progress = Callable[[str], None]
Render = Callable[[CertificateContent], bytes]


@dataclass(frozen=True)
class Settings:
    rounds: int
    typst_per_round: int
    weasyprint_per_round: int
    matrix_per_combination: int
    warmup: int
    check_languages: Sequence[str] = LANGUAGES


def settings_for(
    *, quick: bool, rounds: int | None, typst: int | None, weasyprint: int | None
) -> Settings:
    """Defaults: 5 rounds of 200 Typst and 20 WeasyPrint PDFs (two to three minutes, nearly all
    of it WeasyPrint's); quick: 2 rounds of 20 and 1, about ten seconds."""
    return Settings(
        rounds=rounds or (2 if quick else 5),
        typst_per_round=typst or (20 if quick else 200),
        weasyprint_per_round=weasyprint or (1 if quick else 20),
        matrix_per_combination=5 if quick else 40,
        warmup=1 if quick else 5,
        check_languages=(LANGUAGE,) if quick else LANGUAGES,
    )


# The certificates --------------------------------------------------------------------------


def certificates(
    language: str, design: str, count: int, *, seed: str
) -> Iterator[CertificateContent]:
    """`count` different certificates of the sample course in `language`: each its own holder,
    number, verification code (so QR code) and Ed25519 signature, as the service issues them."""
    key = Ed25519PrivateKey.generate()
    base = sample_content(language, design)
    course = base.course.model_dump(mode="json")
    for number, person in enumerate(trainees(f"render-{seed}", count), start=1):
        code = domain.new_verification_code()
        certificate_number = f"FRMS-2026-{number:06d}"
        certificate: dict[str, object] = {
            "_id": certificate_number,
            "version": 1,
            "replaces": None,
            "verification_code": code,
            "holder": {"full_name": person.full_name},
            "course": course,
            "issued_on": base.issued_on.isoformat(),
            "valid_until": None,
        }
        yield dataclasses.replace(
            base,
            number=certificate_number,
            holder=person.full_name,
            verification_url=f"https://certificates.example.org/verify/{code}",
            signature=signatures.sign(domain.signed_claims(certificate), key),
        )


# WeasyPrint --------------------------------------------------------------------------------


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


class WeasyPrintRenderer:
    """The "classic" design drawn by WeasyPrint, set up as its documentation advises for many
    documents: one FontConfiguration, the stylesheet parsed once, one image cache."""

    def __init__(self, data: Callable[[CertificateContent], dict[str, object]]) -> None:
        try:  # a development dependency: only this benchmark uses it
            import weasyprint
            from weasyprint.text.fonts import FontConfiguration
        except (ImportError, OSError) as error:  # OSError: Pango missing from the system
            raise RuntimeError(
                f"WeasyPrint cannot be loaded ({error}); `make install` installs it, "
                "with Pango from the system's packages"
            ) from error

        self._weasyprint = weasyprint
        self._data = data
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        environment.filters["svg_uri"] = _svg_uri
        self._template = environment.get_template(TEMPLATE)
        self._fonts = FontConfiguration()
        self._stylesheet = weasyprint.CSS(
            string=STYLESHEET.read_text(encoding="utf-8"),
            base_url=FONTS.as_uri() + "/",
            font_config=self._fonts,
        )
        self._cache: dict[str, Any] = {}
        # Seconds of the last render spent on HTML, style and layout (the rest wrote the PDF).
        self.last_layout_seconds = 0.0

    def html(self, content: CertificateContent) -> str:
        data = self._data(content)
        return self._template.render(**data, quotes=QUOTES[content.course.language])

    def render(self, content: CertificateContent) -> bytes:
        started = time.perf_counter()
        document = self._weasyprint.HTML(string=self.html(content), base_url=str(HERE)).render(
            stylesheets=[self._stylesheet], font_config=self._fonts, cache=self._cache
        )
        self.last_layout_seconds = time.perf_counter() - started
        attachments = []
        if content.signature is not None:
            attachments.append(
                self._weasyprint.Attachment(
                    string=content.signature,
                    name=signatures.PDF_ATTACHMENT,
                    description="Attesta certificate data signed with Ed25519 (compact JWS)",
                )
            )
        pdf = document.write_pdf(attachments=attachments, cache=self._cache)
        assert isinstance(pdf, bytes)
        return pdf


def font_subsetting() -> str:
    """How this WeasyPrint subsets the fonts it embeds: with HarfBuzz-Subset (C) when the
    system library is installed, else with fontTools (pure Python, several times slower)."""
    from weasyprint.text import ffi

    if getattr(ffi, "harfbuzz_subset", None) is not None:
        return "HarfBuzz-Subset"
    return "fontTools (libharfbuzz-subset not installed)"


# Checks ------------------------------------------------------------------------------------


def check_pdf(renderer: str, content: CertificateContent, pdf: bytes) -> PdfCheck:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    first = reader.pages[0]
    width, height = float(first.mediabox.width), float(first.mediabox.height)
    text = " ".join(first.extract_text().split())
    return PdfCheck(
        renderer=renderer,
        language=content.course.language,
        design=content.course.design or DESIGN,
        pages=len(reader.pages),
        a4_landscape=math.isclose(width, A4_LANDSCAPE[0], abs_tol=1)
        and math.isclose(height, A4_LANDSCAPE[1], abs_tol=1),
        holder_in_text=content.holder in text,
        signature_attached=signatures.PDF_ATTACHMENT in reader.attachments,
        pdf_bytes=len(pdf),
    )


# Timing ------------------------------------------------------------------------------------


@dataclass
class Timings:
    """Per-PDF wall and process CPU seconds, and the PDFs' sizes."""

    wall: list[float] = dataclasses.field(default_factory=list)
    cpu: list[float] = dataclasses.field(default_factory=list)
    sizes: list[int] = dataclasses.field(default_factory=list)
    layout: list[float] = dataclasses.field(default_factory=list)

    def time(self, render: Render, content: CertificateContent) -> bytes:
        cpu, wall = time.process_time(), time.perf_counter()
        pdf = render(content)
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)
        self.sizes.append(len(pdf))
        return pdf


def _percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _renderer_figures(name: str, version: str, timings: Timings) -> RendererFigures:
    median_cpu = statistics.median(timings.cpu)
    return RendererFigures(
        renderer=name,
        version=version,
        pdfs=len(timings.wall),
        median_ms=_ms(statistics.median(timings.wall)),
        p90_ms=_ms(_percentile(timings.wall, 90)),
        median_cpu_ms=_ms(median_cpu),
        p90_cpu_ms=_ms(_percentile(timings.cpu, 90)),
        pdfs_per_second_per_core=round(1 / median_cpu, 1) if median_cpu > 0 else 0.0,
        wall_seconds=round(sum(timings.wall), 2),
        cpu_seconds=round(sum(timings.cpu), 2),
        median_pdf_bytes=int(statistics.median(timings.sizes)),
        median_layout_ms=_ms(statistics.median(timings.layout)) if timings.layout else None,
    )


def _matrix(
    typst: CertificateRenderer, per_combination: int, progress: Progress
) -> tuple[list[MatrixFigures], Timings]:
    """Typst in every language and design, the combinations taken in turn (one PDF of each,
    then again) so that a machine growing busier meanwhile favours none."""
    combinations = [(language, design) for language in LANGUAGES for design in DESIGNS]
    progress(
        f"rendering: Typst, {len(combinations)} languages × designs, {per_combination} PDFs each…"
    )
    contents = {
        (language, design): list(
            certificates(language, design, per_combination, seed=f"m{language}{design}")
        )
        for language, design in combinations
    }
    timings = {combination: Timings() for combination in combinations}
    gc.collect()
    for number in range(per_combination):
        for combination in combinations:
            timings[combination].time(typst.render, contents[combination][number])
    pooled = Timings()
    for each in timings.values():
        pooled.wall.extend(each.wall)
        pooled.cpu.extend(each.cpu)
        pooled.sizes.extend(each.sizes)
    return [
        MatrixFigures(
            language=language,
            design=design,
            pdfs=len(timings[language, design].wall),
            median_ms=_ms(statistics.median(timings[language, design].wall)),
            median_cpu_ms=_ms(statistics.median(timings[language, design].cpu)),
            median_pdf_bytes=int(statistics.median(timings[language, design].sizes)),
        )
        for language, design in combinations
    ], pooled


def typst_rate(settings: Settings, progress: Progress) -> RendererFigures:
    """Typst alone, as in `measure`: the raw rendering rate other measurements compare to."""
    typst = CertificateRenderer()
    contents = iter(
        certificates(
            LANGUAGE,
            DESIGN,
            settings.warmup + settings.rounds * settings.typst_per_round,
            seed="typst",
        )
    )
    for content in itertools.islice(contents, settings.warmup):
        typst.render(content)
    timings = Timings()
    progress(
        f"rendering: Typst alone, {settings.rounds} × {settings.typst_per_round} PDFs "
        f"({DESIGN}, {LANGUAGE})…"
    )
    gc.collect()
    for content in contents:
        timings.time(typst.render, content)
    return _renderer_figures("typst", importlib.metadata.version("typst"), timings)


def measure(settings: Settings, progress: Progress) -> RenderFigures:
    progress("rendering: loading Typst and WeasyPrint, checking their PDFs with pypdf…")
    typst = CertificateRenderer()
    weasyprint = WeasyPrintRenderer(typst.data)
    renderers: dict[str, Render] = {"typst": typst.render, "weasyprint": weasyprint.render}

    # Warm-up and checks: every checked language in both designs for Typst, in the classic
    # design (the one reproduced in HTML) for WeasyPrint.
    checks: list[PdfCheck] = []
    for language in settings.check_languages:
        for design in DESIGNS:
            (content,) = certificates(language, design, 1, seed=f"check-{language}-{design}")
            checks.append(check_pdf("typst", content, typst.render(content)))
            if design == DESIGN:
                checks.append(check_pdf("weasyprint", content, weasyprint.render(content)))
    per_renderer = {
        "typst": settings.warmup + settings.rounds * settings.typst_per_round,
        "weasyprint": settings.warmup + settings.rounds * settings.weasyprint_per_round,
    }
    contents = {
        name: iter(certificates(LANGUAGE, DESIGN, count, seed=name))
        for name, count in per_renderer.items()
    }
    for name, render in renderers.items():
        for content in itertools.islice(contents[name], settings.warmup):
            render(content)

    timings = {name: Timings() for name in renderers}
    per_round = {"typst": settings.typst_per_round, "weasyprint": settings.weasyprint_per_round}
    for round_number in range(settings.rounds):
        order = list(renderers) if round_number % 2 == 0 else list(reversed(renderers))
        for name in order:
            progress(
                f"rendering, round {round_number + 1}/{settings.rounds} → {name}: "
                f"{per_round[name]} PDFs ({DESIGN}, {LANGUAGE})…"
            )
            gc.collect()
            for content in itertools.islice(contents[name], per_round[name]):
                timings[name].time(renderers[name], content)
                if name == "weasyprint":
                    timings[name].layout.append(weasyprint.last_layout_seconds)
            progress(
                f"rendering, round {round_number + 1}/{settings.rounds} → {name}: median "
                f"{statistics.median(timings[name].wall[-per_round[name] :]) * 1000:.1f} ms"
            )
    typst_figures = _renderer_figures(
        "typst", importlib.metadata.version("typst"), timings["typst"]
    )
    weasyprint_figures = _renderer_figures(
        "weasyprint", importlib.metadata.version("weasyprint"), timings["weasyprint"]
    )
    matrix, pooled = _matrix(typst, settings.matrix_per_combination, progress)
    data = Timings()
    for content in certificates(LANGUAGE, DESIGN, settings.typst_per_round, seed="data"):
        data.time(lambda c: json.dumps(typst.data(c)).encode(), content)
    data_ms = _ms(statistics.median(data.wall))
    return RenderFigures(
        language=LANGUAGE,
        design=DESIGN,
        rounds=settings.rounds,
        typst=typst_figures,
        weasyprint=weasyprint_figures,
        weasyprint_font_subsetting=font_subsetting(),
        speedup=_rounded(ratio(weasyprint_figures.median_ms, typst_figures.median_ms)),
        cpu_speedup=_rounded(ratio(weasyprint_figures.median_cpu_ms, typst_figures.median_cpu_ms)),
        layout_only_speedup=_rounded(
            ratio(weasyprint_figures.median_layout_ms or 0.0, typst_figures.median_ms)
        ),
        engine_speedup=_rounded(
            ratio(weasyprint_figures.median_ms - data_ms, typst_figures.median_ms - data_ms)
        ),
        data_median_ms=data_ms,
        typst_matrix=matrix,
        typst_matrix_median_ms=_ms(statistics.median(pooled.wall)),
        typst_matrix_median_cpu_ms=_ms(statistics.median(pooled.cpu)),
        checks=checks,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)

"""A dashboard served on 127.0.0.1 by uvicorn in a thread, and Debian's headless Chromium driven
by Playwright (no browser download: ``executable_path`` is the system Chromium)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("EVENTLENS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
#: with EVENTLENS_DOCS_SCREENSHOTS=1 the browser tests also write the pictures the README and the
#: documentation site show (committed; re-take them after a visible change of the dashboard)
DOCS_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
DOCS_IMAGE_MAX_BYTES = 300_000

needs_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
    reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)",
)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a free loopback port for the duration; yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def chromium(base_url: str, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A Playwright page in headless Chromium."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=base_url
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def docs_screenshot(page: Any, name: str) -> None:
    """The visible part of ``page`` as ``docs/images/<name>.png``, when EVENTLENS_DOCS_SCREENSHOTS
    is set: reduced to a 256-colour palette, which keeps a page of photos under 300 KB."""
    if os.environ.get("EVENTLENS_DOCS_SCREENSHOTS", "") in {"", "0"}:
        return
    from PIL import Image

    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    target = DOCS_IMAGES / f"{name}.png"
    page.screenshot(path=str(target))
    with Image.open(target) as shot:
        small = shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(target, optimize=True)
    size = target.stat().st_size
    assert size < DOCS_IMAGE_MAX_BYTES, f"{target} is {size:,} bytes"


#: Every visible text of the page whose contrast with what is behind it is under WCAG AA:
#: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). The background is the nearest
#: ancestor's opaque background colour (white at the top); SVG text uses its fill.
_LOW_CONTRAST_JS = """
() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own.length || !el.checkVisibility({visibilityProperty: true})) continue;
    if (el.closest("select, option, script, style, title, noscript")) continue;
    const style = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    const fg = rgb(svg ? style.fill : style.color).slice(0, 3);
    const bg = background(svg ? el.closest("svg").parentElement : el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push(`${own[0].textContent.trim().slice(0, 30)}: ` +
      `${fg} on ${bg} = ${ratio.toFixed(2)}`);
  }
  return failures;
}
"""


def low_contrast(page: Any) -> list[str]:
    found: list[str] = page.evaluate(_LOW_CONTRAST_JS)
    return found


def scrolls_sideways(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > innerWidth"))

#!/usr/bin/env python
"""Check the built book in a real headless browser, as a reader would see it.

Run by ``make test`` after ``make book PROFILE=ci`` (it is a script, not a pytest module):

    .venv/bin/python tests/check_built_book.py [--html _build/html] [--toc _toc.yml]

It serves ``_build/html`` on 127.0.0.1 (a free port) and opens every page listed in
``_toc.yml`` in Debian's Chromium through Playwright (never ``playwright install``).
For each page it checks that

* the page answers HTTP 200;
* every ``<img>`` loaded (``complete && naturalWidth > 0``);
* nothing failed to load (HTTP >= 400, failed requests), the console shows no error and
  no script threw;
* nothing was requested from outside 127.0.0.1 (the book must work offline: no CDN);
* the front page shows the provenance block (profile, date, packages, device) and its
  downloads answer;
* MathJax (served from the book itself) started, every ``.math`` node holds a rendered
  ``mjx-container``, no TeX error (``mjx-merror``) is shown, and no raw ``\\(``, ``\\[``,
  ``$$`` or ``$...\\tex...$`` is left in the visible text outside code.

It also greps every built HTML file for a MathJax URL that is not local, checks that each
notebook page's Binder launch button opens that notebook at its path in the repository
(``book/NN_x.ipynb``, not the executed copy under ``_build/``) of the repository the book links
(none without one: ``REPOSITORY_URL`` in the Makefile), and saves a
full-page screenshot of each page under ``_build/screenshots/``. It exits 1 and lists
every problem (page: what) when anything is wrong.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",  # small /dev/shm in containers crashes Chromium
]

# Text nodes under these elements are code or machinery, not prose: raw TeX there is fine.
SKIP_TAGS = ["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "NOSCRIPT", "MJX-CONTAINER", "SVG"]

RAW_DELIMITERS = ["\\(", "\\)", "\\[", "\\]", "$$"]
RAW_DOLLAR_TEX = re.compile(r"\$[^$\n]{0,200}?(\\[A-Za-z]+|[_^]\{)[^$\n]{0,200}?\$")
CDN_MATHJAX = re.compile(r"""(?:https?:)?//[^"'\s>]*mathjax[^"'\s>]*""", re.IGNORECASE)


# --------------------------------------------------------------------------------------
# The table of contents
# --------------------------------------------------------------------------------------
def toc_docnames(toc_path: Path) -> list[str]:
    """Every document named in a jb-book ``_toc.yml``, in reading order (root first)."""
    toc = yaml.safe_load(toc_path.read_text())
    src = toc_path.parent
    names: list[str] = []

    def strip_suffix(name: str) -> str:
        for suffix in (".md", ".ipynb", ".rst"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name

    def walk(entries) -> None:
        for entry in entries or []:
            if "file" in entry:
                names.append(strip_suffix(entry["file"]))
            elif "glob" in entry:
                found = sorted(
                    p
                    for suffix in (".md", ".ipynb", ".rst")
                    for p in src.glob(entry["glob"] + suffix)
                )
                names.extend(strip_suffix(p.relative_to(src).as_posix()) for p in found)
            for key in ("sections", "chapters"):
                walk(entry.get(key))

    names.append(strip_suffix(toc["root"]))
    walk(toc.get("chapters"))
    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    walk(toc.get("sections"))
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------------------
# A quiet local server
# --------------------------------------------------------------------------------------
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


# --------------------------------------------------------------------------------------
# Checks run inside the page
# --------------------------------------------------------------------------------------
WAIT_IMAGES_JS = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = 'eager'; }
  const deadline = Date.now() + 15000;
  for (const img of imgs) {
    if (!img.complete) { img.scrollIntoView(); }
    while (!img.complete && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 50));
    }
  }
  window.scrollTo(0, 0);
  return imgs.filter(i => !(i.complete && i.naturalWidth > 0))
             .map(i => i.getAttribute('src') || '(no src)');
}
"""

MATHJAX_JS = """
async () => {
  const mathNodes = document.querySelectorAll('span.math, div.math');
  const scripts = Array.from(document.querySelectorAll('script[src]'))
      .map(s => s.src).filter(s => /mathjax/i.test(s));
  const out = {mathNodes: mathNodes.length, scripts: scripts, started: false,
               unrendered: [], errors: [], containers: 0};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    out.started = true;
  }
  out.containers = document.querySelectorAll('mjx-container').length;
  for (const node of mathNodes) {
    if (!node.querySelector('mjx-container')) {
      out.unrendered.push(node.textContent.trim().slice(0, 80));
    }
  }
  for (const err of document.querySelectorAll('mjx-merror')) {
    out.errors.push((err.getAttribute('data-mjx-error') || err.textContent).slice(0, 120));
  }
  return out;
}
"""

VISIBLE_TEXT_JS = """
(skip) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let el = node.parentElement; el; el = el.parentElement) {
        if (skip.includes(el.tagName.toUpperCase())) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    }
  });
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts.join('');
}
"""


def snippet(text: str, index: int, width: int = 40) -> str:
    lo, hi = max(0, index - width), min(len(text), index + width)
    return " ".join(text[lo:hi].split())


def new_page(browser, base: str, where: dict, problems: list[str]):
    """A page in a fresh browser context (a first-time visitor: no cache, no storage).

    Every failed load, console error, script error and request leaving 127.0.0.1 is
    recorded against ``where["name"]``, the page being checked at that moment."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    def guard(route):
        url = route.request.url
        if url.startswith(base) or urlsplit(url).scheme in ("data", "blob", "about"):
            route.continue_()
        else:
            problems.append(f"{where['name']}: request outside the book: {url}")
            route.abort()

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location.get("url", "") if msg.location else ""
            problems.append(f"{where['name']}: console error: {msg.text}" + (f" ({loc})" if loc else ""))

    def on_response(resp):
        if resp.status >= 400:
            problems.append(f"{where['name']}: HTTP {resp.status} for {resp.url}")

    def on_failed(req):
        if urlsplit(req.url).netloc == urlsplit(base).netloc:  # outside ones: reported by guard
            problems.append(f"{where['name']}: failed to load {req.url} ({req.failure})")

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"{where['name']}: script error: {exc}"))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    return context, page


def check_index(browser, base: str, root: str, problems: list[str]) -> None:
    """index.html is jupyter-book's redirect to the root page: it must get there."""
    where = {"name": "index.html"}
    context, page = new_page(browser, base, where, problems)
    try:
        resp = page.goto(base, wait_until="load", timeout=60_000)
        if resp is None or resp.status != 200:
            problems.append(f"index.html: did not load (HTTP {resp and resp.status})")
            return
        try:
            page.wait_for_url(base + root + ".html", wait_until="load", timeout=15_000)
        except Exception:  # noqa: BLE001 - the report says what happened
            problems.append(f"index.html: does not lead to {root}.html (stayed at {page.url})")
        page.wait_for_timeout(300)
    finally:
        context.close()


def check_build_info(browser, base: str, root: str, problems: list[str]) -> None:
    """The front page shows the provenance block (profile, date, packages, device) and its
    downloads (the trained generator, the grids' provenance) are served."""
    where = {"name": f"{root} (provenance block)"}
    context, page = new_page(browser, base, where, problems)
    try:
        page.goto(base + root + ".html", wait_until="load", timeout=60_000)
        block = page.locator(".admonition", has_text="This build")
        if block.count() != 1:
            problems.append(f"{root}: no 'This build' provenance block on the front page")
            return
        text = block.inner_text()
        for word in ("profile", "built", "device", "packages", "downloads"):
            if word not in text:
                problems.append(f"{root}: the provenance block does not say its {word}")
        links = block.locator("a").evaluate_all("(links) => links.map((a) => a.href)")
        if not any(link.endswith(".zip") for link in links):
            problems.append(f"{root}: the provenance block has no link to the trained generator (.zip)")
        for link in links:
            status = page.request.fetch(link, method="HEAD").status
            if status != 200:
                problems.append(f"{root}: download {link} answers HTTP {status}")
    finally:
        context.close()


def check_page(browser, base: str, docname: str, shots: Path, problems: list[str]) -> None:
    url = base + docname + ".html"
    where = {"name": docname}
    context, page = new_page(browser, base, where, problems)
    try:
        response = page.goto(url, wait_until="load", timeout=60_000)
        if response is None or response.status != 200:
            status = None if response is None else response.status
            problems.append(f"{docname}: page did not load (HTTP {status}) at {url}")
            return

        broken = page.evaluate(WAIT_IMAGES_JS)
        for src in broken:
            problems.append(f"{docname}: image did not load: {src}")

        math = page.evaluate(MATHJAX_JS)
        for src in math["scripts"]:
            if not src.startswith(base):
                problems.append(f"{docname}: MathJax script is not served by the book: {src}")
        if math["mathNodes"]:
            if not math["scripts"]:
                problems.append(f"{docname}: page has maths but no MathJax <script>")
            if not math["started"]:
                problems.append(
                    f"{docname}: MathJax did not start ({math['mathNodes']} math nodes, "
                    f"scripts {math['scripts']})"
                )
            if math["containers"] == 0:
                problems.append(f"{docname}: MathJax rendered nothing (no mjx-container)")
            for tex in math["unrendered"]:
                problems.append(f"{docname}: maths not rendered by MathJax: {tex!r}")
        for err in math["errors"]:
            problems.append(f"{docname}: MathJax shows a TeX error: {err!r}")

        text = page.evaluate(VISIBLE_TEXT_JS, SKIP_TAGS)
        for delim in RAW_DELIMITERS:
            i = text.find(delim)
            if i >= 0:
                problems.append(
                    f"{docname}: raw TeX delimiter {delim!r} in the visible text: "
                    f"...{snippet(text, i)}..."
                )
        m = RAW_DOLLAR_TEX.search(text)
        if m:
            problems.append(f"{docname}: raw $...$ TeX in the visible text: {m.group(0)[:80]!r}")

        page.wait_for_timeout(300)  # let late console messages (fonts) arrive
        shot = shots / (docname.replace("/", "__") + ".png")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()


def grep_cdn(html_dir: Path, problems: list[str]) -> None:
    """No built page may point at a MathJax that is not the book's own copy."""
    for html in sorted(html_dir.rglob("*.html")):
        rel = html.relative_to(html_dir).as_posix()
        if rel.startswith("_static/"):
            continue  # MathJax's own files
        for m in CDN_MATHJAX.finditer(html.read_text(errors="replace")):
            problems.append(f"{rel}: MathJax from outside the book: {m.group(0)}")


BINDER_URLPATH = re.compile(r'href="[^"]*[?&]urlpath=(?:lab/tree|tree)/([^"&]+)"')


def check_launch_buttons(html_dir: Path, docnames: list[str], repo: Path, linked: str, problems: list[str]) -> None:
    """Every page made from a notebook has a Binder button that opens ``<docname>.ipynb`` in the
    repository the book links (``linked``, its URL): the notebook as it is tracked, which the book's
    pages were executed from. A book built without a repository (``linked`` empty) has none."""
    for name in docnames:
        page = html_dir / f"{name}.html"
        if not (repo / f"{name}.ipynb").is_file() or not page.is_file():
            continue
        html = page.read_text(errors="replace")
        targets = set(BINDER_URLPATH.findall(html))
        if not linked:
            if targets:
                problems.append(f"{name}: a Binder button, but the book links no repository")
            continue
        if not targets:
            problems.append(f"{name}: no Binder launch button")
        if "/".join(linked.rstrip("/").split("/")[-2:]) not in html:
            problems.append(f"{name}: the page does not link the repository {linked}")
        for target in sorted(targets):
            if target != f"{name}.ipynb" or not (repo / target).is_file():
                problems.append(f"{name}: the Binder button opens {target}, not {name}.ipynb of the repository")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--toc", type=Path, default=ROOT / "_toc.yml")
    ap.add_argument("--config", type=Path, default=ROOT / "_build" / "src" / "_config.yml",
                    help="the configuration the book was built with (make html's copy)")
    ap.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium",
    )
    args = ap.parse_args(argv)

    if not (args.html / "index.html").is_file():
        print(f"check_built_book: no built book at {args.html} (run `make book` first)")
        return 2
    if not Path(args.chromium).is_file():
        print(f"check_built_book: no Chromium at {args.chromium} (`make browser` installs it)")
        return 2

    from playwright.sync_api import sync_playwright

    docnames = toc_docnames(args.toc)
    args.screenshots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    results: list[tuple[str, int]] = []  # (what was checked, how many problems)

    def tally(name: str, before: int) -> None:
        bad = len(problems) - before
        results.append((name, bad))
        print(f"  {'FAIL' if bad else 'ok  '} {name}" + (f" ({bad} problems)" if bad else ""), flush=True)

    before = len(problems)
    for name in docnames:
        if not (args.html / f"{name}.html").is_file():
            problems.append(f"{name}: listed in {args.toc.name} but not built ({name}.html)")
    grep_cdn(args.html, problems)
    linked = yaml.safe_load(args.config.read_text())["repository"]["url"]
    check_launch_buttons(args.html, docnames, args.toc.parent, linked, problems)
    buttons = f"Binder buttons into {linked}" if linked else "no Binder buttons (no repository linked: REPOSITORY_URL)"
    tally(f"static: every toc page built, no MathJax URL outside the book, {buttons}", before)

    server, base = serve(args.html)
    t0 = time.time()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True
            )
            before = len(problems)
            check_index(browser, base, docnames[0], problems)
            tally("index.html (redirect)", before)
            before = len(problems)
            check_build_info(browser, base, docnames[0], problems)
            tally("front page: provenance block and downloads", before)
            for name in docnames:
                before = len(problems)
                check_page(browser, base, name, args.screenshots, problems)
                tally(name, before)
            browser.close()
    finally:
        server.shutdown()

    failed = sum(1 for _, bad in results if bad)
    print(f"checked {len(docnames)} pages in Chromium in {time.time() - t0:.1f} s; "
          f"screenshots in {args.screenshots}")
    if problems:
        print(f"\nThe built book has {len(problems)} problem(s):")
        for p in problems:
            print(f"  - {p}")
    print(f"check_built_book: {len(results) - failed} passed, {failed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

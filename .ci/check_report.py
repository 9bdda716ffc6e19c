#!/usr/bin/env python3
"""Checks `bpdl reproduce`'s report.html in a real headless browser (Debian's chromium).

Usage: check_report.py REPORT_DIR [SCREENSHOT.png]

1. Loads a copy of report.html with a probe script appended and reads the result back with
   `--dump-dom`: every <img> must have decoded (a broken data URI has naturalWidth 0), there must
   be one inline <svg> per line chart and one <img> per sample grid that report.md shows, each
   SVG drawn with a size and its plot elements, every table-of-contents link must point at an
   existing anchor, and no paragraph, list item, cell, caption or heading may show Markdown
   literally (`**` or a backtick).
2. Takes a 1200x3000 screenshot of report.html and decodes it (standard library only): a PNG of
   that size that is not mostly blank.
3. Checks that the probe can fail: a copy with one broken image and a copy with one chart left
   out must both be rejected.

Only the standard library; chromium is the only program it runs.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

WINDOW = (1200, 3000)

PROBE = """
<script>
window.addEventListener('load', () => {
  const r = {images: [], svgs: [], toc: [], literal: []};
  for (const i of document.querySelectorAll('img')) {
    r.images.push({alt: i.alt, ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0});
  }
  for (const s of document.querySelectorAll('figure > svg')) {
    const box = s.getBoundingClientRect();
    r.svgs.push({label: s.getAttribute('aria-label'), width: box.width, height: box.height,
                 elements: s.querySelectorAll('line, polyline, path, circle, rect, text').length});
  }
  for (const a of document.querySelectorAll('nav.toc a')) {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    r.toc.push({id: id, found: document.getElementById(id) !== null});
  }
  for (const e of document.querySelectorAll('p, li, td, th, figcaption, h1, h2, h3')) {
    const t = e.innerText;
    if (t.includes('**') || t.includes('`')) r.literal.push(t.slice(0, 120));
  }
  const out = document.createElement('pre');
  out.id = 'bpdl-check';
  out.textContent = JSON.stringify(r);
  document.body.appendChild(out);
});
</script>
"""

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
]


def chromium(*args):
    """Runs chromium with a fresh profile; its stdout (stderr shown only on failure)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("check_report: chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if p.returncode != 0:
        sys.exit(f"check_report: chromium failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout


def expected_figures(report_dir):
    """From report.md: (line charts, other images), by whether the PNG has an SVG beside it."""
    md = open(os.path.join(report_dir, "report.md"), encoding="utf-8").read()
    charts, images = [], []
    for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", md):
        stem, ext = os.path.splitext(target)
        if ext == ".png" and os.path.isfile(os.path.join(report_dir, stem + ".svg")):
            charts.append(target)
        else:
            images.append(target)
    return charts, images


def probe(html_text, charts, images):
    """The problems the browser finds in a page (empty when it is right)."""
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "probe.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(html_text.replace("</body>", PROBE + "</body>", 1))
        dom = chromium("--virtual-time-budget=10000", "--dump-dom", "file://" + page)
    m = re.search(r'<pre id="bpdl-check">(.*?)</pre>', dom, re.S)
    if not m:
        return ["the probe did not run (no result in the dumped DOM)"]
    text = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    r = json.loads(text.replace("&amp;", "&"))
    problems = []
    if len(r["images"]) != len(images):
        problems.append(f"{len(r['images'])} <img> on the page, report.md shows {len(images)}")
    problems += [f"image not decoded: {i['alt']!r}" for i in r["images"] if not i["ok"]]
    if len(r["svgs"]) != len(charts):
        problems.append(f"{len(r['svgs'])} inline <svg>, report.md shows {len(charts)} charts")
    for s in r["svgs"]:
        if s["width"] < 100 or s["height"] < 50 or s["elements"] < 20:
            problems.append(f"chart not drawn: {s}")
    if not r["toc"]:
        problems.append("no table of contents")
    problems += [f"contents link to a missing anchor: #{t['id']}" for t in r["toc"] if not t["found"]]
    problems += [f"Markdown shown literally: {t!r}" for t in r["literal"]]
    return problems


def png_non_white_fraction(path):
    """(width, height, fraction of pixels darker than near-white) of an 8-bit RGB(A) PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"check_report: {path} is not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    if depth != 8 or color not in (2, 6) or interlace:
        sys.exit(f"check_report: unexpected PNG format (depth {depth}, colour {color})")
    bpp = 3 if color == 2 else 4
    stride = w * bpp
    raw = zlib.decompress(idat)
    if len(raw) != h * (stride + 1):
        sys.exit("check_report: the screenshot's image data is truncated")
    prev, dark = bytearray(stride), 0
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + (left + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        prev = line
        dark += sum(1 for i in range(0, stride, bpp) if min(line[i : i + 3]) < 235)
    return w, h, dark / (w * h)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    report_dir = os.path.abspath(sys.argv[1])
    started = time.time()
    html_path = os.path.join(report_dir, "report.html")
    html = open(html_path, encoding="utf-8").read()
    charts, images = expected_figures(report_dir)
    if not charts or not images:
        sys.exit(f"check_report: report.md shows {len(charts)} charts and {len(images)} images")

    problems = probe(html, charts, images)
    if problems:
        sys.exit("check_report: report.html is wrong in the browser:\n  " + "\n  ".join(problems))

    # the probe must be able to fail: one broken image, one chart left out
    broken_image = re.sub(r"(data:image/png;base64,)[A-Za-z0-9+/]{64}", r"\1" + "A" * 64, html, 1)
    dropped_chart = re.sub(r"<svg role=\"img\".*?</svg>", "", html, 1, flags=re.S)
    for name, page in [("a broken image", broken_image), ("a chart left out", dropped_chart)]:
        if page == html or not probe(page, charts, images):
            sys.exit(f"check_report: the probe did not notice {name}")

    with tempfile.TemporaryDirectory() as tmp:
        shot = sys.argv[2] if len(sys.argv) == 3 else os.path.join(tmp, "report.png")
        chromium(f"--screenshot={shot}", "file://" + html_path)
        w, h, dark = png_non_white_fraction(shot)
    if (w, h) != WINDOW or dark < 0.02:
        sys.exit(f"check_report: screenshot {w}x{h}, {100 * dark:.1f} % non-white: blank page?")
    print(
        f"report.html in chromium: {len(images)} images decoded, {len(charts)} inline SVG charts, "
        f"contents and anchors ok, screenshot {100 * dark:.1f} % non-white "
        f"({time.time() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()

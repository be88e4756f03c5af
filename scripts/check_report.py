#!/usr/bin/python3
"""Checks a `funnel report` page (docs/report.md, "Checked in a real browser").

    check_report.py REPORT.html [--ids ID,ID,...] [--screenshot PNG] [--chromium PATH]

1. Static: no <script>, <link>, <img>, <iframe>, @import, external url(...) or http(s)
   address outside the SVG namespace; every inline <svg> parses as XML and has a viewBox; no
   id used twice.
2. In headless Chromium (Debian's `chromium`): the page loads from the file with no console
   message of level error (and no uncaught exception), makes no network request (Chromium's
   net log, requests of the page's file:// origin), every id of --ids is in the DOM after load,
   and a screenshot of the page is not blank (more than one colour, some dark pixels).
Exits 1 with a line naming each failure; 2 when Chromium is missing (with how to install it).
Standard library only: runs under Debian's /usr/bin/python3.
"""
import argparse, json, os, re, shutil, struct, subprocess, sys, tempfile, zlib
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"


def static_checks(html):
    errors = []
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        if re.search(r"<%s\b" % tag, html, re.I):
            errors.append("the page has a <%s> element" % tag)
    if "@import" in html:
        errors.append("the style sheet imports another")
    for m in re.finditer(r"url\(\s*['\"]?([^)'\"]*)", html):
        if not m.group(1).startswith("#"):
            errors.append("url(%s) refers outside the page" % m.group(1))
    for m in re.finditer(r"https?://[^\s\"'<>]+", html):
        if m.group(0) != SVG_NS:
            errors.append("address %s in the page" % m.group(0))
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    if not svgs:
        errors.append("no inline SVG")
    for k, svg in enumerate(svgs):
        try:
            root = ET.fromstring(svg)
        except ET.ParseError as e:
            errors.append("SVG %d is not well-formed XML: %s" % (k + 1, e))
            continue
        if root.tag != "{%s}svg" % SVG_NS:
            errors.append("SVG %d: root element %s" % (k + 1, root.tag))
        vb = root.get("viewBox", "").split()
        if len(vb) != 4 or float(vb[2]) <= 0 or float(vb[3]) <= 0:
            errors.append("SVG %d (id %s): no usable viewBox" % (k + 1, root.get("id")))
    ids = re.findall(r"\bid=\"([^\"]+)\"", html)
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        errors.append("ids used more than once: %s" % ", ".join(dup[:10]))
    return errors, len(svgs)


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), "PNG colour type %d depth %d" % (colour, depth)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--disable-extensions",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]


def browser_checks(chromium, page, ids, screenshot):
    errors = []
    url = "file://" + os.path.abspath(page)
    with tempfile.TemporaryDirectory() as tmp:
        net = os.path.join(tmp, "net.json")
        shot = screenshot or os.path.join(tmp, "shot.png")
        run = subprocess.run(
            [chromium] + CHROMIUM_FLAGS + ["--user-data-dir=" + tmp + "/profile",
             "--enable-logging=stderr", "--v=0", "--log-net-log=" + net,
             "--window-size=1200,1800", "--screenshot=" + shot, url],
            capture_output=True, text=True, timeout=120)
        if run.returncode != 0 or not os.path.exists(shot):
            return ["chromium failed (exit %d): %s" % (run.returncode, run.stderr[-2000:])]
        for line in run.stderr.splitlines():
            # The page has no script: any console message (console.error, an uncaught
            # exception, a CSP or resource error) is a failure. Chromium logs them as
            # "...:CONSOLE:<line>] "message", source: <url>".
            if ":CONSOLE" in line:
                errors.append("console message: " + line.split("] ", 1)[-1][:300])
        log = json.load(open(net))
        types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
        for e in log["events"]:
            p = e.get("params", {})
            if types.get(e["type"]) == "URL_REQUEST_START_JOB" and \
                    "file://" in p.get("network_isolation_key", "") and \
                    p.get("url", "") != url:
                errors.append("network request from the page: " + p.get("url", "?"))
        w, h, bpp, rows = png_pixels(shot)
        colours, dark = set(), 0
        for r in rows[::7]:
            for x in range(0, w * bpp, bpp * 5):
                px = bytes(r[x:x + 3])
                colours.add(px)
                dark += sum(px) < 300
        if len(colours) < 3 or dark < 50:
            errors.append("the screenshot is blank (%d colours, %d dark samples)" % (len(colours), dark))
        # Printed: Chromium's own PDF of the page (the print style sheet applies).
        pdf = os.path.join(tmp, "page.pdf")
        subprocess.run([chromium] + CHROMIUM_FLAGS + ["--user-data-dir=" + tmp + "/profile3",
                        "--no-pdf-header-footer", "--print-to-pdf=" + pdf, url],
                       capture_output=True, text=True, timeout=120)
        body = open(pdf, "rb").read() if os.path.exists(pdf) else b""
        pages = len(re.findall(rb"/Type\s*/Page[^s]", body))
        if not body.startswith(b"%PDF") or pages < 1:
            errors.append("printing the page gave no PDF pages")
        dom = subprocess.run([chromium] + CHROMIUM_FLAGS + ["--user-data-dir=" + tmp + "/profile2",
                              "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
        for i in ids:
            if not re.search(r"\bid=\"%s\"" % re.escape(i), dom):
                errors.append("id %s is not in the page's DOM after load" % i)
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--ids", default="")
    ap.add_argument("--screenshot", default="")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    a = ap.parse_args()
    html = open(a.page, encoding="utf-8").read()
    ids = [i for i in a.ids.split(",") if i]
    errors, n_svg = static_checks(html)
    for i in ids:
        if not re.search(r"\bid=\"%s\"" % re.escape(i), html):
            errors.append("id %s is not in the page" % i)
    if not os.access(a.chromium, os.X_OK):
        print("check_report: Chromium is missing (%s): install it with scripts/setup.sh "
              "(Debian: apt-get install chromium)" % a.chromium, file=sys.stderr)
        return 2
    errors += browser_checks(a.chromium, a.page, ids, a.screenshot)
    for e in errors:
        print("check_report: %s: %s" % (a.page, e), file=sys.stderr)
    if not errors:
        print("check_report: %s: %d SVGs well-formed, %d ids, loaded in Chromium with no console "
              "message and no network request, screenshot not blank, printed" % (a.page, n_svg, len(ids)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

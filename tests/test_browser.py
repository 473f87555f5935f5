"""The HTML solution of every bundled problem in a real browser (headless Chromium, where installed): every
quantity's formula block is laid out with a size, every number in it is rendered, and the page fits a phone's
width without sideways scrolling of the page itself (long formulas scroll in their own box)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import BUNDLED, BUNDLED_GRAPHS
from tutor.solver import solve
from tutor.views.document import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: Run only in the test's copy of the page: marks each formula block and each number with its rendered size.
PROBE = """<script>
addEventListener("load", () => {
  const bad = [];
  for (const block of document.querySelectorAll(".q")) {
    const math = block.querySelector("math").getBoundingClientRect();
    if (!(math.width > 0 && math.height > 0)) bad.push(block.id);
    for (const mn of block.querySelectorAll("mn")) {
      const box = mn.getBoundingClientRect();
      if (!(box.width > 0 && box.height > 0)) bad.push(block.id + ":" + mn.textContent);
    }
  }
  const page = document.documentElement;
  const report = document.createElement("pre");
  report.id = "probe";
  report.textContent = JSON.stringify({blocks: document.querySelectorAll(".q").length, bad,
    overflow: page.scrollWidth > page.clientWidth});
  document.body.appendChild(report);
});
</script>"""


def _browse(tmp_path, html: str, *flags: str) -> subprocess.CompletedProcess:
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *flags, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", BUNDLED + BUNDLED_GRAPHS, ids=lambda p: p.stem)
def test_every_value_is_rendered_on_a_phone(tmp_path, path):
    import json

    trace = solve(path)
    html = render(trace, "html").replace("</body>", PROBE + "</body>")
    done = _browse(tmp_path, html, "--window-size=412,915", "--virtual-time-budget=5000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-2000:]
    report = json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))
    assert report == {"blocks": len(trace), "bad": [], "overflow": False}


def test_a_screenshot_is_drawn(tmp_path):
    shot = tmp_path / "shot.png"
    done = _browse(tmp_path, render(solve("mazur-2-2-2"), "html"), "--window-size=412,915", f"--screenshot={shot}")
    assert done.returncode == 0 and shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000

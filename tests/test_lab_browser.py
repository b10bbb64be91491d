"""The lab in a real browser: ``minigan lab --browser`` served by matplotlib's WebAgg, driven by headless
Chromium (Debian's ``chromium``, through Playwright) as a person would use it: clicks and a drawing."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from minigan.app import lab
from minigan.app.session import Session

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if os.environ.get("MINIGAN_REQUIRE_BROWSER") and CHROMIUM is None:  # CI must run these tests, not skip them
    raise RuntimeError("MINIGAN_REQUIRE_BROWSER is set but there is no chromium on PATH (apt-get install -y chromium)")
playwright = pytest.importorskip("playwright.sync_api",
                                 reason="needs Playwright's Python package (pip install playwright)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install -y chromium)")
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # small networks; no thread waits for a core
FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]  # quiet on a closed network, as root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((lab.LOOPBACK, 0))
        return probe.getsockname()[1]


def start_lab(port: int, save_file: Path) -> tuple[subprocess.Popen, str]:
    """``minigan lab --browser`` as a user starts it; returns the process and the address it printed."""
    server = subprocess.Popen([sys.executable, "-m", "minigan", "lab", "--browser", "--port", str(port),
                               "--save-file", str(save_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, **ONE_THREAD, "MPLBACKEND": "Agg"})  # it picks WebAgg
    line = server.stdout.readline()
    assert "http://127.0.0.1:" in line, (line, server.stderr.read() if server.poll() is not None else "")
    return server, line.split("open ", 1)[1].split(" ", 1)[0]


def not_blank(path) -> bool:
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    return colours is None or len(colours) > 200


class Page:
    """Clicks on the lab's figure at the places of ``lab.LAYOUT``."""

    def __init__(self, page):
        self.page = page
        self.box = page.locator("canvas.mpl-canvas").bounding_box()

    def at(self, x: float, y: float) -> tuple[float, float]:
        """Figure fractions (from the bottom left) to page pixels."""
        return self.box["x"] + x * self.box["width"], self.box["y"] + (1 - y) * self.box["height"]

    def click(self, name: str) -> None:
        left, bottom, width, height = lab.LAYOUT[name]
        self.page.mouse.click(*self.at(left + width / 2, bottom + height / 2))
        self.page.wait_for_timeout(300)

    def in_frame(self, u: float, v: float) -> tuple[float, float]:
        """A point of the frame's axes, in axes fractions."""
        left, bottom, width, height = lab.LAYOUT["frame"]
        return self.at(left + u * width, bottom + v * height)


def saved(path: Path, after: float, timeout: float = 60) -> Session:
    """The session the lab saved to ``path`` once its file is newer than ``after``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.stat().st_mtime > after:
            time.sleep(0.3)  # the save is atomic; give a slow machine a moment past the rename
            return Session.load(path)
        time.sleep(0.2)
    raise AssertionError(f"the lab did not save to {path} within {timeout} s")


def test_the_lab_in_a_real_browser_steps_plays_draws_and_saves(tmp_path):
    save_file = tmp_path / "lab.npz"
    server, url = start_lab(free_port(), save_file)
    try:
        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": 1300, "height": 800})
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("canvas.mpl-canvas", timeout=60_000)
            shot = tmp_path / "lab.png"
            deadline = time.time() + 60
            while True:  # until the first frame has come over the websocket
                page.screenshot(path=str(shot))
                if not_blank(shot) or time.time() > deadline:
                    break
                page.wait_for_timeout(500)
            assert not_blank(shot), "the page shows no lab"
            lab_page = Page(page)

            lab_page.click("step D")
            lab_page.click("step G")
            before = time.time()
            lab_page.click("save")
            session = saved(save_file, before)
            assert (session.gan.d_steps, session.gan.g_steps) == (1, 1)

            lab_page.click("play")
            page.wait_for_timeout(6000)
            lab_page.click("play")  # pause
            page.wait_for_timeout(2000)  # the last frame of play arrives
            page.screenshot(path=str(shot))
            assert not_blank(shot)
            before = time.time()
            lab_page.click("save")
            session = saved(save_file, before)
            assert session.gan.step >= lab.FAST_ROUNDS and session.gan.d_steps == session.gan.step + 1
            screenshots = os.environ.get("MINIGAN_SCREENSHOTS")  # demos/make_readme_assets.py's folder for it
            if screenshots:
                shutil.copy(shot, Path(screenshots) / "lab_browser.png")
                (Path(screenshots) / "results.json").write_text(json.dumps(
                    {"rounds": session.gan.step, "d_steps": session.gan.d_steps, "g_steps": session.gan.g_steps}))

            lab_page.click("draw")
            page.wait_for_timeout(1000)
            page.mouse.move(*lab_page.in_frame(0.2, 0.3))
            page.mouse.down()
            for i in range(1, 21):
                page.mouse.move(*lab_page.in_frame(0.2 + 0.03 * i, 0.3 + 0.02 * i))
                page.wait_for_timeout(30)
            page.mouse.up()
            lab_page.click("draw")  # done drawing: a new GAN for the drawing
            lab_page.click("step round")
            before = time.time()
            lab_page.click("save")
            session = saved(save_file, before)
            assert session.settings.data == "drawn" and len(session.drawing) >= 10
            assert (session.drawing[:, 0].min(), session.drawing[:, 0].max()) == pytest.approx((0.2, 0.8), abs=0.05)
            assert (session.gan.d_steps, session.gan.g_steps) == (1, 1)
            page.screenshot(path=str(shot))
            assert not_blank(shot)
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err[-2000:]
    assert "stopped after 1 D-steps and 1 G-steps on your drawing" in out


def test_a_port_in_use_gets_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind((lab.LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "minigan", "lab", "--browser", "--port", str(port)],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the listening sockets from Linux's /proc/net/tcp")
def test_the_lab_listens_on_loopback_only_even_when_matplotlib_is_told_otherwise(tmp_path):
    """A matplotlibrc asking WebAgg for every address is overruled: the socket is 127.0.0.1's."""
    (tmp_path / "matplotlibrc").write_text("webagg.address: 0.0.0.0\n")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "minigan", "lab", "--browser", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "MATPLOTLIBRC": str(tmp_path / "matplotlibrc")})
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                     if line.split()[3] == "0A"]  # state LISTEN; local address as hex ip:port
        ours = [address for address in listening if int(address.split(":")[1], 16) == port]
        assert ours == ["0100007F:" + f"{port:04X}"]  # 127.0.0.1, little-endian hex
        assert not Path("/proc/net/tcp6").exists() or not any(
            int(line.split()[1].split(":")[1], 16) == port
            for line in Path("/proc/net/tcp6").read_text().splitlines()[1:] if line.split()[3] == "0A")
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)

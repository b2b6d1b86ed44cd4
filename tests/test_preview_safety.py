"""The preview serves briefs only (issue 20): the files the build published, read inside reports/ without
following links; no listing, notebook, failed/ or bookkeeping; Host limited to the bound address and localhost;
idle connections closed and their number bounded; the live reload works on a real exported brief in Chromium."""

from __future__ import annotations

import http.client
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from helpers import chromium_command, needs_chromium

from mineral_analysis.publish import preview, record
from mineral_analysis.publish.preview import PreviewState, editor_temporary, inject, make_server

REAL_META = (
    "<meta content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'\" http-equiv=\"Content-Security-Policy\"/>"
)


@pytest.fixture
def reports(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    files = {"index.html": b"<html><body>index</body></html>", "country-kor.html": b"<html><body>kor</body></html>"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest = {
        "index": {"index.html": record.sha256_bytes(files["index.html"])},
        "briefs": {"country-kor": {"outputs": {"country-kor.html": record.sha256_bytes(files["country-kor.html"])}}},
    }
    record.write_record(folder, manifest)
    (folder / "country-kor.ipynb").write_text("{}")
    (folder / "failed").mkdir()
    (folder / "failed" / "country-usa.ipynb").write_text("{}")
    (folder / ".build-cache.json").write_text("{}")
    secret = tmp_path / "secret.html"
    secret.write_text("the secret line")
    (folder / "evil.html").symlink_to(secret)
    (folder / "outside").symlink_to(tmp_path, target_is_directory=True)
    # A link named in SHA256SUMS by whoever wrote it there: still not followed.
    with open(folder / record.SUMS, "a") as sums:
        sums.write(f"{record.sha256_bytes(b'the secret line')}  evil.html\n")
    return folder


@pytest.fixture
def server(reports):
    state = PreviewState()
    httpd = make_server(reports, state, 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, state
    httpd.shutdown()
    httpd.server_close()


def _get(httpd, path, host=None):
    port = httpd.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host or f"127.0.0.1:{port}")
    connection.endheaders()
    answer = connection.getresponse()
    return answer.status, answer.read().decode("utf-8", errors="replace")


def test_only_published_briefs_are_served(server):
    httpd, _ = server
    status, text = _get(httpd, "/")
    assert status == 200 and "index" in text and "<script nonce=" in text
    assert _get(httpd, "/country-kor.html")[0] == 200
    for path in (
        "/country-kor.ipynb",
        "/failed/country-usa.ipynb",
        "/failed/",
        "/.build-cache.json",
        "/SHA256SUMS",
        "/MANIFEST.json",
        "/evil.html",
        "/outside/secret.html",
        "/outside/",
        "/../secret.html",
        "/%2e%2e/secret.html",
        "/%00",
        "/%ff",
        "/index.html/",
    ):
        status, text = _get(httpd, path)
        assert status == 404, (path, status)
        assert "secret line" not in text and "Directory listing" not in text


def test_a_host_other_than_the_bound_address_or_localhost_is_refused(server):
    httpd, _ = server
    port = httpd.server_address[1]
    assert _get(httpd, "/", host="evil.example")[0] == 421
    assert _get(httpd, "/", host=f"rebind.example:{port}")[0] == 421
    assert _get(httpd, "/", host=f"localhost:{port}")[0] == 200
    assert _get(httpd, "/", host="localhost")[0] == 200


def test_idle_connections_are_closed_and_their_number_bounded(reports, monkeypatch):
    monkeypatch.setattr(preview, "SOCKET_TIMEOUT", 1.0)
    monkeypatch.setattr(preview, "MAX_CONNECTIONS", 4)
    httpd = make_server(reports, PreviewState(), 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        idle = [socket.create_connection(httpd.server_address, timeout=10) for _ in range(12)]
        closed = 0
        for sock in idle:  # every one is closed by the server: at once beyond the bound, after the timeout within
            sock.settimeout(10)
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
        assert closed == 12
        time.sleep(0.5)
        assert _get(httpd, "/")[0] == 200  # and the preview still answers
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_busy_port_names_the_port_and_suggests_another(reports):
    taken = socket.socket()
    taken.bind((preview.HOST, 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(OSError, match=f"port {port} on 127.0.0.1 is in use; choose another with --port"):
            make_server(reports, PreviewState(), port)
    finally:
        taken.close()


def test_inject_finds_the_csp_meta_in_the_exporters_attribute_order():
    page = f"<html><head>{REAL_META}</head><body><p>brief</p></body></html>"
    served = inject(page, 1, "", "N1")
    assert "script-src &#x27;nonce-N1&#x27;" in served and "connect-src &#x27;self&#x27;" in served
    assert served.count("Content-Security-Policy") == 1


def test_a_record_with_dotted_capital_i_does_not_move_the_script():
    page = f"<html><head>{REAL_META}</head><body>" + "<p>İzmir İstanbul</p>" * 50 + "</body></html>"
    served = inject(page, 1, "", "N1")
    assert served.endswith("</script></body></html>")
    assert served.count("İzmir İstanbul") == 50


@pytest.mark.parametrize(
    "name,ignored",
    [
        ("sedAb12Cd", True),
        (".financing.csv.swp", True),
        ("financing.csv~", True),
        (".#financing.csv", True),
        ("4913", True),
        ("financing.csv", False),
        ("agency.ipynb", False),
        ("sediment.py", False),
    ],
)
def test_editor_temporaries_are_not_edits(name, ignored):
    assert editor_temporary(f"/project/data/raw/{name}") is ignored


@needs_chromium
def test_live_reload_runs_on_a_real_exported_brief_in_chromium(tmp_path, processed_dir):
    from mineral_analysis.publish.build import build_briefs

    reports = tmp_path / "reports"
    result = build_briefs(
        only=["country:SGP"], formats=("html",), processed_dir=processed_dir, reports_dir=reports, progress=False
    )
    assert not result.failed, result.summary()
    state = PreviewState()
    requests: list[str] = []
    httpd = make_server(reports, state, 0)
    handle = httpd.RequestHandlerClass.do_GET

    def counting(self):
        requests.append(self.path)
        return handle(self)

    httpd.RequestHandlerClass.do_GET = counting
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    browser = subprocess.Popen(
        chromium_command(
            tmp_path / "profile", "--remote-debugging-port=0", f"http://127.0.0.1:{port}/country-sgp.html"
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120

        def wait_until(condition, what):
            while not condition():
                assert time.monotonic() < deadline, f"{what} did not happen; requests: {requests}"
                time.sleep(0.2)

        # The page's script ran under the brief's own (loosened) CSP: it long-polls the preview.
        wait_until(lambda: any(p.startswith(preview.WAIT_PATH) for p in requests), "the long poll")
        pages_before = requests.count("/country-sgp.html")
        state.publish("")  # a rebuild: the page reloads itself
        wait_until(lambda: requests.count("/country-sgp.html") > pages_before, "the reload")
    finally:
        browser.terminate()
        browser.wait(30)
        httpd.shutdown()
        httpd.server_close()
    assert Path(reports / "country-sgp.html").read_bytes().count(b"<script") == 0  # the file itself is untouched


def test_every_line_of_the_process_and_its_children_is_timestamped_off_a_terminal():
    import re
    import sys

    code = (
        "import subprocess, sys\n"
        "from mineral_analysis.cli import DescriptorTimestamps\n"
        "relay = DescriptorTimestamps()\n"
        "print('from the preview', flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n"
        "subprocess.run([sys.executable, '-c', \"import os; os.write(2, b'[IPKernelApp] WARNING | a kernel\\\\n'); "
        "os.write(1, b'  built country:KOR\\\\n')\"])\n"
        "relay.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines() + done.stderr.splitlines()
    assert len(lines) == 4, lines
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")
    assert all(stamp.match(line) for line in lines), lines
    assert any(line.endswith("[IPKernelApp] WARNING | a kernel") for line in lines)

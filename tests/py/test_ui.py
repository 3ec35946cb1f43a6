"""`rpcsh ui` as a person uses it: Debian's chromium (the system executable: Playwright downloads
no browser) driving the page, its controls found by role and name as a screen reader finds them;
and the refusals of a page that can call your servers, as raw HTTP from another origin or host.
Screenshots go to target/ui-shots (the README's come from there)."""
import http.client
import json
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest
from conftest import RPCSH
from playwright.sync_api import expect, sync_playwright

CHROMIUM = shutil.which("chromium")
SHOTS = pathlib.Path(__file__).resolve().parents[2] / "target" / "ui-shots"
BERKSHIRE = "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"


class Ui:
    """A running `rpcsh ui --no-browser ADDR`: `url` as printed (with the token), `host`, `token`."""

    def __init__(self, addr: str):
        self.proc = subprocess.Popen([RPCSH, "ui", "--no-browser", addr], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("ui on http://127.0.0.1:"), (line, self.proc.stderr.read())
        self.url = line.removeprefix("ui on ").strip()
        self.host = re.match(r"http://([^/]+)/", self.url).group(1)
        self.token = self.url.split("token=")[1]

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def get(self, path, headers=None):
        conn = http.client.HTTPConnection(self.host, timeout=10)
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()


@pytest.fixture
def ui(server):
    u = Ui(server.addr)
    yield u
    u.stop()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, "chromium is not installed (scripts/debian-peers.sh installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_method(page, ui, service, method):
    page.goto(ui.url)
    expect(page.get_by_role("status", name="Connection")).to_have_text("ready")
    page.get_by_role("navigation", name="Services").get_by_text(service, exact=True).click()
    page.get_by_role("button", name=method, exact=True).click()
    expect(page.get_by_role("heading", name=f"{service}/{method}")).to_be_visible()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_method_found_its_form_filled_and_its_answer_shown(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "RouteGuide", "GetFeature")
    expect(page.get_by_label("Documentation")).to_contain_text("rpc GetFeature(.Point) returns (.Feature)")
    page.get_by_label("latitude").fill("409146138")
    page.get_by_label("longitude").fill("-746188906")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
    expect(page.get_by_role("list", name="Response messages")).to_contain_text(BERKSHIRE)
    expect(page.get_by_role("list", name="Response headers")).to_contain_text("content-type: application/grpc")
    shot(page, "get-feature")
    # The raw JSON tab holds what the form says, and what is typed there is sent.
    page.get_by_role("tab", name="Raw JSON").click()
    assert json.loads(page.get_by_label("Request JSON").input_value()) == {
        "latitude": 409146138, "longitude": -746188906}
    page.get_by_label("Request JSON").fill('{"latitude": 0, "longitude": 0}')
    page.get_by_role("tab", name="Form").click()
    expect(page.get_by_label("latitude")).to_have_value("0")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
    expect(page.get_by_role("list", name="Response messages")).not_to_contain_text(BERKSHIRE)


def test_search_finds_a_method_of_a_closed_service(ui, browser):
    page = browser.new_page()
    page.goto(ui.url)
    page.get_by_label("Search methods").fill("sayhello")
    nav = page.get_by_role("navigation", name="Services")
    # Greeter's SayHello and SayHelloAgain, Compute's SayHello: their services opened to show them.
    expect(nav.get_by_role("button", name="SayHello", exact=True)).to_have_count(2)
    expect(nav.get_by_role("list", name="Methods of Greeter").get_by_role("button", name="SayHelloAgain")).to_be_visible()
    expect(nav.get_by_role("button", name="GetFeature")).to_be_hidden()


def test_a_server_stream_shows_its_messages_while_it_runs(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "rpcsh.testing.v1.Testing", "Generate")
    page.get_by_label("count").fill("8")
    page.get_by_label("interval").fill("0.3s")
    page.get_by_role("button", name="Send", exact=True).click()
    messages = page.get_by_role("list", name="Response messages").get_by_role("listitem")
    expect(messages.first).to_be_visible()
    # Messages shown while the call still runs (it takes 2 s).
    expect(page.get_by_role("status", name="Call status")).to_have_text("running…")
    assert 1 <= messages.count() < 8
    expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 8 message(s)")
    expect(messages).to_have_count(8)


def test_a_long_stream_is_cancelled_from_the_page(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "rpcsh.testing.v1.Testing", "Generate")
    page.get_by_label("count").fill("1000")
    page.get_by_label("interval").fill("0.2s")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("list", name="Response messages").get_by_role("listitem")).to_have_count(2)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_label("Shell output")).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()


def test_a_bidi_stream_sends_message_by_message_and_half_closes(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "RouteGuide", "RouteChat")
    page.get_by_role("tab", name="Raw JSON").click()
    note = '{"location": {"latitude": 7, "longitude": 7}, "message": "%s"}'
    page.get_by_label("Request JSON").fill(note % "first")
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_label("Request JSON").fill(note % "second")
    page.get_by_role("button", name="Send message").click()
    page.get_by_label("Request JSON").fill(note % "third")
    page.get_by_role("button", name="Send message").click()
    messages = page.get_by_role("list", name="Response messages")
    # Each note brings back the notes sent at its location before it: 0 + 1 + 2.
    expect(messages.get_by_role("listitem")).to_have_count(3)
    expect(page.get_by_role("status", name="Call status")).to_have_text("running…")
    page.get_by_role("button", name="End stream").click()
    expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 3 message(s)")
    shot(page, "route-chat")


def test_an_error_shows_its_code_and_details(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "rpcsh.testing.v1.Testing", "Echo")
    page.get_by_label("code").fill("9")
    page.get_by_label("message", exact=True).fill("not now")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status", name="Call status")).to_have_text("failed: FailedPrecondition")
    log = page.get_by_label("Shell output")
    expect(log).to_contain_text("not now")
    expect(log).to_contain_text("REQUESTED")  # the ErrorInfo detail, decoded


def test_request_metadata_is_sent(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "rpcsh.testing.v1.Testing", "Echo")
    page.get_by_label("payload", exact=True).fill("aGk=")
    page.get_by_label("Request metadata").fill("x-team: core\nx-run: 7")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
    # The demo's Echo answers with the x- headers it was sent.
    headers = page.get_by_role("list", name="Response headers")
    expect(headers).to_contain_text("x-team: core")
    expect(headers).to_contain_text("x-run: 7")
    expect(page.get_by_role("list", name="Response messages")).to_contain_text('"payload": "aGk="')


def test_copy_as_gives_commands_the_cli_runs(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "RouteGuide", "GetFeature")
    page.get_by_label("latitude").fill("409146138")
    page.get_by_label("longitude").fill("-746188906")
    page.get_by_role("button", name="Copy as rpcsh").click()
    command = page.get_by_label("Command").input_value()
    assert command.startswith("rpcsh call"), command
    out = subprocess.run([RPCSH, *shlex.split(command)[1:]], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and BERKSHIRE in out.stdout, out
    page.get_by_role("button", name="Copy as grpcurl").click()
    command = page.get_by_label("Command").input_value()
    assert command.startswith("grpcurl -plaintext -d"), command
    out = subprocess.run([RPCSH, *shlex.split(command)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and BERKSHIRE in out.stdout, out


def test_a_servers_strings_are_text_never_html(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "Greeter", "SayHello")
    hostile = '<img src=x onerror="document.title=\'owned\'">'
    page.get_by_label("name").fill(hostile)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("list", name="Response messages")).to_contain_text("hello <img src=x")
    assert page.locator("img").count() == 0
    assert page.title() == "rpcsh ui"


def test_the_refusals(ui):
    # No token: refused, and the token from the printed address becomes a cookie.
    status, _, body = ui.get("/api/services")
    assert status == 403 and "token" in body
    status, headers, _ = ui.get(f"/?token={ui.token}")
    assert status == 303 and f"rpcsh_ui={ui.token}" in headers["set-cookie"]
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    cookie = {"Cookie": f"rpcsh_ui={ui.token}"}
    status, _, body = ui.get("/api/services", cookie)
    assert status == 200 and "RouteGuide" in body
    status, _, _ = ui.get(f"/?token={'0' * 32}")
    assert status == 403
    # DNS rebinding: a name that resolves to loopback is still not the address listened on.
    status, _, body = ui.get("/api/services", {**cookie, "Host": "attacker.example:80"})
    assert status == 403 and "address" in body
    # CSRF: a WebSocket from another origin, even with the cookie, is refused.
    ws = {**cookie, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    status, _, body = ui.get("/ws", {**ws, "Origin": "http://attacker.example"})
    assert status == 403 and "origin" in body
    status, _, _ = ui.get("/ws", {**ws, "Origin": f"http://{ui.host}"})
    assert status == 101
    # The page loads nothing from elsewhere and runs no inline script.
    status, headers, _ = ui.get("/", cookie)
    assert status == 200 and "default-src 'self'" in headers["content-security-policy"]


def test_a_non_loopback_address_needs_allow_remote(server):
    out = subprocess.run([RPCSH, "ui", "--no-browser", "--listen", "0.0.0.0:0", server.addr],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 1
    assert "not a loopback address" in out.stderr and "--allow-remote" in out.stderr

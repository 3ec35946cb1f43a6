"""`rpcsh ui` as a person uses it: Debian's chromium (the system executable: Playwright downloads
no browser) driving the page, its controls found by role and name as a screen reader finds them;
and the refusals of a page that can call your servers, as raw HTTP from another origin or host.
Screenshots go to target/ui-shots (the README's come from there)."""
import http.client
import json
import os
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

    def __init__(self, addr, *flags: str, state=None, env=None):
        env = {**os.environ, **(env or {})}
        if state:
            env["XDG_STATE_HOME"] = str(state)
        addr = [addr] if addr else []
        self.proc = subprocess.Popen([RPCSH, "ui", "--no-browser", *flags, *addr], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
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
def ui(server, tmp_path):
    u = Ui(server.addr, state=tmp_path / "state")
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
    pick_method(page, service, method)


def pick_method(page, service, method):
    page.get_by_role("navigation", name="Services").get_by_text(service, exact=True).click()
    page.get_by_role("list", name=f"Methods of {service}").get_by_role("button", name=method, exact=True).click()
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
    expect(page.get_by_role("button", name="Copy as curl")).to_be_hidden()  # gRPC over HTTP/2
    expect(page.get_by_label("Call time")).to_have_text(re.compile(r"^took \d+ ms$"))
    shot(page, "get-feature")
    # The raw JSON tab holds what the form says, and what is typed there is sent.
    page.get_by_role("tab", name="Raw JSON").click()
    assert json.loads(page.get_by_label("Request JSON").input_value()) == {
        "latitude": 409146138, "longitude": -746188906}
    # Completion of field names as a key is typed.
    page.get_by_label("Request JSON").fill('{"lat')
    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(suggestions.get_by_role("option")).to_have_text(["latitude"])
    suggestions.get_by_role("option", name="latitude").click()
    expect(page.get_by_label("Request JSON")).to_have_value('{"latitude"')
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


def test_history_survives_a_restart_with_secrets_redacted(server, browser, tmp_path):
    state = tmp_path / "state"
    first = Ui(server.addr, state=state)
    page = browser.new_page()
    open_method(page, first, "Greeter", "SayHello")
    page.get_by_label("name").fill("again")
    page.get_by_label("Request metadata").fill("authorization: Bearer s3cret\nx-team: core")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
    history = page.get_by_role("list", name="History")
    expect(history.get_by_role("button")).to_have_count(1)
    first.stop()
    kept = (state / "rpcsh" / "ui-history.jsonl").read_text()
    assert "s3cret" not in kept and "authorization: <redacted>" in kept and "x-team: core" in kept
    assert oct((state / "rpcsh" / "ui-history.jsonl").stat().st_mode & 0o777) == "0o600"
    second = Ui(server.addr, state=state)
    try:
        page = browser.new_page()
        page.goto(second.url)
        entry = page.get_by_role("list", name="History").get_by_role("button", name="Greeter/SayHello · OK")
        entry.click()
        expect(page.get_by_role("heading", name="Greeter/SayHello")).to_be_visible()
        expect(page.get_by_label("name")).to_have_value("again")
        expect(page.get_by_label("Request metadata")).to_have_value("authorization: <redacted>\nx-team: core")
    finally:
        second.stop()


def test_a_script_runs_step_by_step_and_a_recording_replays(ui, server, browser, tmp_path):
    script = tmp_path / "steps.rpcsh"
    script.write_text('Greeter/SayHello {"name": "one"}\nexpect {"message": "hello one"}\n'
                      'RouteGuide/RecordRoute\n{"latitude": 409146138, "longitude": -746188906}\nend\n')
    page = browser.new_page()
    page.goto(ui.url)
    page.get_by_text("Scripts", exact=True).click()
    page.get_by_label("Script file").fill(str(script))
    page.get_by_role("button", name="Open script").click()
    steps = page.get_by_role("list", name="Script steps").get_by_role("listitem")
    expect(steps).to_have_count(5)
    expect(steps.nth(0)).to_have_attribute("aria-current", "step")
    recorded = tmp_path / "recorded.rpcsh"
    page.get_by_label("Record to").fill(str(recorded))
    page.get_by_role("button", name="Start recording").click()
    page.get_by_role("button", name="Run next step").click()
    expect(page.get_by_role("list", name="Response messages")).to_contain_text("hello one")
    for _ in range(4):
        page.get_by_role("button", name="Run next step").click()
    expect(page.get_by_role("button", name="Run next step")).to_be_disabled()
    expect(page.get_by_role("list", name="Response messages")).to_contain_text('"pointCount": 1')
    assert "expectation failed" not in page.get_by_label("Shell output").text_content()
    page.get_by_role("button", name="Stop recording").click()
    expect(page.get_by_label("Shell output")).to_contain_text("recorded")
    text = recorded.read_text()
    assert "Greeter/SayHello" in text and "RecordRoute" in text, text
    out = subprocess.run([RPCSH, "run", str(recorded), "--addr", server.addr], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out


def test_a_watch_runs_in_the_background_while_calls_go_on(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "rpcsh.testing.v1.Testing", "Generate")
    page.get_by_label("count").fill("5")
    page.get_by_label("interval").fill("0.3s")
    page.get_by_role("button", name="Watch in background").click()
    watches = page.get_by_role("list", name="Watches")
    expect(watches).to_contain_text("Testing/Generate")
    pick_method(page, "Greeter", "SayHello")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
    expect(watches).to_contain_text("5 messages: Testing/Generate ended after 5 messages")
    # The watch's messages are its own, not the call's.
    expect(page.get_by_role("list", name="Response messages").get_by_role("listitem")).to_have_count(1)


def test_copy_as_curl_for_a_grpc_web_server(server, browser, tmp_path):
    u = Ui(server.addr, "--protocol", "grpc-web", state=tmp_path / "state")
    try:
        page = browser.new_page()
        open_method(page, u, "Greeter", "SayHello")
        page.get_by_label("name").fill("curl")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
        page.get_by_role("button", name="Copy as curl").click()
        expect(page.get_by_label("Command")).to_have_value(re.compile("^curl "))
        command = page.get_by_label("Command").input_value()
        out = subprocess.run(shlex.split(command), capture_output=True, timeout=30)
        assert out.returncode == 0, out
        import base64
        # grpc-web-text: each frame base64 on its own (the trailers' after the message's).
        body = b"".join(base64.b64decode(s) for s in re.findall(rb"[A-Za-z0-9+/]+=*", out.stdout))
        assert b"hello curl" in body and b"grpc-status:0" in body, body
    finally:
        u.stop()


def test_a_grpcio_server_through_the_form(browser, tmp_path):
    from interop_server import Mirror
    mirror = Mirror()
    u = Ui(mirror.addr, state=tmp_path / "state")
    try:
        page = browser.new_page()
        open_method(page, u, "interop.v1.Mirror", "Reflect")
        page.get_by_label("i64", exact=True).fill("9007199254740993")
        page.get_by_label("flag", exact=True).check()
        page.get_by_label("color", exact=True).select_option("GREEN")
        page.get_by_label("when", exact=True).fill("2024-05-06T07:08:09Z")
        page.get_by_label("took", exact=True).fill("1.5s")
        page.get_by_label("maybeName", exact=True).fill("wrapped")
        page.get_by_label("counts", exact=True).fill('{"a": 2}')
        page.get_by_role("button", name="Add colors").click()
        page.get_by_role("button", name="Add colors").click()
        page.get_by_label("colors 1", exact=True).select_option("RED")
        page.get_by_label("colors 2", exact=True).select_option("GREEN")
        page.get_by_role("group", name="inner", exact=True).get_by_label("text", exact=True).fill("nested")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
        answer = json.loads(page.get_by_role("list", name="Response messages").get_by_role("listitem").text_content())
        assert answer["i64"] == "9007199254740993" and answer["flag"] is True
        assert answer["color"] == "GREEN" and answer["colors"] == ["RED", "GREEN"]
        assert answer["when"] == "2024-05-06T07:08:09Z" and answer["took"] == "1.500s"
        assert answer["maybeName"] == "wrapped" and answer["counts"] == {"a": "2"}
        assert answer["inner"] == {"text": "nested"}
        assert mirror.received[-1].i64 == 9007199254740993
        # The raw JSON tab and back: the list is rebuilt from the JSON.
        page.get_by_role("tab", name="Raw JSON").click()
        sent = json.loads(page.get_by_label("Request JSON").input_value())
        assert sent["colors"] == ["RED", "GREEN"] and sent["i64"] == "9007199254740993"
        # Completion of a nested message's fields and of an enum's values.
        page.get_by_label("Request JSON").fill('{"inner": {"num')
        options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
        expect(options).to_have_text(["numbers"])
        page.get_by_label("Request JSON").fill('{"color": "G')
        expect(options).to_have_text(["GREEN"])
        options.first.click()
        expect(page.get_by_label("Request JSON")).to_have_value('{"color": "GREEN"')
        sent["colors"] = ["GREEN"]
        page.get_by_label("Request JSON").fill(json.dumps(sent))
        page.get_by_role("tab", name="Form").click()
        expect(page.get_by_label("colors 1", exact=True)).to_have_value("GREEN")
        expect(page.get_by_label("colors 2", exact=True)).to_have_count(0)
        shot(page, "grpcio-form")
    finally:
        u.stop()
        mirror.stop()


def test_without_an_address_the_page_asks_for_one(server, browser, tmp_path):
    env = {"RPCSH_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path)}
    env_without_addr = {k: v for k, v in os.environ.items() if k != "RPCSH_ADDR"}
    u = Ui(None, state=tmp_path / "state", env={**env_without_addr, **env})
    try:
        page = browser.new_page()
        page.goto(u.url)
        expect(page.get_by_role("alert")).to_contain_text("Give the server's address")
        expect(page.get_by_role("list", name="Service tree").get_by_role("listitem")).to_have_count(0)
        # A wrong address is said, and nothing changes.
        page.get_by_label("Server address").fill("127.0.0.1:1")
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_role("alert")).to_contain_text("rpcsh: error:")
        page.get_by_label("Server address").fill(server.addr)
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_role("status", name="Connection")).to_have_text("ready")
        pick_method(page, "Greeter", "SayHello")
        page.get_by_label("name").fill("asked")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_role("list", name="Response messages")).to_contain_text("hello asked")
    finally:
        u.stop()


def test_a_thousand_service_schema_lists_at_once_and_searches_without_loading_it(browser, tmp_path):
    import sys
    from conftest import ROOT
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "schema_server.py"), "1000", "40"],
                            stdout=subprocess.PIPE, text=True)
    addr = proc.stdout.readline().removeprefix("listening on ").strip()
    u = Ui(addr, state=tmp_path / "state")
    try:
        page = browser.new_page()
        asked = []
        page.on("request", lambda r: asked.append(r.url))
        page.goto(u.url)
        services = page.get_by_role("list", name="Service tree").get_by_role("listitem")
        expect(services).to_have_count(1001)  # and grpcio-reflection's service
        page.get_by_label("Search methods").fill("Svc999")
        expect(services.filter(visible=True)).to_have_count(1)
        # The names matched; no service's file was fetched to search them.
        assert not [a for a in asked if "/api/methods" in a], asked
        service = page.get_by_role("list", name="Service tree").get_by_role("listitem").filter(visible=True)
        name = service.text_content().strip()
        pick_method(page, name, "Call0")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
    finally:
        u.stop()
        proc.kill()
        proc.wait()


def test_demo_ui_opens_the_page_on_the_demo_services(browser, tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen([RPCSH, "demo", "--ui", "--no-browser", "--task-interval", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("listening on 127.0.0.1:"), lines
        assert lines[1].startswith("ui on http://127.0.0.1:"), lines
        url = lines[1].removeprefix("ui on ").strip()
        page = browser.new_page()
        page.goto(url)
        expect(page.get_by_label("Server address")).to_have_value(lines[0].removeprefix("listening on ").strip())
        pick_method(page, "compute.Compute", "SayHello")
        page.get_by_label("helloworld").fill("hi")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.get_by_role("status", name="Call status")).to_have_text("OK: 1 message(s)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_signal_ends_it_with_a_page_open(server, browser, tmp_path):
    u = Ui(server.addr, state=tmp_path / "state")
    page = browser.new_page()
    open_method(page, u, "rpcsh.testing.v1.Testing", "Generate")
    page.get_by_label("count").fill("1000")
    page.get_by_label("interval").fill("0.5s")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("list", name="Response messages").get_by_role("listitem")).to_have_count(1)
    u.proc.terminate()
    assert u.proc.wait(timeout=10) == 0
    expect(page.get_by_role("status", name="Connection")).to_have_text("disconnected: reload the page")


def test_a_long_fast_stream_keeps_the_page_bounded(ui, browser):
    page = browser.new_page()
    open_method(page, ui, "rpcsh.testing.v1.Testing", "Generate")
    page.get_by_label("count").fill("20000")
    page.get_by_role("button", name="Send", exact=True).click()
    status = page.get_by_role("status", name="Call status")
    expect(status).to_have_text(re.compile(r"^OK: \d+ message\(s\)"), timeout=60000)
    shown = page.get_by_role("list", name="Response messages").get_by_role("listitem")
    assert shown.count() == 200
    # What the page could not keep up with is said, never silently lost; else all 20,000 came.
    text = status.text_content()
    got = int(re.search(r"OK: (\d+)", text).group(1))
    assert got == 20000 or re.search(r", \d+ events not shown", text), text
    # The page still answers.
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status", name="Call status")).to_have_text(re.compile(r"^OK: "), timeout=60000)

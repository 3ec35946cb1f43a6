"""The Debian package (scripts/deb.sh): built from the binary under test, installed with dpkg,
run from /usr/bin with its man page and completions where Debian's tools find them, removed."""
import os
import pathlib
import shutil
import subprocess

import pytest
from conftest import RPCSH, ROOT


def test_the_deb_installs_runs_and_goes(serve, tmp_path):
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb is not here (not Debian)")
    binary = tmp_path / "rpcsh"
    # The debug build's symbols would make a 240 MB package: packed as a release would be.
    subprocess.run(["objcopy", "--strip-debug", RPCSH, str(binary)], check=True)
    built = subprocess.run([str(ROOT / "scripts" / "deb.sh"), str(binary), str(tmp_path / "out")],
                           env={**os.environ, "DEB_COMPRESSION": "gzip"}, check=True,
                           capture_output=True, text=True)
    deb = pathlib.Path(built.stdout.strip())
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], check=True,
                              capture_output=True, text=True).stdout
    for path in ("./usr/bin/rpcsh", "./usr/share/man/man1/rpcsh.1.gz",
                 "./usr/share/man/man1/rpcsh-call.1.gz",
                 "./usr/share/bash-completion/completions/rpcsh",
                 "./usr/share/zsh/vendor-completions/_rpcsh",
                 "./usr/share/fish/vendor_completions.d/rpcsh.fish",
                 "./usr/share/doc/rpcsh/copyright"):
        assert path in contents, (path, contents)
    assert "Package: rpcsh" in subprocess.run(["dpkg-deb", "--info", str(deb)], check=True,
                                               capture_output=True, text=True).stdout
    if os.geteuid() != 0 or os.path.exists("/usr/bin/rpcsh"):
        pytest.skip("installing needs root, and a machine without an rpcsh of its own")
    subprocess.run(["dpkg", "-i", str(deb)], check=True, capture_output=True)
    try:
        assert subprocess.run(["/usr/bin/rpcsh", "--version"], check=True, capture_output=True,
                              text=True).stdout.startswith("rpcsh ")
        server = serve("--task-interval", "0")
        out = subprocess.run(["/usr/bin/rpcsh", "call", server.addr, "Greeter/SayHello",
                              '{"name": "deb"}'], capture_output=True, text=True)
        assert '"hello deb"' in out.stdout, out.stderr
        page = subprocess.run(["zcat", "/usr/share/man/man1/rpcsh.1.gz"], check=True,
                              capture_output=True, text=True).stdout
        assert ".TH rpcsh 1" in page
        # bash finds the completion where bash-completion loads it from.
        completion = subprocess.run(
            ["bash", "-c", "source /usr/share/bash-completion/completions/rpcsh && complete -p rpcsh"],
            capture_output=True, text=True)
        assert "rpcsh" in completion.stdout, completion.stderr
    finally:
        subprocess.run(["dpkg", "-r", "rpcsh"], check=True, capture_output=True)
    assert not os.path.exists("/usr/bin/rpcsh")

"""Ingress proxies from Debian's packages, started here in front of a gRPC server as deployments
put them: nginx (`grpc_pass`) and haproxy (`proto h2`), plaintext or TLS, each on a free loopback
port with its files in a temporary folder, stopped by `stop`."""
import os
import shutil
import socket
import subprocess
import time

import pytest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def need(binary, package):
    if not os.path.exists(binary):
        pytest.skip(f"{package} is not installed (scripts/debian-peers.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} did not start: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} does not listen on {port}")


class Ingress:
    proc = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Nginx(Ingress):
    """nginx 1.22 passing every path to `upstream` (`host:port`) with `grpc_pass`; `tls` is a
    (cert, key) pair for its own listener; `body_limit` is `client_max_body_size`."""

    def __init__(self, tmp, upstream, tls=None, body_limit="1m"):
        need(NGINX, "nginx")
        self.port = free_port()
        listen = f"127.0.0.1:{self.port} ssl http2" if tls else f"127.0.0.1:{self.port} http2"
        certs = f"ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]};" if tls else ""
        conf = tmp / f"nginx-{self.port}.conf"
        conf.write_text(f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx-{self.port}.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/nginx-body;
  client_max_body_size {body_limit};
  server {{
    listen {listen};
    {certs}
    location / {{ grpc_pass grpc://{upstream}; }}
  }}
}}
""")
        self.proc = subprocess.Popen([NGINX, "-e", "stderr", "-p", str(tmp), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_listening(self.port, self.proc, "nginx")
        self.addr = f"127.0.0.1:{self.port}"


class Haproxy(Ingress):
    """haproxy 2.6 in HTTP mode, HTTP/2 on both sides, in front of `upstream`."""

    def __init__(self, tmp, upstream, tls=None):
        need(HAPROXY, "haproxy")
        self.port = free_port()
        bind = f"127.0.0.1:{self.port} proto h2"
        if tls:
            pem = tmp / f"haproxy-{self.port}.pem"
            pem.write_text(open(tls[0]).read() + open(tls[1]).read())
            bind = f"127.0.0.1:{self.port} ssl crt {pem} alpn h2"
        conf = tmp / f"haproxy-{self.port}.cfg"
        conf.write_text(f"""
global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  retries 0
  timeout client 30s
  timeout server 30s
frontend fe
  bind {bind}
  default_backend be
backend be
  server s1 {upstream} proto h2
""")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_listening(self.port, self.proc, "haproxy")
        self.addr = f"127.0.0.1:{self.port}"

"""A proxy.py plugin for the proxy tests (tests/py/test_proxy.py): names under `.test` are known
to this proxy only, as squid's hosts_file makes them (they resolve to loopback), and
`forbidden.test` is refused (403), as a proxy's access rules do."""
from proxy.http.exception import HttpRequestRejected
from proxy.http.proxy import HttpProxyBasePlugin


class TestNames(HttpProxyBasePlugin):
    def resolve_dns(self, host, port):
        if host.endswith(".test"):
            return "127.0.0.1", None
        return None, None

    def before_upstream_connection(self, request):
        if request.host and request.host.startswith(b"forbidden.test"):
            raise HttpRequestRejected(status_code=403, reason=b"Forbidden")
        return request

    def handle_client_request(self, request):
        return request

    def handle_upstream_chunk(self, chunk):
        return chunk

    def on_upstream_connection_close(self):
        pass

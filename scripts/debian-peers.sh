#!/usr/bin/env bash
# Installs the Debian packages of the real-deployment tests (tests/py/test_ingress.py,
# test_ui.py: chromium for Playwright,
# test_cpp_peer.py, test_java_peer.py, test_etcd.py, test_containerd.py): nginx and haproxy as
# ingress proxies, the C++ gRPC toolchain for a C++ server, grpc-java's jars and plugin for a
# Java server, etcd and containerd with the .proto files of their Go source packages (and
# gogoproto's and grpc-gateway's, which they import).
# Idempotent: packages already there are not asked for again. Where apt-get is missing (not
# Debian), says so loudly and goes on: those tests then skip, each saying why.
# Usage: source scripts/debian-peers.sh   (from the repository root)
debian_packages=(nginx haproxy libgrpc++-dev libprotobuf-dev protobuf-compiler-grpc protobuf-compiler pkg-config g++
  etcd-server golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev
  libgrpc-java protobuf-compiler-grpc-java-plugin libnetty-java libprotobuf-java libperfmark-java
  libgoogle-gson-java libguava-java containerd golang-github-containerd-containerd-dev chromium)
debian_missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || debian_missing+=("$p")
done
if [ ${#debian_missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== installing Debian peers: ${debian_missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debian_missing[@]}" >&2
  else
    echo "!! WARNING: cannot install ${debian_missing[*]} (needs apt-get as root):" \
      "the nginx, haproxy, C++, Java, etcd and containerd peer tests will be SKIPPED" >&2
  fi
fi

#!/usr/bin/env bash
# Installs the Node.js peers of the interop tests (tests/node/package.json, pinned by its
# package-lock.json: grpc-js, proto-loader, @grpc/reflection, @connectrpc/connect-node) into the build tree,
# target/node-peers, never system-wide. Usage: source scripts/node-peers.sh (sets NODE_PATH)
node_peers=target/node-peers
if ! cmp -s tests/node/package-lock.json "$node_peers/package-lock.json" 2>/dev/null; then
  echo "== setting up $node_peers" >&2
  rm -rf "$node_peers"
  mkdir -p "$node_peers"
  cp tests/node/package.json tests/node/package-lock.json "$node_peers/"
  (cd "$node_peers" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
export NODE_PATH="$PWD/$node_peers/node_modules"

#!/usr/bin/env bash
# A Debian package of rpcsh: the binary in /usr/bin, its man pages (rpcsh(1) and one per command)
# and its bash, zsh and fish completions where Debian's shells look for them, all made by the
# binary itself (`rpcsh man`, `rpcsh completions`), packed with dpkg-deb.
# Usage: scripts/deb.sh [BINARY [OUT_DIR]]   (target/release/rpcsh and target/debian by default)
# DEB_COMPRESSION=gzip (or none) packs faster than the default xz. Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/rpcsh}
out=${2:-target/debian}
version=$("$bin" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$bin" "$root/usr/bin/rpcsh"
man="$root/usr/share/man/man1"
mkdir -p "$man"
"$bin" man | gzip -9n > "$man/rpcsh.1.gz"
for command in $("$bin" --help | awk '/^Commands:/ {f = 1; next} /^$/ {f = 0} f {print $1}'); do
  [ "$command" = help ] || "$bin" man "$command" | gzip -9n > "$man/rpcsh-$command.1.gz"
done
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/doc/rpcsh" "$root/DEBIAN"
"$bin" completions bash > "$root/usr/share/bash-completion/completions/rpcsh"
"$bin" completions zsh > "$root/usr/share/zsh/vendor-completions/_rpcsh"
"$bin" completions fish > "$root/usr/share/fish/vendor_completions.d/rpcsh.fish"
cat LICENSE-MIT LICENSE-APACHE > "$root/usr/share/doc/rpcsh/copyright"
cat > "$root/DEBIAN/control" <<CONTROL
Package: rpcsh
Version: $version
Architecture: $arch
Maintainer: The rpcsh developers <rpcsh@users.noreply.invalid>
Depends: libc6
Section: net
Priority: optional
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Description: gRPC shell: call any gRPC server from the command line or a REPL
 rpcsh discovers a server's services through reflection (or .proto files and
 protosets), turns JSON into protobuf and drives all four call styles, one-shot
 or from an interactive shell, over gRPC, gRPC-Web and Connect.
CONTROL
mkdir -p "$out"
deb="$out/rpcsh_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build -Z"${DEB_COMPRESSION:-xz}" "$root" "$deb" >/dev/null
echo "$deb"

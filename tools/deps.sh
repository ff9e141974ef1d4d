#!/bin/sh
# Installs the Debian packages vkube builds and tests with, when any is missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
PKGS="build-essential pkg-config libssl-dev libnghttp2-dev libuv1-dev liblmdb-dev libjansson-dev
libprotobuf-c-dev protobuf-c-compiler libyaml-dev libwslay-dev libhttp-parser-dev libcmocka-dev
curl nghttp2-client openssl zlib1g-dev"
[ "${1:-}" = "test" ] && PKGS="$PKGS clang libclang-rt-14-dev clang-format python3"
[ "${1:-}" = "bench" ] && PKGS="$PKGS hyperfine nghttp2-client"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "vkube: missing Debian packages; run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "vkube: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# Lists "full.proto.Name c_symbol" for every exported message descriptor in the
# protoc-c outputs given as arguments (read by tools/pbgen to emit the type table).
set -eu
awk '
/^const ProtobufCMessageDescriptor [A-Za-z0-9_]+ =$/ { sym = $3; want = 1; next }
want && /^  "/ { n++; if (n == 1) { gsub(/[",]/, "", $1); print $1, sym; want = 0; n = 0 } }
' "$@" | LC_ALL=C sort

#!/usr/bin/env bash
# The BASE for the image test: debian-node-base.sh's Debian bookworm + Node 20, trusting the CA bundle
# this machine trusts (registry traffic may pass a TLS proxy whose CA Debian does not ship), so that the
# Dockerfile's `npm ci` works inside the build. Only the test's base carries it; the Dockerfile does not.
# Cached by content (this script, the Debian+Node image, the CA bundle). Prints the image reference.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
base=$(bash "$here/debian-node-base.sh")
ca=/etc/ssl/certs/ca-certificates.crt
key=$( { cat "$0"; echo "$base"; cat "$ca"; } | sha256sum | cut -c1-16)
ref="localhost/floatlease-test-base-ca:$key"
if podman image exists "$ref"; then echo "$ref"; exit 0; fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$ca" "$ctx/ca-certificates.crt"
cat > "$ctx/Containerfile" <<CONTAINERFILE
FROM $base
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt
CONTAINERFILE
podman build --isolation chroot --quiet -t "$ref" "$ctx" >&2
echo "$ref"

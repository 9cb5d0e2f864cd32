#!/usr/bin/env bash
# Builds an offline stand-in for node:20-bookworm-slim (Docker Hub is not reachable from CI):
# Debian bookworm minbase from Debian's mirror (mmdebstrap) plus this machine's Node 20 and npm,
# copied to the paths the official image uses. Debian bookworm's own nodejs is v18, too old.
# Cached by content: the tag is a hash of this script, the Node binary and npm, so a second run
# (or a second test file) reuses the image. Prints the image reference on stdout.
set -euo pipefail
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
key=$( { cat "$0"; sha256sum "$node_bin"; cat "$npm_dir/package.json"; } | sha256sum | cut -c1-16)
ref="localhost/floatlease-test-base:$key"
if podman image exists "$ref"; then echo "$ref"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase --include=ca-certificates,libstdc++6 \
  --customize-hook="mkdir -p \"\$1/usr/local/bin\" \"\$1/usr/local/lib/node_modules\"" \
  --customize-hook="cp -a \"$node_bin\" \"\$1/usr/local/bin/node\"" \
  --customize-hook="cp -a \"$npm_dir\" \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
  --customize-hook="rm -rf \"\$1/var/cache/apt/archives\"/*.deb \"\$1/var/lib/apt/lists\"/*" \
  bookworm "$work/rootfs.tar" >&2
podman import --quiet --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' "$work/rootfs.tar" "$ref" >&2
echo "$ref"

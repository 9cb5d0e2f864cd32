# floatlease: one image, two entry points (controller and agent), plus the operator CLI.
#   controller: the default command (serve; `migrate` applies migrations and exits)
#   agent:      args ["dist/agent/main.js"]
#   CLI:        args ["dist/server/cli/main.js", "pools", "list"]
# Build: podman build --isolation chroot -t floatlease .   (or docker build -t floatlease .)
# BASE must provide Node 20+ and npm at /usr/local/bin (the official node images do).
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
# Scripts stay off: embedded-postgres (optional) is not wanted, the bundlers' native parts are
# optional packages that need no script. Peer-only packages (aws-cdk-lib, 160 MB, pulled in by the
# test-only helm/kubectl package) are not needed to build. Our own postinstall is run by hand: it
# patches postgres.js (patches/README.md).
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=peer \
 && npx --no-install patch-package --error-on-fail
COPY tsconfig.json tsconfig.build.json ./
COPY drizzle ./drizzle
COPY shared ./shared
COPY agent ./agent
COPY server ./server
RUN npm run build \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/.cache

FROM ${BASE} AS runtime
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (see helm/floatlease).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/floatlease \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The only writable path the controller needs (with a read-only root filesystem, mount a volume
# here); the agent writes FLOATLEASE_STATE_DIR, which the example points at a volume too.
RUN mkdir -p /var/lib/floatlease /var/lib/floatlease-agent \
 && chown 10001:10001 /var/lib/floatlease /var/lib/floatlease-agent \
 && chmod 0700 /var/lib/floatlease /var/lib/floatlease-agent
USER 10001:10001
EXPOSE 8080 9090
# node is PID 1 directly (no npm, no shell): both entry points handle SIGTERM/SIGINT themselves and
# start no child processes (the embedded PostgreSQL is not in the image), so there is nothing to reap.
ENTRYPOINT ["node"]
CMD ["dist/server/main.js"]

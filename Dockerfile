# syntax=docker/dockerfile:1.7
#
# One image for all four actas services.
#
# Why one image: the four binaries come from one Cargo workspace and share
# almost every dependency (tokio, tonic, sqlx, the shared crate). Building
# them in one `cargo build` compiles that shared graph once, and shipping them
# in one image means one tag to pin, scan and promote: every Deployment and
# the migration Job run the same bits and only pick a different command.
# The default CMD is the gateway, the only service users talk to; the others
# are selected with `command:` in docker-compose.yml and deploy/.
#
# Build:  DOCKER_BUILDKIT=1 docker build -t actas:local .
# Run:    docker run --rm actas:local actas-permission --help

############################
# Builder
############################
FROM rust:1.95-bookworm AS builder

WORKDIR /src

# Only what the workspace needs. `tests` is a workspace member, so its
# manifest (and sources) must be present even though it is not built here.
# protos are compiled by shared/build.rs with protox: no protoc, no cmake,
# no OpenSSL (TLS is rustls); gcc from the base image is all the C we need.
COPY Cargo.toml Cargo.lock ./
COPY proto ./proto
COPY shared ./shared
COPY services ./services
COPY tests ./tests

# Cache mounts keep the crates.io registry, git checkouts and the target dir
# between builds, so a source change recompiles only the workspace crates.
# The target dir is a cache mount (not part of the layer), so the binaries
# are copied out to /out inside the same RUN.
RUN --mount=type=cache,id=actas-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=actas-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=actas-target,target=/src/target,sharing=locked \
    cargo build --release --locked \
        -p actas-permission \
        -p actas-token-issuer \
        -p actas-session \
        -p actas-gateway \
 && mkdir -p /out \
 && for bin in actas-permission actas-token-issuer actas-session actas-gateway; do \
        cp "target/release/$bin" /out/; \
    done

############################
# Runtime
############################
# Same Debian release as the builder, so the glibc the binaries were linked
# against is the one they run with.
FROM debian:bookworm-slim AS runtime

# ca-certificates: for TLS to managed Postgres/Redis/OTLP endpoints that use
# the system trust store. Nothing else is installed; bash (used by the
# docker-compose healthchecks through /dev/tcp) is part of the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# A fixed, non-root uid/gid (10001) so Kubernetes `runAsUser: 10001` and
# `runAsNonRoot: true` match the image. No home, no login shell.
RUN groupadd --system --gid 10001 actas \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin actas

COPY --from=builder /out/ /usr/local/bin/

USER 10001:10001
WORKDIR /tmp

# gateway HTTP, permission / token-issuer / session gRPC. The listen address
# defaults to 127.0.0.1 in the binaries; deployments set ACTAS_HTTP_ADDR /
# ACTAS_GRPC_ADDR to 0.0.0.0:PORT.
EXPOSE 8080 50051 50052 50053

# The services shut down gracefully on SIGTERM (Docker's and Kubernetes'
# default stop signal).
STOPSIGNAL SIGTERM

CMD ["actas-gateway"]

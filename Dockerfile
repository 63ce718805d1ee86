# Belfry in one container: build with the Rust toolchain, run on slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cargo.toml's release profile keeps line tables (debug = 1) for profiles
# and backtraces on a developer's machine; the image ships the binary
# without them and without its symbol table.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --release --locked --bin belfry

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/belfry belfry \
    && mkdir -p /var/lib/belfry && chown belfry /var/lib/belfry
COPY --from=build /src/target/release/belfry /usr/local/bin/belfry
USER belfry
ENV BELFRY_DATA_DIR=/var/lib/belfry
VOLUME /var/lib/belfry
# Everything on one port, on the container network. A listen beyond
# loopback starts only once an admin exists: set auth.admin in the
# configuration with its password from the environment (see
# docker-compose.yml), or create one with `belfry user add NAME --role admin`.
ENV BELFRY_LISTEN=0.0.0.0:9900
EXPOSE 9900
# The slim image has no curl: the binary asks its own /-/ready, which
# answers 200 once the stores are open and the listener is up.
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
    CMD ["belfry", "health", "--url", "http://127.0.0.1:9900"]
ENTRYPOINT ["belfry"]
CMD ["serve"]

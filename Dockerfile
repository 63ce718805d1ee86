# Belfry in one container: build with the Rust toolchain, run on slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
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
# Belfry serves everything on one port; until accounts exist it listens on
# loopback only, so the compose example runs it on the host's network.
ENTRYPOINT ["belfry"]
CMD ["serve"]

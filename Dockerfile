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
# Everything on one port, on the container network. A listen beyond
# loopback starts only once an admin exists: set auth.admin in the
# configuration with its password from the environment (see
# docker-compose.yml), or create one with `belfry user add NAME --role admin`.
ENV BELFRY_LISTEN=0.0.0.0:9900
EXPOSE 9900
ENTRYPOINT ["belfry"]
CMD ["serve"]

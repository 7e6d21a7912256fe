# syntax=docker/dockerfile:1
# One image for every Maniwani service: a static Go binary (CGO off) on
# distroless, run as a non-root user. The service a container runs is chosen
# by its command (-target=router, -target=api, ...; docker-compose.yml), and
# with no command it is the whole site in one process on embedded defaults:
#   docker build -t maniwani . && docker run -p 8080:8080 maniwani
# Video thumbnails need ffmpeg, which this image leaves out: images get
# thumbnails, videos are served without one.

# The Go of go.mod's go line.
ARG GO_VERSION=1.26.8
# The MinIO the tests run against (scripts/minio.sh). MinIO publishes its
# community edition as source only, so docker-compose.yml's minio service is
# built here from that same version rather than pulled.
ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w" -o /maniwani ./cmd/maniwani
# The data directory, owned by the image's non-root user (65532, "nonroot"),
# and the one for docker-compose.yml's internal secret (a volume mounted
# there first takes this owner, so the non-root job can write it).
RUN mkdir -p /out/data /out/secrets

FROM golang:${GO_VERSION} AS minio-build
ARG MINIO_VERSION
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOBIN=/out go install -trimpath -ldflags "-s -w" "github.com/minio/minio@${MINIO_VERSION}"

# docker-compose.yml's object storage (target minio): the server, and
# /maniwani for its health check (no shell, no curl here either).
FROM gcr.io/distroless/static-debian12:nonroot AS minio
COPY --from=minio-build /out/minio /minio
COPY --from=build /maniwani /maniwani
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
EXPOSE 9000 9001
ENTRYPOINT ["/minio"]

# Maniwani: the last stage, what "docker build ." makes.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /maniwani /maniwani
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/secrets /secrets
# In a container the services listen on every interface; only the ports
# that are published (the router's) are reachable from outside.
ENV MANIWANI_ADDR=0.0.0.0:8080 \
    MANIWANI_OPS_ADDR=0.0.0.0:9090 \
    MANIWANI_DATA_DIR=/data
USER nonroot:nonroot
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/maniwani", "healthcheck", "http://127.0.0.1:9090/readyz"]
ENTRYPOINT ["/maniwani"]

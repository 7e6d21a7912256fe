# syntax=docker/dockerfile:1
# One image for every Maniwani service: a static Go binary (CGO off) on
# distroless, run as a non-root user. The service a container runs is chosen
# by its command (-target=router, -target=api, ...; docker-compose.yml), and
# with no command it is the whole site in one process on embedded defaults:
#   docker build -t maniwani . && docker run -p 8080:8080 maniwani
# It builds for any platform, natively or cross-compiled on the builder's
# own (BuildKit's TARGETOS and TARGETARCH), with the version stamped in:
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) -t maniwani .
# Video thumbnails need ffmpeg, which this image leaves out: images get
# thumbnails, videos are served without one.

# The Go of go.mod's go line.
ARG GO_VERSION=1.26.8
# The MinIO the tests run against (scripts/minio.sh). MinIO publishes its
# community edition as source only, so docker-compose.yml's minio service is
# built here from that same version rather than pulled.
ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /maniwani ./cmd/maniwani
# The data directory, owned by the image's non-root user (65532, "nonroot"),
# and the one for docker-compose.yml's internal secret (a volume mounted
# there first takes this owner, so the non-root job can write it).
RUN mkdir -p /out/data /out/secrets

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS minio-build
ARG MINIO_VERSION
ARG TARGETOS TARGETARCH
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
# go install puts a cross-compiled binary under bin/GOOS_GOARCH/ (and
# refuses GOBIN for one): take it from where it went.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go install -trimpath -ldflags "-s -w" "github.com/minio/minio@${MINIO_VERSION}" && \
    mkdir -p /out && { mv "/go/bin/${TARGETOS}_${TARGETARCH}/minio" /out/minio 2>/dev/null || mv /go/bin/minio /out/minio; }

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

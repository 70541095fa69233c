# syntax=docker/dockerfile:1
# promoflow: one static binary on a distroless, non-root runtime.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t promoflow:dev .
#   docker build --target minio-users -t promoflow-minio-users:dev .   # least-privilege MinIO users
#
# The build stage runs the Makefile's build (same ldflags, same package);
# deploy/deploy_test.go checks that the two stay in step. The module and
# build caches are BuildKit cache mounts, so a rebuild after a source change
# only recompiles what changed.
ARG GO_VERSION=1.26

# --- build: the promoflow binary -------------------------------------------
FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Pure Go (pgx, minio-go, gonum): a static binary that runs on distroless/static.
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
# .git is not in the build context (.dockerignore): pass the version in.
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-X main.version=${VERSION}" -o /out/promoflow ./cmd/promoflow

# --- minio-users: tools/minio-users, its own module --------------------------
# A one-shot job that creates the worker's and the scoring service's
# least-privilege MinIO users (the same tool `make up` runs).
FROM golang:${GO_VERSION} AS minio-users-build
WORKDIR /src/tools/minio-users
ENV CGO_ENABLED=0
COPY tools/minio-users/ ./
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOFLAGS=-mod=mod go build -trimpath -o /out/minio-users .

FROM gcr.io/distroless/static-debian12:nonroot AS minio-users
COPY --from=minio-users-build /out/minio-users /usr/local/bin/minio-users
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/minio-users"]

# --- runtime: the default target ------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/promoflow /usr/local/bin/promoflow
# The bundled per-model configs; Kubernetes mounts its ConfigMap over them.
COPY configs/ /etc/promoflow/configs/
ENV PROMOFLOW_CONFIG_DIR=/etc/promoflow/configs \
    PROMOFLOW_METRICS_ADDR=0.0.0.0:9464
# nonroot (uid 65532) of the distroless image; numeric so that Kubernetes'
# runAsNonRoot can verify it.
USER 65532:65532
# 8080: promoflow serve --addr :8080; 9464: the worker's /metrics.
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/promoflow"]
CMD ["worker"]

# make test: everything CI runs, on a fresh machine (servers started or
# installed by scripts/services.sh when missing).
GO ?= go
export CI ?=

.PHONY: test check-format check-generate check-tidy generate vet staticcheck run bench-posting release

test: check-format check-generate check-tidy vet staticcheck
	./scripts/services.sh
	./scripts/tools.sh
	./scripts/minio.sh
	./scripts/chromium.sh
	$(GO) test -count=1 -timeout 20m ./...

check-format:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '\.pb\.go$$' || true); \
	if [ -n "$$bad" ]; then echo "gofmt needed on:"; echo "$$bad"; exit 1; fi

# The protobuf code is committed; regenerating it must change nothing.
generate:
	./scripts/generate.sh

check-generate: generate
	@git diff --exit-code --stat -- pubsub/pb || { echo "pubsub/pb is out of date: run make generate and commit"; exit 1; }

# go.mod and go.sum say exactly what the code imports.
check-tidy:
	@$(GO) mod tidy -diff || { echo "go.mod is not tidy: run go mod tidy and commit"; exit 1; }

vet:
	$(GO) vet ./...

# The pinned staticcheck, installed into .cache/bin on first use.
staticcheck:
	./scripts/staticcheck.sh ./...

run:
	$(GO) run ./cmd/maniwani

# Static binaries for linux/amd64, linux/arm64, darwin/arm64 and
# windows/amd64 with the version and commit stamped in, and their SHA-256
# sums, under dist/ (VERSION, COMMIT, PLATFORMS: see scripts/release.sh).
release:
	./scripts/release.sh

# Posting throughput over HTTP on SQLite and PostgreSQL (see bench/posting).
bench-posting:
	./scripts/services.sh
	$(GO) run ./bench/posting

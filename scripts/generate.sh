#!/usr/bin/env bash
# Regenerates the committed protobuf code. Run from anywhere; installs what it
# needs when missing: protoc from Debian's protobuf-compiler, and protoc-gen-go
# built from the google.golang.org/protobuf version go.mod pins, so the output
# changes only when go.mod or the .proto files do.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null 2>&1; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q protobuf-compiler ||
		{ $sudo apt-get -o DPkg::Lock::Timeout=600 update -q && $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q protobuf-compiler; }
fi

bin="$PWD/.cache/bin"
want="$(go list -m -f '{{.Version}}' google.golang.org/protobuf)"
if [ "$("$bin/protoc-gen-go" --version 2>/dev/null || true)" != "protoc-gen-go $want" ]; then
	mkdir -p "$bin"
	go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
fi

# paths=source_relative puts each .pb.go beside its .proto.
PATH="$bin:$PATH" protoc --proto_path=pubsub/pb \
	--go_out=pubsub/pb --go_opt=paths=source_relative \
	pubsub/pb/*.proto

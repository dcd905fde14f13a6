#!/usr/bin/env bash
# Build deb and rpm packages into dist/: binary, completions, man pages, then nfpm.
# Usage: deploy/packaging/build.sh [version]   (run from the repository root)
set -euo pipefail
VERSION=${1:-$(git describe --tags --always 2>/dev/null || echo 0.0.0)}
VERSION=${VERSION#v}
export VERSION ARCH=${ARCH:-amd64}
rm -rf dist && mkdir -p dist/completions dist/man
CGO_ENABLED=0 GOARCH=$ARCH go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o dist/adpacer ./cmd/adpacer
for sh in bash zsh fish; do ./dist/adpacer completion "$sh" > "dist/completions/adpacer.$sh"; done
./dist/adpacer man dist/man
for fmt in deb rpm; do
	go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2 pkg --config deploy/packaging/nfpm.yaml --packager "$fmt" --target dist/
done
ls -l dist/*.deb dist/*.rpm

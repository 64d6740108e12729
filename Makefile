# `make test` runs every test: Go unit and end-to-end tests, the storage suite on PostgreSQL and the
# @backstage/catalog-client compatibility suite. It installs the npm packages the client tests need.
PORTAL_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export PORTAL_TEST_DATABASE_URL

.PHONY: test test-go deps-npm lint build generate bench

build:
	CGO_ENABLED=0 go build -trimpath -o portal ./cmd/portal

deps-npm:
	cd test/compat && npm ci --no-audit --no-fund --loglevel=error

test: deps-npm
	go vet ./...
	go tool staticcheck ./...
	go test -count=1 -timeout 20m ./...

test-go:
	go test -count=1 ./...

generate:
	go generate ./ent

lint:
	gofmt -l $$(git ls-files '*.go' | grep -v '^ent/') | tee /dev/stderr | (! read)
	go vet ./...
	go tool staticcheck ./...

bench:
	bench/catalog/run.sh 10000

# `make test` runs every test: Go unit and end-to-end tests, the storage suite on PostgreSQL and the
# @backstage/catalog-client compatibility suite. It installs the npm packages the client tests need.
PORTAL_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export PORTAL_TEST_DATABASE_URL

.PHONY: test test-go deps-npm frontends lint build generate bench image chart-lint chart-test config-docs deploy-test

build:
	CGO_ENABLED=0 go build -trimpath -o portal ./cmd/portal

deps-npm:
	cd test/compat && npm ci --no-audit --no-fund --loglevel=error

# BillPay's microfrontends (frontends/): npm packages, API types generated from the OpenAPI definitions, the
# production builds internal/frontendtest serves to Chromium, the type check and the Karma unit tests.
frontends:
	cd frontends && npm ci --no-audit --no-fund --loglevel=error --prefer-offline
	cd frontends && npm run --silent build && npm run --silent lint && npm test --silent

test: deps-npm frontends
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

# Portal's container image as an OCI layout (dist/portal-oci) and a tarball `docker load` accepts,
# built without Docker; the same commit gives the same digest.
image:
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) go run ./build/image -o dist/portal-oci -tar dist/portal.tar

# Helm's linter and renderer over infra/charts/portal and every environment's values (no helm binary).
chart-lint:
	go test -count=1 -run 'TestLint|TestRender|TestValuesSchema|TestReplicaCount' ./infra/charts/

# The chart installed into a local control plane with kwok nodes (scripts/kube-testenv.sh build first).
chart-test:
	go test -count=1 ./infra/charts/

# techdocs/docs/portal/configuration.md from internal/config.
config-docs:
	go generate ./build/configdoc

# Deploy tests on a real control plane with kwok nodes, AWS fakes and tofu (the first build takes minutes).
deploy-test:
	scripts/kube-testenv.sh build
	go test -count=1 ./internal/deploy/... ./internal/kube/... ./internal/aws/... && go test -count=1 -run 'Deploy' ./cmd/portal

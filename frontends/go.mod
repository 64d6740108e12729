// frontends/ is an npm workspace, not Go code. This file makes it a module of its own so that `go vet ./...`,
// `go test ./...` and staticcheck in the repository root stay out of frontends/node_modules (some npm packages
// ship .go files, e.g. flatted).
module github.com/billpay/portal/frontends

go 1.26

// Package frontendtest proves BillPay's microfrontends (frontends/) against a real Portal and a mock of the
// Backend API served from its OpenAPI definition (Prism): the built shell and remotes, served from loopback origins
// of their own, run in headless Chromium while flags change in Portal. It has no code of its own; see
// frontends_test.go.
package frontendtest

package source

import (
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/billpay/portal/internal/errs"
)

// ReadPolicy limits where url locations may be read from. Anyone who can register a location or
// write a catalog file chooses the URLs the server fetches, so without limits the catalog would
// fetch internal services and cloud metadata endpoints for them (Backstage's backend.reading.allow).
type ReadPolicy struct {
	// AllowHosts lists the hosts that may be read ("example.com", or "*.example.com" for its
	// subdomains); empty allows every host that resolves to a public address.
	AllowHosts []string
	// AllowPrivateNetworks also allows loopback, private, link-local and unspecified addresses.
	AllowPrivateNetworks bool
}

// Client returns an HTTP client that enforces the policy on every connection it makes, redirects
// included. Addresses are checked after DNS resolution, so a public name that resolves to a
// private address is refused too.
func (p ReadPolicy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: p.checkAddress}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would hide the address the policy must check
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Timeout: timeout, Transport: hostCheck{policy: p, next: transport}}
}

func (p ReadPolicy) checkAddress(_, address string, _ syscall.RawConn) error {
	if p.AllowPrivateNetworks {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return errs.E(errs.Forbidden, "reading from %s is not allowed: it is a private, loopback or link-local address (see reading.allowPrivateNetworks)", host)
	}
	return nil
}

// AllowsHost reports whether the host list admits host.
func (p ReadPolicy) AllowsHost(host string) bool {
	if len(p.AllowHosts) == 0 {
		return true
	}
	host = strings.ToLower(host)
	for _, pattern := range p.AllowHosts {
		pattern = strings.ToLower(pattern)
		if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == pattern {
			return true
		}
	}
	return false
}

type hostCheck struct {
	policy ReadPolicy
	next   http.RoundTripper
}

func (h hostCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	if !h.policy.AllowsHost(r.URL.Hostname()) {
		return nil, errs.E(errs.Forbidden, "reading from host %s is not allowed (see reading.allow)", r.URL.Hostname())
	}
	return h.next.RoundTrip(r)
}

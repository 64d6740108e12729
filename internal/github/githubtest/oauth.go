package githubtest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// OAuthUser is a person the fake can sign in.
type OAuthUser struct {
	Login string
	Name  string
	Email string
	Orgs  []string
	// Teams are "org/team-slug".
	Teams []string
}

type oauthState struct {
	clientID, clientSecret string
	users                  map[string]OAuthUser
	// next is who the authorize page signs in, as if they had typed their password and consented.
	next      string
	codes     map[string]pendingCode
	tokens    map[string]string // access token → login
	issued    int
	exchanges int
}

type pendingCode struct {
	login, challenge, redirect string
}

// EnableOAuth makes the fake an OAuth app host speaking GitHub's web flow:
//
//	GET  /login/oauth/authorize?client_id=&redirect_uri=&state=&code_challenge=&code_challenge_method=S256
//	POST /login/oauth/access_token (client_id, client_secret, code, code_verifier, redirect_uri)
//	GET  /user, /user/orgs, /user/teams   with the issued access token
func (s *Server) EnableOAuth(clientID, clientSecret string, users ...OAuthUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &oauthState{clientID: clientID, clientSecret: clientSecret, users: map[string]OAuthUser{},
		codes: map[string]pendingCode{}, tokens: map[string]string{}}
	for _, u := range users {
		st.users[u.Login] = u
	}
	s.oauth = st
}

// SignInAs chooses who the next authorization signs in.
func (s *Server) SignInAs(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.next = login
}

// IssuedTokens returns the access tokens handed out, so tests can check that none leaks.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.oauth.tokens {
		out = append(out, t)
	}
	return out
}

// serveOAuth handles the OAuth and /user routes; it reports false for any other path.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request, p string) bool {
	st := s.oauth
	if st == nil {
		return false
	}
	switch {
	case p == "/login/oauth/authorize" && r.Method == http.MethodGet:
		q := r.URL.Query()
		if q.Get("client_id") != st.clientID {
			http.Error(w, "unknown client_id", http.StatusNotFound)
			return true
		}
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "PKCE with S256 is required by this fake", http.StatusBadRequest)
			return true
		}
		redirect, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || st.next == "" {
			http.Error(w, "bad redirect_uri or nobody to sign in", http.StatusBadRequest)
			return true
		}
		st.issued++
		code := fmt.Sprintf("code-%d", st.issued)
		st.codes[code] = pendingCode{login: st.next, challenge: q.Get("code_challenge"), redirect: redirect.String()}
		back := redirect.Query()
		back.Set("code", code)
		back.Set("state", q.Get("state"))
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	case p == "/login/oauth/access_token" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return true
		}
		st.exchanges++
		pc, ok := st.codes[r.PostForm.Get("code")]
		delete(st.codes, r.PostForm.Get("code")) // codes are single-use
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case r.PostForm.Get("client_id") != st.clientID || r.PostForm.Get("client_secret") != st.clientSecret:
			writeJSON(w, http.StatusOK, map[string]string{"error": "incorrect_client_credentials"})
		case !ok:
			writeJSON(w, http.StatusOK, map[string]string{"error": "bad_verification_code"})
		case base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge:
			writeJSON(w, http.StatusOK, map[string]string{"error": "bad_verification_code", "error_description": "code_verifier does not match"})
		default:
			token := fmt.Sprintf("gho_fake%06d", st.issued)
			st.tokens[token] = pc.login
			if strings.Contains(r.Header.Get("Accept"), "application/json") {
				writeJSON(w, http.StatusOK, map[string]string{"access_token": token, "token_type": "bearer", "scope": "read:user,read:org"})
			} else {
				w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
				_, _ = w.Write([]byte(url.Values{"access_token": {token}, "token_type": {"bearer"}, "scope": {"read:user,read:org"}}.Encode()))
			}
		}
	case p == "/user" || p == "/user/orgs" || p == "/user/teams":
		auth := r.Header.Get("Authorization")
		token := strings.TrimPrefix(strings.TrimPrefix(auth, "Bearer "), "token ")
		login, ok := st.tokens[token]
		if !ok {
			writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
			return true
		}
		u := st.users[login]
		switch p {
		case "/user":
			writeJSON(w, http.StatusOK, map[string]any{"login": u.Login, "id": 1, "name": u.Name, "email": u.Email, "type": "User"})
		case "/user/orgs":
			orgs := []map[string]any{}
			for i, o := range u.Orgs {
				orgs = append(orgs, map[string]any{"login": o, "id": i + 1})
			}
			writeJSON(w, http.StatusOK, orgs)
		default:
			teams := []map[string]any{}
			for i, t := range u.Teams {
				org, slug, _ := strings.Cut(t, "/")
				teams = append(teams, map[string]any{"id": i + 1, "slug": slug, "name": slug, "organization": map[string]any{"login": org}})
			}
			writeJSON(w, http.StatusOK, teams)
		}
	default:
		return false
	}
	return true
}

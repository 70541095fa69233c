package serve

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
)

// Role is what a token may do. Each role includes the ones below it.
type Role int

// The roles, weakest first.
const (
	RoleRead  Role = iota + 1 // list models and versions
	RoleScore                 // score customers and allocate offers
	RoleAdmin                 // reload models
)

func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleScore:
		return "score"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Principal is who a token belongs to.
type Principal struct {
	Name string
	Role Role
}

// Tokens maps API tokens to principals. It keeps only the sha256 of each
// token, so neither logs nor a memory dump of the map reveal them.
type Tokens map[[sha256.Size]byte]Principal

// ParseTokens reads "name:token:role,..." (the PROMOFLOW_API_TOKENS
// format); role is read, score or admin. Errors name the entry by position
// and name, never the token.
func ParseTokens(spec string) (Tokens, error) {
	t := Tokens{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("api tokens: entry %d is not name:token:role", i+1)
		}
		var role Role
		switch parts[2] {
		case "read":
			role = RoleRead
		case "score":
			role = RoleScore
		case "admin":
			role = RoleAdmin
		default:
			return nil, fmt.Errorf("api tokens: entry %d (%s): role %q is not read, score or admin", i+1, parts[0], parts[2])
		}
		h := sha256.Sum256([]byte(parts[1]))
		if _, dup := t[h]; dup {
			return nil, fmt.Errorf("api tokens: entry %d (%s): token repeats an earlier entry's", i+1, parts[0])
		}
		t[h] = Principal{Name: parts[0], Role: role}
	}
	return t, nil
}

// authenticate returns the principal of the request's bearer token.
func (t Tokens) authenticate(r *http.Request) (Principal, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return Principal{}, false
	}
	p, ok := t[sha256.Sum256([]byte(tok))]
	return p, ok
}

package login

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"strings"
)

// CHAPAlgorithm is a value of the CHAP_A key (RFC 7143 §12.1.3): a hash
// algorithm from the IANA "PPP Authentication Algorithms" registry that RFC
// 1994 CHAP uses.
type CHAPAlgorithm uint8

const (
	// CHAPMD5 is CHAP with MD5 (RFC 1994), the only algorithm RFC 7143
	// §12.1.3 requires.
	CHAPMD5 CHAPAlgorithm = 5
	// CHAPSHA1 is CHAP with SHA-1 (IANA PPP authentication algorithm 6).
	CHAPSHA1 CHAPAlgorithm = 6
	// CHAPSHA256 is CHAP with SHA-256 (IANA PPP authentication algorithm
	// 7). tgt's target calls its algorithm 7 "SHA1" and computes SHA-1:
	// against tgtd offer CHAPMD5 only.
	CHAPSHA256 CHAPAlgorithm = 7
	// CHAPSHA3_256 is CHAP with SHA3-256 (IANA PPP authentication
	// algorithm 8).
	CHAPSHA3_256 CHAPAlgorithm = 8
)

// MaxCHAPChallengeLength bounds the binary length of CHAP_C and CHAP_R: RFC
// 7143 §12.1.3 allows at most 1024 bytes.
const MaxCHAPChallengeLength = 1024

// MinCHAPSecretLength is the shortest CHAP secret accepted unless the
// configuration allows short ones: 96 bits. RFC 7143 §9.2.1 says an
// implementation SHOULD NOT send CHAP_R unless the secret has at least 96
// bits or IPsec encryption protects the connection, and that a shorter
// secret MUST be used only with IPsec encryption enforced.
const MinCHAPSecretLength = 12

// DefaultCHAPAlgorithms is the order this package offers and accepts CHAP
// algorithms when the configuration names none: strongest first.
var DefaultCHAPAlgorithms = []CHAPAlgorithm{CHAPSHA3_256, CHAPSHA256, CHAPSHA1, CHAPMD5}

// String returns the algorithm's name.
func (a CHAPAlgorithm) String() string {
	switch a {
	case CHAPMD5:
		return "MD5"
	case CHAPSHA1:
		return "SHA-1"
	case CHAPSHA256:
		return "SHA-256"
	case CHAPSHA3_256:
		return "SHA3-256"
	}
	return "CHAPAlgorithm(" + strconv.Itoa(int(a)) + ")"
}

// Valid reports whether the algorithm is one this package implements.
func (a CHAPAlgorithm) Valid() bool { return a.newHash() != nil }

// Size returns the length of the algorithm's digest in bytes, 0 if unknown.
func (a CHAPAlgorithm) Size() int {
	if h := a.newHash(); h != nil {
		return h.Size()
	}
	return 0
}

func (a CHAPAlgorithm) newHash() hash.Hash {
	switch a {
	case CHAPMD5:
		return md5.New()
	case CHAPSHA1:
		return sha1.New()
	case CHAPSHA256:
		return sha256.New()
	case CHAPSHA3_256:
		return sha3.New256()
	}
	return nil
}

// CHAPResponse computes CHAP_R for identifier id, secret and challenge:
// H(id || secret || challenge), RFC 1994 §4.1. It returns nil for an
// unknown algorithm.
func CHAPResponse(a CHAPAlgorithm, id byte, secret, challenge []byte) []byte {
	h := a.newHash()
	if h == nil {
		return nil
	}
	h.Write([]byte{id})
	h.Write(secret)
	h.Write(challenge)
	return h.Sum(nil)
}

// NewCHAPChallenge returns a fresh random challenge for algorithm a, as
// long as its digest and at least 16 bytes. RFC 1994 §2.3: each challenge
// SHOULD be unique and unpredictable; §4.1 leaves its length to the
// generator, independent of the hash (the length here is this package's
// choice).
func NewCHAPChallenge(a CHAPAlgorithm) []byte {
	b := make([]byte, max(16, a.Size()))
	rand.Read(b)
	return b
}

// Authentication errors. Each is a sentinel callers test with errors.Is;
// none ever carries a secret.
var (
	// ErrAuthFailed: the peer's CHAP response did not match, or its user
	// name is unknown (RFC 7143 §11.13.5 status 0x0201 on the target).
	ErrAuthFailed = errors.New("login: authentication failed")
	// ErrSecretTooShort: a configured CHAP secret is shorter than
	// MinCHAPSecretLength (96 bits) and short secrets are not allowed (RFC
	// 7143 §9.2.1).
	ErrSecretTooShort = errors.New("login: CHAP secret too short")
	// ErrCHAPAlgorithm: no CHAP_A value both sides support (RFC 7143
	// §12.1.3).
	ErrCHAPAlgorithm = errors.New("login: no common CHAP algorithm")
	// ErrCHAPReflection: the peer sent back the challenge this node
	// sent, or answered with the response this node would have computed
	// with its own secret (RFC 7143 §9.2.1).
	ErrCHAPReflection = errors.New("login: CHAP challenge or response reflected")
	// ErrCHAPProtocol: a CHAP key missing, repeated, ill-formed or out of
	// order (RFC 7143 §12.1.3).
	ErrCHAPProtocol = errors.New("login: CHAP protocol error")
	// ErrCHAPMD5Required: an initiator configured with CHAP algorithms
	// that leave out MD5 (CHAP_A 5): RFC 7143 §12.1.3 says the initiator
	// MUST always offer it.
	ErrCHAPMD5Required = errors.New("login: CHAP algorithms must include MD5 (CHAP_A=5)")
)

// CHAPCredentials are a CHAP user name and secret (RFC 7143 §12.1.3:
// CHAP_N and the secret behind CHAP_R). Their String, GoString and
// LogValue never show the secret.
type CHAPCredentials struct {
	User   string
	Secret string
}

// String shows the user and hides the secret.
func (c CHAPCredentials) String() string {
	return "CHAPCredentials{User:" + strconv.Quote(c.User) + " Secret:<redacted>}"
}

// GoString is String, so %#v hides the secret too.
func (c CHAPCredentials) GoString() string { return c.String() }

// LogValue hides the secret from log/slog.
func (c CHAPCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", c.User), slog.String("secret", "<redacted>"))
}

// check validates the credentials for use: a user name of 1 to 255 bytes
// (RFC 7143 §12.1.3: N is a text string; §6.1: 255 bytes unless a key says
// otherwise) and a long enough secret.
func (c *CHAPCredentials) check(allowShort bool) error {
	if c.User == "" || len(c.User) > MaxValueLength || strings.IndexByte(c.User, 0) >= 0 {
		return fmt.Errorf("%w: CHAP user name empty or invalid", ErrCHAPProtocol)
	}
	if c.Secret == "" || (!allowShort && len(c.Secret) < MinCHAPSecretLength) {
		return fmt.Errorf("%w (%d bytes, at least %d required)", ErrSecretTooShort, len(c.Secret), MinCHAPSecretLength)
	}
	return nil
}

func chapErr(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{kind}, args...)...)
}

func parseCHAPAlgorithms(v string) []CHAPAlgorithm {
	var out []CHAPAlgorithm
	for item := range strings.SplitSeq(v, ",") {
		n, err := ParseNumber(item)
		if err != nil || n > 255 {
			continue
		}
		out = append(out, CHAPAlgorithm(n))
	}
	return out
}

func formatCHAPAlgorithms(algs []CHAPAlgorithm) string {
	var b strings.Builder
	for i, a := range algs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(a)))
	}
	return b.String()
}

func parseCHAPBinary(key, v string) ([]byte, error) {
	b, err := ParseBinary(v)
	if err != nil || len(b) == 0 || len(b) > MaxCHAPChallengeLength {
		return nil, chapErr(ErrCHAPProtocol, "%s is not a binary value of 1 to %d bytes", key, MaxCHAPChallengeLength)
	}
	return b, nil
}

// chapInitiator is the initiator's side of the CHAP exchange of RFC 7143
// §12.1.3:
//
//	I->T CHAP_A=<A1,A2,...>
//	T->I CHAP_A=<A> CHAP_I=<I> CHAP_C=<C>
//	I->T CHAP_N=<N> CHAP_R=<R> [CHAP_I=<I> CHAP_C=<C> when mutual]
//	T->I [CHAP_N=<N> CHAP_R=<R> when mutual]
type chapInitiator struct {
	creds     CHAPCredentials
	mutual    *CHAPCredentials // the target's expected credentials
	algs      []CHAPAlgorithm
	state     int // 0 nothing sent, 1 CHAP_A sent, 2 response sent, 3 done
	alg       CHAPAlgorithm
	id        byte
	challenge []byte
}

func (c *chapInitiator) start() []Pair {
	c.state = 1
	return []Pair{{Key: "CHAP_A", Value: formatCHAPAlgorithms(c.algs)}}
}

// challenged answers the target's CHAP_A, CHAP_I and CHAP_C.
func (c *chapInitiator) challenged(kv map[string]string) ([]Pair, error) {
	if c.state != 1 {
		return nil, chapErr(ErrCHAPProtocol, "challenge out of order")
	}
	av, ok1 := kv["CHAP_A"]
	iv, ok2 := kv["CHAP_I"]
	cv, ok3 := kv["CHAP_C"]
	if !ok1 || !ok2 || !ok3 {
		if av == Reject {
			return nil, chapErr(ErrCHAPAlgorithm, "target rejected CHAP_A=%s", formatCHAPAlgorithms(c.algs))
		}
		return nil, chapErr(ErrCHAPProtocol, "target did not send CHAP_A, CHAP_I and CHAP_C")
	}
	an, err := ParseNumber(av)
	alg := CHAPAlgorithm(an)
	if err != nil || an > 255 || !hasAlg(c.algs, alg) {
		return nil, chapErr(ErrCHAPAlgorithm, "target chose CHAP_A=%q, not offered", av)
	}
	id, err := ParseNumber(iv)
	if err != nil || id > 255 {
		return nil, chapErr(ErrCHAPProtocol, "CHAP_I=%q is not 0 to 255", iv)
	}
	ch, err := parseCHAPBinary("CHAP_C", cv)
	if err != nil {
		return nil, err
	}
	c.alg = alg
	out := []Pair{
		{Key: "CHAP_N", Value: c.creds.User},
		{Key: "CHAP_R", Value: EncodeHex(CHAPResponse(alg, byte(id), []byte(c.creds.Secret), ch))},
	}
	if c.mutual != nil {
		c.id = byte(rand8())
		c.challenge = NewCHAPChallenge(alg)
		if subtle.ConstantTimeCompare(c.challenge, ch) == 1 {
			return nil, chapErr(ErrCHAPReflection, "challenge reflected")
		}
		out = append(out,
			Pair{Key: "CHAP_I", Value: strconv.Itoa(int(c.id))},
			Pair{Key: "CHAP_C", Value: EncodeHex(c.challenge)})
	}
	c.state = 2
	return out, nil
}

// verify checks the target's CHAP_N and CHAP_R of mutual authentication.
func (c *chapInitiator) verify(kv map[string]string) error {
	if c.state != 2 || c.mutual == nil {
		return chapErr(ErrCHAPProtocol, "unexpected CHAP response from target")
	}
	n, ok1 := kv["CHAP_N"]
	r, ok2 := kv["CHAP_R"]
	if !ok1 || !ok2 {
		return chapErr(ErrCHAPProtocol, "target did not send CHAP_N and CHAP_R")
	}
	got, err := parseCHAPBinary("CHAP_R", r)
	if err != nil {
		return err
	}
	want := CHAPResponse(c.alg, c.id, []byte(c.mutual.Secret), c.challenge)
	own := CHAPResponse(c.alg, c.id, []byte(c.creds.Secret), c.challenge)
	if subtle.ConstantTimeCompare(got, own) == 1 {
		return chapErr(ErrCHAPReflection, "target answered with the initiator's own secret")
	}
	userOK := subtle.ConstantTimeCompare([]byte(n), []byte(c.mutual.User))
	if userOK&subtle.ConstantTimeCompare(got, want) != 1 {
		return chapErr(ErrAuthFailed, "target CHAP response for user %q did not match", n)
	}
	c.state = 3
	return nil
}

func hasAlg(algs []CHAPAlgorithm, a CHAPAlgorithm) bool {
	for _, x := range algs {
		if x == a {
			return true
		}
	}
	return false
}

func rand8() uint8 {
	var b [1]byte
	rand.Read(b[:])
	return b[0]
}

// CHAPLookup returns the CHAP credentials the target expects from an
// initiator, by the CHAP_N it sent, and the target's own credentials for
// mutual CHAP (nil when the initiator does not authenticate the target). ok
// false means the user is unknown, an authentication failure (RFC 7143
// §11.13.5 0x0201).
type CHAPLookup func(initiatorName, targetName, user string) (secret string, mutual *CHAPCredentials, ok bool)

// chapTarget is the target's side of the CHAP exchange of RFC 7143
// §12.1.3.
type chapTarget struct {
	algs       []CHAPAlgorithm
	lookup     CHAPLookup
	allowShort bool
	state      int // 0 waiting CHAP_A, 1 challenge sent, 2 done
	alg        CHAPAlgorithm
	id         byte
	challenge  []byte
	user       string
	mutual     bool // the target authenticated itself too
}

// chose answers CHAP_A with the first offered algorithm this side supports
// (list negotiation, RFC 7143 §6.2.1) and a challenge.
func (c *chapTarget) chose(kv map[string]string) ([]Pair, error) {
	av, ok := kv["CHAP_A"]
	if c.state != 0 || !ok {
		return nil, chapErr(ErrCHAPProtocol, "CHAP_A expected")
	}
	if len(kv) != 1 {
		return nil, chapErr(ErrCHAPProtocol, "CHAP keys out of order")
	}
	for _, a := range parseCHAPAlgorithms(av) {
		for _, mine := range c.algs {
			if a == mine && a.Valid() {
				c.alg = a
				c.id = rand8()
				c.challenge = NewCHAPChallenge(a)
				c.state = 1
				return []Pair{
					{Key: "CHAP_A", Value: strconv.Itoa(int(a))},
					{Key: "CHAP_I", Value: strconv.Itoa(int(c.id))},
					{Key: "CHAP_C", Value: EncodeHex(c.challenge)},
				}, nil
			}
		}
	}
	return nil, chapErr(ErrCHAPAlgorithm, "initiator offered CHAP_A=%q", av)
}

// responded checks the initiator's CHAP_N and CHAP_R and, for mutual CHAP,
// answers its CHAP_I and CHAP_C.
func (c *chapTarget) responded(kv map[string]string, initiatorName, targetName string) ([]Pair, error) {
	if c.state != 1 {
		return nil, chapErr(ErrCHAPProtocol, "CHAP response out of order")
	}
	if _, again := kv["CHAP_A"]; again {
		return nil, chapErr(ErrCHAPProtocol, "CHAP_A repeated")
	}
	n, ok1 := kv["CHAP_N"]
	r, ok2 := kv["CHAP_R"]
	if !ok1 || !ok2 {
		return nil, chapErr(ErrCHAPProtocol, "CHAP_N and CHAP_R expected")
	}
	got, err := parseCHAPBinary("CHAP_R", r)
	if err != nil {
		return nil, err
	}
	iv, hasI := kv["CHAP_I"]
	cv, hasC := kv["CHAP_C"]
	if hasI != hasC {
		return nil, chapErr(ErrCHAPProtocol, "CHAP_I and CHAP_C must come together")
	}
	secret, mutual, ok := "", (*CHAPCredentials)(nil), false
	if c.lookup != nil {
		secret, mutual, ok = c.lookup(initiatorName, targetName, n)
	}
	if !ok {
		return nil, chapErr(ErrAuthFailed, "unknown CHAP user %q", n)
	}
	if !c.allowShort && len(secret) < MinCHAPSecretLength {
		return nil, chapErr(ErrSecretTooShort, "configured secret for user %q (%d bytes, at least %d required)", n, len(secret), MinCHAPSecretLength)
	}
	want := CHAPResponse(c.alg, c.id, []byte(secret), c.challenge)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return nil, chapErr(ErrAuthFailed, "CHAP response of user %q did not match", n)
	}
	c.user = n
	c.state = 2
	if !hasI {
		return nil, nil
	}
	// Mutual CHAP.
	if mutual == nil {
		return nil, chapErr(ErrAuthFailed, "initiator asked for mutual CHAP, none configured")
	}
	if err := mutual.check(c.allowShort); err != nil {
		return nil, err
	}
	id, err := ParseNumber(iv)
	if err != nil || id > 255 {
		return nil, chapErr(ErrCHAPProtocol, "CHAP_I=%q is not 0 to 255", iv)
	}
	ch, err := parseCHAPBinary("CHAP_C", cv)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(ch, c.challenge) == 1 {
		return nil, chapErr(ErrCHAPReflection, "initiator sent back the target's challenge")
	}
	resp := CHAPResponse(c.alg, byte(id), []byte(mutual.Secret), ch)
	if subtle.ConstantTimeCompare(resp, CHAPResponse(c.alg, byte(id), []byte(secret), ch)) == 1 {
		return nil, chapErr(ErrCHAPReflection, "the same secret authenticates both directions")
	}
	c.mutual = true
	return []Pair{
		{Key: "CHAP_N", Value: mutual.User},
		{Key: "CHAP_R", Value: EncodeHex(resp)},
	}, nil
}

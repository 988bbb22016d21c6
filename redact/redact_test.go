package redact

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

const jwtText = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"

// TestTextRedactsEverySecretShape: each kind of secret goes, what names it
// stays, and text without secrets comes back as the very same slice.
func TestTextRedactsEverySecretShape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"type":"authenticate","method":"jwt","token":"abc"}`, `{"type":"authenticate","method":"jwt","token":"«redacted»"}`},
		{`{"user":"admin","password":"hun\"ter2"}`, `{"user":"admin","password":"«redacted»"}`},
		{`{"access_token":"a","refresh_token":"b","Authorization":"Bearer x","root_password" : "y","jwt_secret":"z"}`,
			`{"access_token":"«redacted»","refresh_token":"«redacted»","Authorization":"«redacted»","root_password" : "«redacted»","jwt_secret":"«redacted»"}`},
		{`{"tokens":"x","token_type":"access","auth":{"k":1}}`, `{"tokens":"x","token_type":"access","auth":{"k":1}}`},
		// Headers as Go encodes them (http.Header), e.g. in a relayed
		// request written as JSON: every string of the array.
		{`{"Authorization":["Bearer opaque-1", "Basic b3BzOnB3"],"Cookie":[],"Accept":["*/*"]}`,
			`{"Authorization":["«redacted»", "«redacted»"],"Cookie":[],"Accept":["*/*"]}`},
		{"POST /v1/api/auth/refresh HTTP/1.1\r\nAuthorization: Bearer abc.def\r\nCookie: kalamdb_refresh=xyz\r\nX-Other: keep\r\n\r\n{}",
			"POST /v1/api/auth/refresh HTTP/1.1\r\nAuthorization: Bearer «redacted»\r\nCookie: kalamdb_refresh=«redacted»\r\nX-Other: keep\r\n\r\n{}"},
		{"HTTP/1.1 200 OK\r\nSet-Cookie: kalamdb_refresh=abc; Path=/; HttpOnly\r\n\r\n", "HTTP/1.1 200 OK\r\nSet-Cookie: kalamdb_refresh=«redacted»\r\n\r\n"},
		{`{"sql":"ALTER USER bob SET PASSWORD 'it''s'; SELECT 1"}`, `{"sql":"ALTER USER bob SET PASSWORD '«redacted»'; SELECT 1"}`},
		{`{"rows":[["` + jwtText + `"]]}`, `{"rows":[["«redacted»"]]}`},
		{`Bearer ` + jwtText, `Bearer «redacted»`},
	} {
		if got := Text([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	clean := []byte(`{"type":"change","rows":[["eyJ","no secrets here"]]}`)
	if got := Text(clean); &got[0] != &clean[0] {
		t.Error("Text copied text that holds no secret")
	}
}

// TestTextSkipsOnlyWhatCannotMatch: the cheap name filter in front of the
// expressions gives the same result as always running them.
func TestTextSkipsOnlyWhatCannotMatch(t *testing.T) {
	inputs := []string{
		`{"TOKEN":"x"}`, `{"Refresh_Token":"x"}`, `{"note":"Tt tT pP aA"}`, `TTTTTTTTTT`,
		"AUTHORIZATION: Basic abc\r\n", "cookie: a=b\r\n", `x password 'y'`, strings.Repeat("t", 100) + "oken",
		strings.Repeat("Tok", 1000) + `"token":"z"`,
	}
	always := func(b []byte) []byte {
		b = jsonField.ReplaceAll(b, []byte(`${1}"`+Marker+`"`))
		b = headerLine.ReplaceAllFunc(b, func(line []byte) []byte {
			m := headerLine.FindSubmatch(line)
			return []byte(string(m[1]) + ": " + Header(string(m[1]), string(m[2])))
		})
		b = sqlPassword.ReplaceAll(b, []byte(`${1}'`+Marker+`'`))
		return jwt.ReplaceAll(b, []byte(Marker))
	}
	for _, in := range inputs {
		if got, want := Text([]byte(in)), always([]byte(in)); !bytes.Equal(got, want) {
			t.Errorf("Text(%.60q) = %.60q, want %.60q", in, got, want)
		}
	}
}

func TestMentionsName(t *testing.T) {
	for in, want := range map[string]bool{
		"xxTOKENxx": true, "Access_Token": true, "x-jwt-y": true, "Set-Cookie": true, "tok en": false, "": false, "Pass word": false,
	} {
		if got := mentionsName([]byte(in)); got != want {
			t.Errorf("mentionsName(%q) = %v", in, got)
		}
	}
}

// TestNamesHaveOneMeaning: every secret name is redacted as a JSON key, an
// HTTP header and a URL query parameter alike.
func TestNamesHaveOneMeaning(t *testing.T) {
	for _, n := range names {
		if got := string(JSON([]byte(`{"` + n + `":"s3cret"}`))); strings.Contains(got, "s3cret") {
			t.Errorf("JSON key %q kept its value: %s", n, got)
		}
		if got := Header(n, "s3cret"); strings.Contains(got, "s3cret") {
			t.Errorf("header %q kept its value: %s", n, got)
		}
		if got := URL("http://h/?" + n + "=s3cret&x=1"); strings.Contains(got, "s3cret") || !strings.Contains(got, "x=1") {
			t.Errorf("query parameter %q: %s", n, got)
		}
	}
	if Header("X-Request-Id", "abc def") != "abc def" || isSecret("token_type") {
		t.Error("a name that is not secret was treated as one")
	}
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://alice:pw@db.example:8080/?token=" + jwtText + "&x=1": "http://alice@db.example:8080/?token=redacted&x=1",
		"ws://h/v1/ws?Access_Token=abc":                              "ws://h/v1/ws?Access_Token=redacted",
		"":                                                           "",
		"::not a url":                                                "::not a url",
		"http://alice:pw@b:2x/path":                                  "http://alice@b:2x/path", // unparsable (bad port): the password still goes
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The expressions are built from the names: a name with regexp syntax in
// it must not change what they match.
func TestAlternationQuotesNames(t *testing.T) {
	if _, err := regexp.Compile(alternation()); err != nil || !strings.Contains(alternation(), "proxy-authorization") {
		t.Fatalf("alternation %q: %v", alternation(), err)
	}
}

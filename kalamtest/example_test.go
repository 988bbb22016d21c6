package kalamtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// A test starts a server on a free loopback port, talks to it like to a
// real KalamDB, and closes it.
func ExampleNewServer() {
	srv := kalamtest.MustNewServer(kalamtest.WithUser("alice", "Secret123!", "user"))
	defer srv.Close()

	res, err := http.Post(srv.URL+"/v1/api/auth/login", "application/json",
		strings.NewReader(`{"user":"alice","password":"Secret123!"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	var login struct {
		User struct{ ID, Role string }
	}
	_ = json.NewDecoder(res.Body).Decode(&login)
	fmt.Println(res.StatusCode, login.User.ID, login.User.Role)
	// Output: 200 alice user
}

// Fault controls act on the running server, e.g. to make every token
// issued so far expire without waiting for it.
func ExampleServer_ExpireTokens() {
	srv := kalamtest.MustNewServer(kalamtest.WithUser("alice", "Secret123!", "user"))
	defer srv.Close()
	res, _ := http.Post(srv.URL+"/v1/api/auth/login", "application/json",
		strings.NewReader(`{"user":"alice","password":"Secret123!"}`))
	res.Body.Close()
	fmt.Println(srv.ExpireTokens(), "tokens expired") // the access and the refresh token
	// Output: 2 tokens expired
}

// Package tokensource provides client.AuthProviders whose JWT comes from
// outside kalamdash: a command (an identity-provider CLI such as
// `gcloud auth print-identity-token`, or a script) or a file that a sidecar
// rotates. They are what the SDKs' authProvider exists for, and what manual
// token-rotation testing needs: rotate the token outside, watch the client
// pick it up on the next (re)connect or RefreshAuth.
//
// Both sources parse the same token formats (see ParseToken): a bare JWT, a
// JSON object with access_token or token (and an optional expires_at), or a
// Kubernetes ExecCredential. Neither ever logs, returns in an error, or
// records the token itself: invocations carry a fingerprint only.
package tokensource

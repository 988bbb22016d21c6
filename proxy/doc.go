// Package proxy is the inspecting relay behind kalamdash proxy: it sits
// between an application and its KalamDB server, relays the HTTP API and
// the /v1/ws WebSocket unchanged (requests, headers, status codes, bodies;
// frames byte for byte, with their opcodes, fragmentation, pings and close
// codes) and hands a copy of everything to an observer as the client's
// tapped frames (client.Frame), decoded exactly as the client decodes its
// own: gzip and MessagePack, both directions.
//
// The relay parses WebSocket frames rather than terminating the socket on
// both sides, so what the application and the server see is what the
// other one sent: the relay never answers a ping itself, never re-frames a
// message and never invents a close code.
//
// The one thing it changes, on request, is the next upgrade's
// compress=false (CompressOffNext): the switch every official client
// honours, so the application's next socket carries text frames.
package proxy

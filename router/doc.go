// Package router is the public edge, on fasthttp. It answers every GET of a
// page or JSON from cache when it can (an in-process L1, then Redis), lets
// exactly one request per key reach the owning service on a miss, and passes
// writes, streams and media through.
package router

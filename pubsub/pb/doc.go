// Package pb holds the protobuf messages of the bus, generated from
// events.proto by scripts/generate.sh. Edit the .proto, never the .pb.go;
// post.go, written by hand, converts between a post and its event.
package pb

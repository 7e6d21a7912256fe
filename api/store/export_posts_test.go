package store

import "context"

// CreatePostInGo stores a post by the rules in Go, the path of every post
// on SQLite and of threads and files on PostgreSQL.
func CreatePostInGo(s *Store, ctx context.Context, in NewPost) (*Created, error) {
	return s.createPost(ctx, in, false)
}

// CreateReplyInStatement stores a reply without a file in replySQL, the
// path of such replies on PostgreSQL.
func CreateReplyInStatement(s *Store, ctx context.Context, in NewPost) (*Created, error) {
	return s.createPost(ctx, in, true)
}

package media

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/maniwani/maniwani"
	"github.com/maniwani/maniwani/internal/peer"
)

// InternalPrefix starts the routes by which the api and the thumbnailer use
// media when it runs apart (the Media interface over HTTP). The router
// never passes them on.
const InternalPrefix = "/_internal/media/"

// serveInternal serves maniwani.Media over HTTP:
//
//	PUT    /_internal/media/src/{sha}{ext}          Save (body: the bytes)
//	DELETE /_internal/media/src/{sha}{ext}?board=&tim=&last=1   Remove
//	GET    /_internal/media/src/{sha}{ext}          Original
//	HEAD   /_internal/media/src/{sha}{ext}          Stat (Content-Length, Last-Modified)
//	HEAD   /_internal/media/thumb/{sha}             HasThumb (200 or 404)
//	PUT    /_internal/media/thumb/{sha}{ext}        SaveThumb
func (s *Service) serveInternal(w http.ResponseWriter, r *http.Request) {
	kind, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, InternalPrefix), "/")
	ctx := r.Context()
	var err error
	switch {
	case kind == "src":
		f := maniwani.FileRef{SHA256: name[:min(64, len(name))], Ext: name[min(64, len(name)):]}
		switch r.Method {
		case http.MethodPut:
			err = s.Save(ctx, f, r.Body, r.ContentLength)
		case http.MethodDelete:
			q := r.URL.Query()
			f.Board = q.Get("board")
			f.Tim, _ = strconv.ParseInt(q.Get("tim"), 10, 64)
			err = s.Remove(ctx, f, q.Get("last") == "1")
		case http.MethodGet:
			var b maniwani.Blob
			if b, err = s.Original(ctx, f); err == nil {
				defer b.Close()
				http.ServeContent(w, r, "", b.Info().ModTime, b)
				return
			}
		case http.MethodHead:
			var info maniwani.BlobInfo
			if info, err = s.Stat(ctx, f); err == nil {
				w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
				w.Header().Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusOK)
				return
			}
		default:
			err = maniwani.Errorf(maniwani.KindInvalid, "Method not allowed.")
		}
	case kind == "thumb":
		f := maniwani.FileRef{SHA256: name[:min(64, len(name))], Ext: name[min(64, len(name)):]}
		switch r.Method {
		case http.MethodHead:
			var ok bool
			if ok, err = s.HasThumb(ctx, f); err == nil && !ok {
				err = maniwani.Errorf(maniwani.KindNotFound, "No thumbnail yet.")
			}
		case http.MethodPut:
			err = s.SaveThumb(ctx, f, r.Body, r.ContentLength)
		default:
			err = maniwani.Errorf(maniwani.KindInvalid, "Method not allowed.")
		}
	default:
		err = maniwani.Errorf(maniwani.KindNotFound, "Not found.")
	}
	if err != nil {
		code := maniwani.HTTPStatus(err)
		if code >= 500 {
			s.log.Error("media: internal request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		maniwani.WriteError(w, err, nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Client is media as the api and the thumbnailer use it when it runs apart.
type Client struct {
	base    string
	http    *http.Client
	tempDir string
}

var _ maniwani.Media = (*Client)(nil)

// NewClient makes a client of the media service at base ("http://media:8083")
// that sends secret, the services' shared one (internal/peer), with each
// call.
func NewClient(base, secret string) *Client {
	// No overall timeout: files are large and a slow store is not a hung one;
	// each call has its caller's context.
	return &Client{base: base, http: &http.Client{Transport: peer.Transport(secret, &http.Transport{ResponseHeaderTimeout: 30 * time.Second})}}
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, size int64) (*http.Response, error) {
	if c.base == "" {
		return nil, maniwani.Errorf(maniwani.KindUnavailable, "Media's address (MANIWANI_MEDIA_URL) is not set.")
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+InternalPrefix+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "Media is unavailable.", Err: err}
	}
	if err := maniwani.ResponseError(resp); err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("media: %s %s answered %d: %w", method, path, resp.StatusCode, err)
	}
	return resp, nil
}

func srcPath(f maniwani.FileRef) string { return "src/" + f.SHA256 + f.Ext }

// Save implements maniwani.Media.
func (c *Client) Save(ctx context.Context, f maniwani.FileRef, r io.Reader, size int64) error {
	resp, err := c.do(ctx, http.MethodPut, srcPath(f), r, size)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// Remove implements maniwani.Media.
func (c *Client) Remove(ctx context.Context, f maniwani.FileRef, last bool) error {
	q := fmt.Sprintf("?board=%s&tim=%d", f.Board, f.Tim)
	if last {
		q += "&last=1"
	}
	resp, err := c.do(ctx, http.MethodDelete, srcPath(f)+q, nil, 0)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// Original implements maniwani.Media. The bytes are copied to a temporary
// file first, so the Blob can seek; it is removed on Close.
func (c *Client) Original(ctx context.Context, f maniwani.FileRef) (maniwani.Blob, error) {
	resp, err := c.do(ctx, http.MethodGet, srcPath(f), nil, 0)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	tmp, err := os.CreateTemp(c.tempDir, "media-*")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(tmp, resp.Body)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, &maniwani.Error{Kind: maniwani.KindUnavailable, Message: "Media is unavailable.", Err: err}
	}
	return &tempBlob{File: tmp, info: maniwani.BlobInfo{Size: n, ModTime: time.Now()}}, nil
}

// Stat implements maniwani.Media with a HEAD request: the bytes stay where
// they are.
func (c *Client) Stat(ctx context.Context, f maniwani.FileRef) (maniwani.BlobInfo, error) {
	resp, err := c.do(ctx, http.MethodHead, srcPath(f), nil, 0)
	if err != nil {
		return maniwani.BlobInfo{}, err
	}
	resp.Body.Close()
	size, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		return maniwani.BlobInfo{}, fmt.Errorf("media: HEAD %s: Content-Length %q", srcPath(f), resp.Header.Get("Content-Length"))
	}
	mod, _ := http.ParseTime(resp.Header.Get("Last-Modified")) // zero when absent
	return maniwani.BlobInfo{Size: size, ModTime: mod}, nil
}

type tempBlob struct {
	*os.File
	info maniwani.BlobInfo
}

func (b *tempBlob) Info() maniwani.BlobInfo { return b.info }

func (b *tempBlob) Close() error {
	err := b.File.Close()
	os.Remove(b.File.Name())
	return err
}

// HasThumb implements maniwani.Media.
func (c *Client) HasThumb(ctx context.Context, f maniwani.FileRef) (bool, error) {
	resp, err := c.do(ctx, http.MethodHead, "thumb/"+f.SHA256, nil, 0)
	if maniwani.ErrorKind(err) == maniwani.KindNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return true, nil
}

// SaveThumb implements maniwani.Media.
func (c *Client) SaveThumb(ctx context.Context, f maniwani.FileRef, r io.Reader, size int64) error {
	resp, err := c.do(ctx, http.MethodPut, "thumb/"+f.SHA256+f.Ext, r, size)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

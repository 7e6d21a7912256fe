package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assetFiles embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	url   string // /static/name.hash.ext
	ctype string
	etag  string
	body  []byte
	gzip  []byte // nil when gzip would not pay
}

// assets are the embedded files by their hashed name, and the URL of each
// by its plain name. Hashed names change with the content, so browsers may
// keep a file for good; pages always name the current one.
type assets struct {
	byHashed map[string]*asset
	byName   map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{byHashed: map[string]*asset{}, byName: map[string]*asset{}}
	err := fs.WalkDir(assetFiles, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFiles.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:5])
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + h + ext
		x := &asset{url: "/static/" + hashed, ctype: mime.TypeByExtension(ext), etag: `"` + h + `"`, body: body}
		if x.ctype == "" {
			x.ctype = "application/octet-stream"
		}
		if len(body) > 1024 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body) {
				x.gzip = buf.Bytes()
			}
		}
		a.byHashed[hashed] = x
		a.byName[name] = x
		return nil
	})
	return a, err
}

// url is the hashed URL of the asset called name; templates call it.
func (a *assets) url(name string) (string, error) {
	if x := a.byName[name]; x != nil {
		return x.url, nil
	}
	return "", fs.ErrNotExist
}

// serve answers GET /static/{file}. A hashed name never changes, so it is
// cached for a year; a plain name (for hand-typed URLs) is revalidated.
func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	x, cc := a.byHashed[file], "public, max-age=31536000, immutable"
	if x == nil {
		x, cc = a.byName[file], "no-cache"
	}
	if x == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", x.ctype)
	h.Set("Cache-Control", cc)
	h.Set("ETag", x.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	body := x.body
	if x.gzip != nil {
		h.Set("Vary", "Accept-Encoding")
		// The router passes /static/ through uncached, so the gzip is ours.
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body = x.gzip
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

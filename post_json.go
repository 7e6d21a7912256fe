package maniwani

import "time"

// PostJSON is a post in the public JSON, with the field names of the 4chan
// API (github.com/4chan/4chan-API): the api serves it in thread, page and
// catalog files and live pushes it in its `post` and `thread` events. Flags
// are the integer 1 and left out when false.
type PostJSON struct {
	No       int64  `json:"no"`
	Resto    int64  `json:"resto"`
	Sticky   int    `json:"sticky,omitempty"`
	Closed   int    `json:"closed,omitempty"`
	Now      string `json:"now"`
	Time     int64  `json:"time"`
	Name     string `json:"name"`
	Trip     string `json:"trip,omitempty"`
	ID       string `json:"id,omitempty"`
	Sub      string `json:"sub,omitempty"`
	Com      string `json:"com,omitempty"`
	Tim      int64  `json:"tim,omitempty"`
	Filename string `json:"filename,omitempty"`
	Ext      string `json:"ext,omitempty"`
	Fsize    int64  `json:"fsize,omitempty"`
	MD5      string `json:"md5,omitempty"`
	W        int    `json:"w,omitempty"`
	H        int    `json:"h,omitempty"`
	TnW      int    `json:"tn_w,omitempty"`
	TnH      int    `json:"tn_h,omitempty"`
	Spoiler  int    `json:"spoiler,omitempty"`
	// ExtraFiles are the files after the first, as vichan's API has them:
	// 4chan clients read the first from the post's own fields.
	ExtraFiles    []*FileJSON `json:"extra_files,omitempty"`
	Replies       *int        `json:"replies,omitempty"`
	Images        *int        `json:"images,omitempty"`
	BumpLimit     int         `json:"bumplimit,omitempty"`
	ImageLimit    int         `json:"imagelimit,omitempty"`
	LastModified  int64       `json:"last_modified,omitempty"`
	SemanticURL   string      `json:"semantic_url,omitempty"`
	Archived      int         `json:"archived,omitempty"`
	ArchivedOn    int64       `json:"archived_on,omitempty"`
	UniqueIPs     int         `json:"unique_ips,omitempty"`
	OmittedPosts  *int        `json:"omitted_posts,omitempty"`
	OmittedImages *int        `json:"omitted_images,omitempty"`
	LastReplies   []*PostJSON `json:"last_replies,omitempty"`
}

// FileJSON is one of a post's further files (PostJSON.ExtraFiles), with the
// file fields of the post's own.
type FileJSON struct {
	Tim      int64  `json:"tim"`
	Filename string `json:"filename"`
	Ext      string `json:"ext"`
	Fsize    int64  `json:"fsize"`
	MD5      string `json:"md5"`
	W        int    `json:"w"`
	H        int    `json:"h"`
	TnW      int    `json:"tn_w"`
	TnH      int    `json:"tn_h"`
	Spoiler  int    `json:"spoiler,omitempty"`
}

// FormatNow is a post's `now` field: MM/DD/YY(Day)HH:MM:SS, in UTC, the same
// in the JSON and in live events.
func FormatNow(t time.Time) string {
	t = t.UTC()
	return t.Format("01/02/06") + "(" + t.Format("Mon") + ")" + t.Format("15:04:05")
}

// NewPostJSON is p as the public JSON shows it. It is the one mapping of a
// post to its JSON: the api's files and live's events both use it (live
// through the bus event, which carries what it needs of a Post). What only
// an opening post shows (sticky, replies, ...) the api adds.
func NewPostJSON(p *Post) *PostJSON {
	j := &PostJSON{
		No: p.No, Resto: p.Resto, Now: FormatNow(p.Time), Time: p.Time.Unix(),
		Name: p.Name, Trip: p.Trip, ID: p.PosterID, Sub: p.Subject, Com: p.Com,
	}
	if f := p.File; f != nil {
		j.Tim, j.Filename, j.Ext, j.Fsize, j.MD5 = f.Tim, f.Filename, f.Ext, f.Size, f.MD5
		j.W, j.H, j.TnW, j.TnH = f.Width, f.Height, f.ThumbW, f.ThumbH
		if f.Spoiler {
			j.Spoiler = 1
		}
	}
	for i := range p.Extra {
		f := &p.Extra[i]
		x := &FileJSON{Tim: f.Tim, Filename: f.Filename, Ext: f.Ext, Fsize: f.Size, MD5: f.MD5,
			W: f.Width, H: f.Height, TnW: f.ThumbW, TnH: f.ThumbH}
		if f.Spoiler {
			x.Spoiler = 1
		}
		j.ExtraFiles = append(j.ExtraFiles, x)
	}
	return j
}

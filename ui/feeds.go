package ui

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/maniwani/maniwani"
)

// archiveLimit bounds the archive page: the most recently archived
// threads, as 4chan's archive lists its last few thousand.
const archiveLimit = 3000

// archiveRow is an archived thread as the archive page lists it.
type archiveRow struct {
	No      int64
	Path    string
	Subject string
	Excerpt string
	Time    time.Time // when it went to the archive
	Replies int
}

func (s *Service) handleArchive(w http.ResponseWriter, r *http.Request) {
	boards, b, err := s.board(r)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	views, err := s.read.Archive(r.Context(), b.Name, archiveLimit)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	p := &page{Title: "/" + b.Name + "/ - " + b.Title + " - Archive", Kind: "archive", Boards: boards, Board: b}
	for i := range views {
		v := &views[i]
		op := &v.Posts[0]
		p.Archive = append(p.Archive, archiveRow{No: v.No, Path: threadPath(b.Name, v.No), Subject: op.Subject,
			Excerpt: excerpt(op.Body, 80), Time: v.Archive, Replies: v.Replies})
	}
	s.render(w, r, "archive", p)
}

// feedItems is how many of a board's newest threads its feed carries.
const feedItems = 20

// The RSS 2.0 document (www.rssboard.org/rss-specification).
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title       string    `xml:"title"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	LastBuild   string    `xml:"lastBuildDate,omitempty"`
	Items       []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
	Description string  `xml:"description"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// handleFeed is /{board}/index.rss: the board's newest threads, newest
// first, each with its opening post's rendered text.
func (s *Service) handleFeed(w http.ResponseWriter, r *http.Request) {
	boards, b, err := s.board(r)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	views, err := s.read.Threads(r.Context(), b.Name, 0, max(b.MaxThreads, maniwani.ThreadsPerPage), 0)
	if err != nil {
		s.fail(w, r, boards, err)
		return
	}
	// Index order is bump order; a feed of new threads is by number.
	slices.SortFunc(views, func(a, c maniwani.ThreadView) int { return cmp.Compare(c.No, a.No) })
	views = views[:min(len(views), feedItems)]
	base := s.cfg.PublicURL
	ch := rssChannel{Title: "/" + b.Name + "/ - " + b.Title, Link: base + "/" + b.Name + "/",
		Description: cmp.Or(b.Description, "The newest threads of /"+b.Name+"/.")}
	for _, v := range views {
		if len(v.Posts) == 0 {
			continue
		}
		op := &v.Posts[0]
		title := cmp.Or(op.Subject, excerpt(op.Body, 80), "No."+strconv.FormatInt(v.No, 10))
		link := base + threadPath(b.Name, v.No)
		ch.Items = append(ch.Items, rssItem{Title: title, Link: link, GUID: rssGUID{IsPermaLink: base != "", Value: link},
			PubDate: op.Time.UTC().Format(time.RFC1123Z), Description: op.Com})
	}
	if len(views) > 0 {
		ch.LastBuild = views[0].Posts[0].Time.UTC().Format(time.RFC1123Z)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(rssDoc{Version: "2.0", Channel: ch}); err != nil {
		s.fail(w, r, boards, err)
		return
	}
	s.serveBytes(w, r, "application/rss+xml; charset=utf-8", buf.Bytes())
}

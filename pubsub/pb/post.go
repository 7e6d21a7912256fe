package pb

import (
	"time"

	"github.com/maniwani/maniwani"
)

// Written by hand, beside the generated code: the one conversion between a
// post and its PostCreated event, both ways.

// NewPostCreated is the event of p: what the public JSON shows of it, so
// that live can push it without asking the api (no sage, IP or password).
func NewPostCreated(p *maniwani.Post) *PostCreated {
	thread := p.Resto
	if thread == 0 {
		thread = p.No
	}
	e := &PostCreated{Board: p.Board, Thread: thread, No: p.No, Time: p.Time.Unix(), Name: p.Name,
		Trip: p.Trip, PosterId: p.PosterID, Sub: p.Subject, Com: p.Com}
	if f := p.File; f != nil {
		e.File = fileOf(f)
	}
	for i := range p.Extra {
		e.ExtraFiles = append(e.ExtraFiles, fileOf(&p.Extra[i]))
	}
	return e
}

// ToPost is the post e tells of, with the fields the event carries; the
// rest (Body, Sage, IP, ...) stays empty. A function, not a method: a
// method could clash with a field protoc generates later.
func ToPost(e *PostCreated) *maniwani.Post {
	p := &maniwani.Post{Board: e.Board, No: e.No, Time: time.Unix(e.Time, 0), Name: e.Name,
		Trip: e.Trip, PosterID: e.PosterId, Subject: e.Sub, Com: e.Com}
	if e.No != e.Thread {
		p.Resto = e.Thread
	}
	if f := e.File; f != nil {
		p.File = fileFrom(f)
	}
	for _, f := range e.ExtraFiles {
		p.Extra = append(p.Extra, *fileFrom(f))
	}
	return p
}

func fileOf(f *maniwani.File) *File {
	return &File{Tim: f.Tim, Filename: f.Filename, Ext: f.Ext, Fsize: f.Size, Md5: f.MD5,
		W: int32(f.Width), H: int32(f.Height), TnW: int32(f.ThumbW), TnH: int32(f.ThumbH), Spoiler: f.Spoiler}
}

func fileFrom(f *File) *maniwani.File {
	return &maniwani.File{Tim: f.Tim, Filename: f.Filename, Ext: f.Ext, Size: f.Fsize, MD5: f.Md5,
		Width: int(f.W), Height: int(f.H), ThumbW: int(f.TnW), ThumbH: int(f.TnH), Spoiler: f.Spoiler}
}

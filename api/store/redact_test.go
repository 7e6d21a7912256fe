package store

import "testing"

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:secret@h/db?sslmode=disable", "postgres://u:xxxxx@h/db?sslmode=disable"},
		{"postgresql://u:p%40ss@h:5432/db", "postgresql://u:xxxxx@h:5432/db"},
		{"postgres://u:p@ss@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u:secret@h1:5432,h2:5433/db", "postgres://u:xxxxx@h1:5432,h2:5433/db"},
		{"postgres://u@h/db?password=secret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://root@127.0.0.1:5432/postgres", "postgres://root@127.0.0.1:5432/postgres"},
		{"postgres:///db?host=/run/postgresql", "postgres:///db?host=/run/postgresql"},
		{"postgres://u:p/ss@h/db", "(not a URL, hidden)"}, // a "/" in the password: unparsable
		{"host=h user=u password=secret", "(not a URL, hidden)"},
		{"sqlite://./data/maniwani.db", "sqlite://./data/maniwani.db"},
		{"sqlite:///srv/my data/x.db", "sqlite:///srv/my data/x.db"},
		{`sqlite://C:\data\x.db`, `sqlite://C:\data\x.db`},
		{"mysql://u:secret@h/db", "mysql://u:xxxxx@h/db"},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

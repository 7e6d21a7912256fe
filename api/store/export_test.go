package store_test

import (
	"strings"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

func dialectorFor(t *testing.T, url string) gorm.Dialector {
	if strings.HasPrefix(url, "sqlite://") {
		return sqlite.Open("file:" + strings.TrimPrefix(url, "sqlite://") + "?_pragma=busy_timeout(10000)")
	}
	return postgres.Open(url)
}

package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/maniwani/maniwani/api"
	"github.com/maniwani/maniwani/api/dnsbl"
	"github.com/maniwani/maniwani/internal/realip"
	"github.com/maniwani/maniwani/media/s3"
)

// Targets are the services one process can run; "all" is every one of them.
var targetNames = []string{"router", "api", "ui", "markdown", "thumbnailer", "media", "live"}

// settings are read from the environment (see README) and the -target flag.
type settings struct {
	Addr, OpsAddr, DataDir, DatabaseURL, AdminPassword string
	Proxies                                            realip.Resolver
	// Redis (one server) or RedisCluster, or neither: the cache's L2 and,
	// unless BusURL is set, the bus.
	Redis        *goredis.Options
	RedisCluster *goredis.ClusterOptions
	// BusURL is NATS's (nats://host:port, or a comma list of a cluster's
	// servers): JetStream carries the bus. Empty: Redis's, else in process.
	BusURL  string
	S3      *s3.Config      // nil: files on local disk
	Targets map[string]bool // the services this process runs
	// Where the services this process does not run are, by target name.
	URLs map[string]string
	// InternalSecret is sent with every call between the services and
	// required on their internal routes (internal/peer); empty: not asked.
	InternalSecret string
	// Cores sizes the pools that match the CPUs (live writers, password
	// hashes) and Decodes the uploads decoded at once (reserveDecodes);
	// zero: each service's default.
	Cores, Decodes int
	// DNSBL are the DNS blocklists' zones asked about posters' addresses,
	// and DNSBLAction what a listed one gets (api.DNSBLRefuse or
	// api.DNSBLCaptcha).
	DNSBL       []string
	DNSBLAction string
	// OnionHeader names the header a trusted proxy sets on Tor onion
	// traffic; "": none.
	OnionHeader string
	// CacheStale is router.Config.StaleFor: how old an outdated page may
	// be answered while it is made again; negative: never.
	CacheStale time.Duration
	// LiveCoalesce is live.Config.Coalesce: how long a board's events are
	// gathered to go out in one write per stream; negative: not at all.
	LiveCoalesce time.Duration
	// PublicURL is the site's address as readers reach it
	// (https://example.org), for the absolute links of the feeds; "":
	// they link by path.
	PublicURL string
	// Tracer is the process's tracer provider, made by main from the
	// standard OTEL_* variables (tracing.New); nil: tracing is off.
	Tracer trace.TracerProvider
	// captchaRand is api.Config.CaptchaRand: nil (crypto/rand) but in this
	// package's tests, which read their captchas' answers through it. No
	// variable sets it.
	captchaRand io.Reader
}

// all tells whether the process runs every service.
func (s settings) all() bool { return len(s.Targets) == len(targetNames) }

// knownSettings are the environment variables Maniwani reads.
func knownSettings() []string {
	return []string{"MANIWANI_TARGET", "MANIWANI_ADDR", "MANIWANI_OPS_ADDR", "MANIWANI_DATA_DIR",
		"MANIWANI_DATABASE_URL", "MANIWANI_REDIS_URL", "MANIWANI_BUS_URL", "MANIWANI_ADMIN_PASSWORD", "MANIWANI_TRUSTED_PROXIES",
		"MANIWANI_S3_ENDPOINT", "MANIWANI_S3_ACCESS_KEY", "MANIWANI_S3_SECRET_KEY", "MANIWANI_S3_BUCKET",
		"MANIWANI_S3_SECURE", "MANIWANI_API_URL", "MANIWANI_UI_URL", "MANIWANI_MEDIA_URL", "MANIWANI_LIVE_URL",
		"MANIWANI_MARKDOWN_URL", "MANIWANI_INTERNAL_SECRET", "MANIWANI_INTERNAL_SECRET_FILE",
		"MANIWANI_DNSBL", "MANIWANI_DNSBL_ACTION", "MANIWANI_ONION_HEADER", "MANIWANI_CACHE_STALE",
		"MANIWANI_LIVE_COALESCE", "MANIWANI_PUBLIC_URL"}
}

// serviceName is the service.name of the process's spans: its one
// target, the first of its targets, or "maniwani" for all of them
// (OTEL_SERVICE_NAME wins over it).
func (s settings) serviceName() string {
	if s.all() {
		return "maniwani"
	}
	for _, t := range targetNames {
		if s.Targets[t] {
			return t
		}
	}
	return "maniwani"
}

// urlSetting is the variable that says where a service is.
func urlSetting(target string) string { return "MANIWANI_" + strings.ToUpper(target) + "_URL" }

// parseTargets reads "all" or a comma-separated list of services.
func parseTargets(v string) (map[string]bool, error) {
	if v == "" || v == "all" {
		v = strings.Join(targetNames, ",")
	}
	out := map[string]bool{}
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains(targetNames, t) {
			return nil, fmt.Errorf("-target: %q is not a service (all, %s)", t, strings.Join(targetNames, ", "))
		}
		out[t] = true
	}
	return out, nil
}

func loadSettings(getenv func(string) string, target string) (settings, error) {
	get := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	s := settings{
		Addr:          get("MANIWANI_ADDR", "127.0.0.1:8080"),
		OpsAddr:       get("MANIWANI_OPS_ADDR", "127.0.0.1:9090"),
		DataDir:       get("MANIWANI_DATA_DIR", "./data"),
		AdminPassword: getenv("MANIWANI_ADMIN_PASSWORD"),
		URLs:          map[string]string{},
	}
	s.DatabaseURL = get("MANIWANI_DATABASE_URL", "sqlite://"+filepath.Join(s.DataDir, "maniwani.db"))
	var errs []error
	if target == "" {
		target = getenv("MANIWANI_TARGET")
	}
	t, err := parseTargets(target)
	if err != nil {
		errs = append(errs, err)
	}
	s.Targets = t
	for k, v := range map[string]string{"MANIWANI_ADDR": s.Addr, "MANIWANI_OPS_ADDR": s.OpsAddr} {
		if _, _, err := net.SplitHostPort(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not host:port", k, v))
		}
	}
	p, err := realip.Parse(getenv("MANIWANI_TRUSTED_PROXIES"))
	if err != nil {
		errs = append(errs, fmt.Errorf("MANIWANI_TRUSTED_PROXIES: %w", err))
	}
	s.Proxies = p
	if s.DNSBL, err = dnsbl.ParseZones(getenv("MANIWANI_DNSBL")); err != nil {
		errs = append(errs, fmt.Errorf("MANIWANI_DNSBL: %w", err))
	}
	switch s.DNSBLAction = get("MANIWANI_DNSBL_ACTION", api.DNSBLRefuse); s.DNSBLAction {
	case api.DNSBLRefuse, api.DNSBLCaptcha:
	default:
		errs = append(errs, fmt.Errorf("MANIWANI_DNSBL_ACTION=%q is neither %s nor %s", s.DNSBLAction, api.DNSBLRefuse, api.DNSBLCaptcha))
	}
	switch v := getenv("MANIWANI_CACHE_STALE"); v {
	case "":
	case "0", "off":
		s.CacheStale = -1
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 10*time.Second {
			errs = append(errs, fmt.Errorf("MANIWANI_CACHE_STALE=%q is not a time of at most 10s, such as 250ms (0 or off: never)", v))
		}
		s.CacheStale = d
	}
	switch v := getenv("MANIWANI_LIVE_COALESCE"); v {
	case "":
	case "0", "off":
		s.LiveCoalesce = -1
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Second {
			errs = append(errs, fmt.Errorf("MANIWANI_LIVE_COALESCE=%q is not a time of at most 1s, such as 5ms (0 or off: none)", v))
		}
		s.LiveCoalesce = d
	}
	if s.PublicURL = strings.TrimSuffix(getenv("MANIWANI_PUBLIC_URL"), "/"); s.PublicURL != "" {
		if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("MANIWANI_PUBLIC_URL=%q is not a site's address such as https://example.org", s.PublicURL))
		}
	}
	if s.OnionHeader = getenv("MANIWANI_ONION_HEADER"); s.OnionHeader != "" {
		switch {
		case !headerName(s.OnionHeader):
			errs = append(errs, fmt.Errorf("MANIWANI_ONION_HEADER=%q is not a header name", s.OnionHeader))
		case getenv("MANIWANI_TRUSTED_PROXIES") == "":
			errs = append(errs, errors.New("MANIWANI_ONION_HEADER is believed only from a trusted proxy: set MANIWANI_TRUSTED_PROXIES too"))
		}
	}
	if u := getenv("MANIWANI_REDIS_URL"); u != "" {
		if err := s.parseRedis(u); err != nil {
			errs = append(errs, fmt.Errorf("MANIWANI_REDIS_URL: %w", err))
		}
	}
	if u := getenv("MANIWANI_BUS_URL"); u != "" {
		if err := checkNATS(u); err != nil {
			errs = append(errs, fmt.Errorf("MANIWANI_BUS_URL: %w", err))
		}
		s.BusURL = u
	}
	if ep := getenv("MANIWANI_S3_ENDPOINT"); ep != "" {
		c := &s3.Config{Endpoint: ep, AccessKey: getenv("MANIWANI_S3_ACCESS_KEY"),
			SecretKey: getenv("MANIWANI_S3_SECRET_KEY"), Bucket: get("MANIWANI_S3_BUCKET", "maniwani")}
		if _, _, err := net.SplitHostPort(ep); err != nil {
			errs = append(errs, fmt.Errorf("MANIWANI_S3_ENDPOINT=%q is not host:port", ep))
		}
		if c.AccessKey == "" || c.SecretKey == "" {
			errs = append(errs, errors.New("MANIWANI_S3_ACCESS_KEY and MANIWANI_S3_SECRET_KEY are needed with MANIWANI_S3_ENDPOINT"))
		}
		switch v := getenv("MANIWANI_S3_SECURE"); v {
		case "", "false", "0":
		case "true", "1":
			c.Secure = true
		default:
			errs = append(errs, fmt.Errorf("MANIWANI_S3_SECURE=%q is not true or false", v))
		}
		s.S3 = c
	}
	for _, name := range targetNames {
		k := urlSetting(name)
		v := getenv(k)
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s=%q is not an http:// URL", k, v))
			continue
		}
		s.URLs[name] = strings.TrimSuffix(v, "/")
	}
	s.InternalSecret = getenv("MANIWANI_INTERNAL_SECRET")
	if f := getenv("MANIWANI_INTERNAL_SECRET_FILE"); f != "" {
		if s.InternalSecret != "" {
			errs = append(errs, errors.New("MANIWANI_INTERNAL_SECRET and MANIWANI_INTERNAL_SECRET_FILE are both set; set one"))
		} else if b, err := readFile(f); err != nil {
			errs = append(errs, fmt.Errorf("MANIWANI_INTERNAL_SECRET_FILE: %w", err))
		} else {
			s.InternalSecret = strings.TrimSpace(string(b))
		}
	}
	if s.InternalSecret != "" && len(s.InternalSecret) < 16 {
		errs = append(errs, errors.New("the internal secret is shorter than 16 characters: make one with `maniwani secret FILE`"))
	}
	if t != nil && !s.all() && !s.sharedBus() {
		// Services apart share the bus: Redis's or NATS's.
		for _, n := range []string{"router", "api", "thumbnailer", "live"} {
			if t[n] {
				errs = append(errs, fmt.Errorf("MANIWANI_REDIS_URL or MANIWANI_BUS_URL is needed when %s runs apart from the other services", n))
				break
			}
		}
	}
	return s, errors.Join(errs...)
}

// redis tells whether Redis is set, one server or a cluster.
func (s settings) redis() bool { return s.Redis != nil || s.RedisCluster != nil }

// sharedBus tells whether the bus reaches other processes.
func (s settings) sharedBus() bool { return s.BusURL != "" || s.redis() }

// parseRedis reads a Redis URL: redis://host:port/db for one server, or
// go-redis's cluster form redis://h1:p1?addr=h2:p2&addr=h3:p3, whose
// addresses are a cluster's nodes (any of them: the rest are found).
func (s *settings) parseRedis(u string) error {
	parsed, err := url.Parse(u)
	if err != nil {
		return err
	}
	if parsed.Query().Has("addr") {
		opt, err := goredis.ParseClusterURL(u)
		if err != nil {
			return err
		}
		clusterTimeouts(opt)
		s.RedisCluster = opt
		return nil
	}
	opt, err := goredis.ParseURL(u)
	if err != nil {
		return err
	}
	redisTimeouts(opt)
	s.Redis = opt
	return nil
}

// checkNATS checks a NATS URL, or a comma list of them.
func checkNATS(v string) error {
	for _, one := range strings.Split(v, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return fmt.Errorf("%q is not a nats:// URL (or a comma list of them)", one)
		}
	}
	return nil
}

// missing says which services this process calls but can find neither in
// itself nor at a URL: it starts anyway (each service can be started and
// checked alone), and what needs them answers "unavailable" until they are
// set.
func (s settings) missing() []string {
	var out []string
	if !s.all() && s.InternalSecret == "" {
		out = append(out, "MANIWANI_INTERNAL_SECRET is not set: the internal routes of this process's services "+
			"answer anyone who reaches its port (set it, the same on every process, or MANIWANI_INTERNAL_SECRET_FILE)")
	}
	for _, svc := range targetNames {
		for _, d := range parts[svc].calls {
			if s.Targets[svc] && !s.Targets[d] && s.URLs[d] == "" {
				out = append(out, fmt.Sprintf("%s is not set: %s calls %s, which this process does not run", urlSetting(d), svc, d))
			}
		}
	}
	return out
}

// headerName tells whether v is an HTTP header's name.
func headerName(v string) bool {
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return v != ""
}

// readFile reads a small file of settings (a secret): at most 4 KiB.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4<<10))
}

// makeSecret writes a new random internal secret to name, unless the file
// is there already (every start of a compose project runs it; the secret
// stays what the running services hold). It is readable by its owner only.
func makeSecret(name string) error {
	var b [32]byte
	rand.Read(b[:])
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(hex.EncodeToString(b[:]) + "\n"); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	return f.Close()
}

package maniwani

import "net/http"

// ContentSecurityPolicy is the policy of every page and JSON answer: only
// the site's own scripts, styles, images and media (images also as data:
// URLs, which the pages' placeholders are), no plugins, and no framing by
// any site, which also keeps clicks from being stolen.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// FramePolicy is ContentSecurityPolicy for the one page that the site's
// own pages frame (the captcha for browsers without JavaScript): framed by
// this origin, and by no other.
const FramePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// Guard is what a service that answers browsers puts in front of its
// routes: every answer carries the security headers (nosniff, the policy
// above, a referrer policy that keeps addresses on the site), and a state
// change that a browser says came from a page of another origin (another
// site, or another host or scheme of this one) is refused with deny, as
// Go's CrossOriginProtection judges it (Sec-Fetch-Site, else Origin against
// Host); clients that send neither, which no browser is, pass.
func Guard(h http.Handler, deny http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(deny)
	inner := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("Referrer-Policy", "same-origin")
		inner.ServeHTTP(w, r)
	})
}

// CrossSiteRefusal is the reason given for a refused cross-site request.
const CrossSiteRefusal = "This form was sent from another site's page. Send it from this site."

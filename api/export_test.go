package api

import "github.com/maniwani/maniwani"

// AdminRoute is a route of the staff API, for tests that walk them all.
type AdminRoute struct {
	Method, Path string
	Perm         maniwani.Permission
}

// AdminRoutes lists the staff API's routes but login.
func AdminRoutes() []AdminRoute {
	var out []AdminRoute
	for _, r := range (&Service{}).adminRoutes() {
		out = append(out, AdminRoute{r.Method, r.Path, r.Perm})
	}
	return out
}

package tempc

import "runtime/debug"

// ModulePath is tempc's module path.
const ModulePath = "github.com/tempc/tempc"

// version is set at link time: the Makefile passes
// -X github.com/tempc/tempc.version=$(git describe).
var version string

// Version is the version of the tempc in this binary: what the build set;
// else tempc's module version, as a dependency of another module or as a
// tagged main module; else the VCS revision Go stamped (with "+dirty" for
// uncommitted changes); else "devel". Plans record it (plan.Compiler).
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	mod := &bi.Main
	for _, d := range bi.Deps {
		if d.Path == ModulePath {
			mod = d
			if d.Replace != nil {
				mod = d.Replace
			}
		}
	}
	if v := mod.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			rev = st.Value
		case "vcs.modified":
			if st.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" || mod != &bi.Main {
		return "devel"
	}
	return "devel-" + rev[:min(12, len(rev))] + dirty
}

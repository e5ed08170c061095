package server

import (
	"fmt"
	"strings"
)

// Hook is one rendered hook of a release: the template it came from and its manifest.
type Hook struct {
	Path     string
	Manifest string
}

// TemplateOutput is what `helm template` prints on stdout for a rendered release with its
// default flags (cmd/helm/template.go in Helm 3, pkg/cmd/template.go in Helm 4): the
// release's manifests, trimmed, then each hook under a "# Source:" line, in the order the
// install action sorted them.
func TemplateOutput(manifest string, hooks []Hook) string {
	var out strings.Builder
	fmt.Fprintln(&out, strings.TrimSpace(manifest))
	for _, hook := range hooks {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", hook.Path, hook.Manifest)
	}
	return out.String()
}

// TemplateError is the error `helm template` reports when the install action fails: once
// the action got as far as rendering (it returned a release), with a hint about --debug.
func TemplateError(err error, rendered bool) error {
	if rendered {
		return fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err)
	}
	return err
}

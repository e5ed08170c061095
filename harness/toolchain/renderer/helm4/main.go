// Command dfa-render-helm4 is `helm template` of one chart, many times, in one process, on
// Helm 4's own library at the version of the project's pinned helm. It loads the chart once,
// then answers JSON requests on stdin, one per line (the protocol is in package server).
//
//	dfa-render-helm4 CHART_DIR   serve renders of the chart at CHART_DIR
//	dfa-render-helm4 version     print the Helm version and the default Kubernetes version
package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"

	"local/renderer/server"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		caps := common.DefaultCapabilities
		fmt.Printf("helm %s\nkubernetes %s\n", caps.HelmVersion.Version, caps.KubeVersion.Version)
		return
	}
	if len(os.Args) != 2 {
		fatal(fmt.Errorf("usage: %s CHART_DIR | version", os.Args[0]))
	}
	var logs bytes.Buffer
	// What helm 4 prints while it works goes through slog's text handler, without the time,
	// debug messages off (its internal/logging); the log package's output, such as
	// coalescing warnings, goes through it too, at level INFO.
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	r, err := load(os.Args[1], &logs)
	if err != nil {
		fatal(err)
	}
	if err := server.Serve(os.Stdin, os.Stdout, &logs, r.render); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "dfa-render-helm4: %v\n", err)
	os.Exit(2)
}

type renderer struct {
	chart  *chart.Chart
	schema *server.Schema // nil: Helm checks the values against the schema itself
	logs   *bytes.Buffer
}

func load(dir string, logs *bytes.Buffer) (*renderer, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart: %w", err)
	}
	if t := ch.Metadata.Type; t != "" && t != "application" {
		return nil, fmt.Errorf("%s is a %s chart, which helm does not install", dir, t)
	}
	// The install action enables subcharts and imports their values by changing the loaded
	// chart, which holds only for one render.
	if len(ch.Metadata.Dependencies) > 0 || len(ch.Dependencies()) > 0 {
		return nil, fmt.Errorf("%s has dependencies, which this renderer does not handle", dir)
	}
	r := &renderer{chart: ch, logs: logs}
	if ch.Schema != nil {
		// A schema that does not compile here is left to Helm, which reports it per render.
		r.schema, _ = server.CompileSchema(ch.Name(), ch.Schema)
	}
	return r, nil
}

// render follows `helm template` step by step (pkg/cmd/template.go, pkg/cmd/install.go),
// so that each refusal comes at the same point, with the same text.
func (r *renderer) render(req server.Request) (string, error) {
	install := action.NewInstall(action.NewConfiguration())
	if req.KubeVersion != "" {
		version, err := common.ParseKubeVersion(req.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("invalid kube version '%s': %w", req.KubeVersion, err)
		}
		install.KubeVersion = version
	}
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true // helm template skips the check for an existing release
	install.ReleaseName = req.Release
	install.Namespace = req.Namespace

	options := values.Options{ValueFiles: req.Files(), Values: req.Set, StringValues: req.SetString}
	vals, err := options.MergeValues(getter.Providers{inline(req.Values)})
	if err != nil {
		return "", err
	}
	if r.chart.Metadata.Deprecated {
		slog.Warn("this chart is deprecated")
	}

	// Helm checks the release name before the values, so a bad name is left to it.
	if r.schema != nil && chartutil.ValidateReleaseName(req.Release) == nil {
		logged := r.logs.Len()
		coalesced, err := util.CoalesceValues(r.chart, vals)
		if err == nil {
			err = r.schema.Validate(coalesced)
		}
		if err != nil {
			return "", err
		}
		// The action coalesces again, and logs the same warnings then.
		r.logs.Truncate(logged)
		install.SkipSchemaValidation = true
	}

	installed, err := install.RunWithContext(context.Background(), r.chart, vals)
	rel, _ := installed.(*release.Release) // nil when the action stopped before rendering
	if err != nil {
		return "", server.TemplateError(err, rel != nil)
	}
	hooks := make([]server.Hook, len(rel.Hooks))
	for i, hook := range rel.Hooks {
		hooks[i] = server.Hook{Path: hook.Path, Manifest: hook.Manifest}
	}
	return server.TemplateOutput(rel.Manifest, hooks), nil
}

// inline is a getter for the request's inline values, which reach Helm's merging of values
// files and flags as one more values file.
func inline(content []byte) getter.Provider {
	return getter.Provider{
		Schemes: []string{server.InlineScheme},
		New: func(...getter.Option) (getter.Getter, error) {
			return inlineValues(content), nil
		},
	}
}

type inlineValues []byte

func (v inlineValues) Get(string, ...getter.Option) (*bytes.Buffer, error) {
	return bytes.NewBuffer(v), nil
}

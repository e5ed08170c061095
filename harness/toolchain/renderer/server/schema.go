package server

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Helm names the schema by this URL when it compiles it, and the library repeats it at the
// head of every validation error, which Helm cuts off.
const (
	schemaURL       = "file:///values.schema.json"
	validationHead  = "jsonschema validation failed with '" + schemaURL + "#'\n"
	refusedBySchema = "values don't meet the specifications of the schema(s) in the following chart(s):\n"
)

// Schema is a chart's values.schema.json compiled once. Helm compiles it again on every
// render, which was half of a render's time; the renderer checks the values with it itself
// and tells Helm to skip its own check.
type Schema struct {
	chart    string
	compiled *jsonschema.Schema
}

// CompileSchema compiles a chart's schema with the library and settings Helm uses (the same
// version of santhosh-tekuri/jsonschema, the same URL, file references allowed). A schema
// that refers to the network or a URN does not compile here; leave such a chart's validation
// to Helm.
func CompileSchema(chart string, schemaJSON []byte) (*Schema, error) {
	document, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	compiler := jsonschema.NewCompiler()
	compiler.UseLoader(jsonschema.SchemeURLLoader{"file": jsonschema.FileLoader{}})
	if err := compiler.AddResource(schemaURL, document); err != nil {
		return nil, err
	}
	compiled, err := compiler.Compile(schemaURL)
	if err != nil {
		return nil, err
	}
	return &Schema{chart: chart, compiled: compiled}, nil
}

// Validate checks coalesced values (the chart's defaults merged with the user's) and fails
// with the text `helm template` prints for them: a head line, the chart's name, and the
// library's list of violations.
func (s *Schema) Validate(values map[string]any) error {
	if reason := s.violations(values); reason != "" {
		return errors.New(refusedBySchema + s.chart + ":\n" + reason)
	}
	return nil
}

func (s *Schema) violations(values map[string]any) (reason string) {
	// Helm turns a panic of the library into an error rather than crash; so does this.
	defer func() {
		if r := recover(); r != nil {
			reason = fmt.Sprintf("unable to validate schema: %s", r)
		}
	}()
	if values == nil {
		values = map[string]any{}
	}
	if err := s.compiled.Validate(values); err != nil {
		return strings.TrimPrefix(err.Error(), validationHead) + "\n"
	}
	return ""
}

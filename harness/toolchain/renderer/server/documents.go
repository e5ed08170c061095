package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v2"
)

// Documents turns a YAML stream into a JSON array of its documents, keys in the order
// written, without the empty ones (a template that renders nothing but comments), so that
// the harness never parses YAML. The stream is read with go-yaml v2, the YAML 1.1 reader
// that Kubernetes' own clients (sigs.k8s.io/yaml) read manifests with.
func Documents(stream string) ([]byte, error) {
	decoder := yaml.NewDecoder(strings.NewReader(stream))
	var out bytes.Buffer
	out.WriteByte('[')
	for {
		// A MapSlice keeps the keys in order, and makes every mapping inside one too.
		var document yaml.MapSlice
		err := decoder.Decode(&document)
		if errors.Is(err, io.EOF) {
			out.WriteByte(']')
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		if len(document) == 0 {
			continue
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		if err := writeJSON(&out, document); err != nil {
			return nil, err
		}
	}
}

func writeJSON(out *bytes.Buffer, value any) error {
	switch v := value.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case string:
		writeString(out, v)
	case int:
		out.WriteString(strconv.Itoa(v))
	case int64:
		out.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		out.WriteString(strconv.FormatUint(v, 10))
	case float64:
		writeFloat(out, v)
	case []any:
		out.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := writeJSON(out, item); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	case yaml.MapSlice:
		out.WriteByte('{')
		for i, item := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			key, ok := item.Key.(string)
			if !ok {
				key = fmt.Sprint(item.Key) // JSON keys are strings
			}
			writeString(out, key)
			out.WriteByte(':')
			if err := writeJSON(out, item.Value); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	default:
		return fmt.Errorf("no JSON for the YAML value %v (%T)", v, v)
	}
	return nil
}

func writeString(out *bytes.Buffer, s string) {
	out.Write(jsonString(s))
}

// writeFloat keeps a float a float for Python, as PyYAML reads one: 1.0 stays 1.0 rather
// than the int 1; infinities and NaN are spelled the way Python's json module reads them.
func writeFloat(out *bytes.Buffer, f float64) {
	switch {
	case math.IsInf(f, 1):
		out.WriteString("Infinity")
	case math.IsInf(f, -1):
		out.WriteString("-Infinity")
	case math.IsNaN(f):
		out.WriteString("NaN")
	default:
		text := strconv.FormatFloat(f, 'g', -1, 64)
		out.WriteString(text)
		if !strings.ContainsAny(text, ".e") {
			out.WriteString(".0")
		}
	}
}

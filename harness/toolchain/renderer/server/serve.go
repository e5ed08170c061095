// Package server is what the Helm 3 and Helm 4 builds of the persistent renderer share: the
// JSON-lines protocol, the compiled values schema, `helm template`'s output and errors, and
// the rendered YAML turned into JSON. Only the calls into Helm's library differ between them.
//
// A request is one JSON object per line on stdin:
//
//	{"id": 1, "cwd": "/work", "release": "r", "namespace": "ns",
//	 "values_files": ["ci/a-values.yaml"], "values": {"replicaCount": 2},
//	 "set": ["a.b=1"], "set_string": ["c=2"], "kube_version": "1.29"}
//
// and its answer one JSON object per line on stdout: either the documents `helm template`
// prints, in its order, or the text it prints after "Error: "; "log" holds what Helm logged
// on the way (coalescing warnings), when it logged anything:
//
//	{"id": 1, "documents": [{"apiVersion": "v1", "kind": "Service", ...}, ...]}
//	{"id": 1, "error": "values don't meet the specifications ...", "log": "..."}
package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
)

// InlineScheme is the URL scheme under which a request's inline values reach Helm's own
// merging of values files and --set flags: each build registers a getter for it, and the
// inline values are named as one more values file, after the others, where the command line
// of the old path put them.
const InlineScheme = "dfa-inline-values"

// Request is one render: what `helm template RELEASE CHART` takes on its command line.
type Request struct {
	ID          int64    `json:"id"`
	Cwd         string   `json:"cwd"` // where relative values files are, as for helm
	Release     string   `json:"release"`
	Namespace   string   `json:"namespace"`
	ValuesFiles []string `json:"values_files"`
	// A values file's content, given inline; null for none.
	Values      json.RawMessage `json:"values"`
	Set         []string        `json:"set"`
	SetString   []string        `json:"set_string"`
	KubeVersion string          `json:"kube_version"`
}

// Files is the request's --values files in helm's order: the files, then the inline values.
func (r Request) Files() []string {
	files := append([]string(nil), r.ValuesFiles...)
	if len(r.Values) > 0 && string(r.Values) != "null" {
		files = append(files, InlineScheme+":")
	}
	return files
}

// Render renders a request: the YAML stream `helm template` would print on stdout, or the
// error it would print after "Error: ".
type Render func(Request) (string, error)

// Serve answers requests from in until it ends. logs is where the caller has pointed Helm's
// logging; what a render logs is sent with its answer.
func Serve(in io.Reader, out io.Writer, logs *bytes.Buffer, render Render) error {
	// A render allocates a few MB and keeps none of it (the live heap stays ~5 MB): at Go's
	// default the collector ran every render or two, a fifth of the renderer's CPU time.
	// Letting the heap grow to ~50 MB between collections makes that one in thirty.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(800)
	}
	requests := bufio.NewScanner(in)
	// A request carries a whole values set; the default 64 KiB line limit is too small.
	requests.Buffer(make([]byte, 0, 1<<16), 1<<28)
	answers := bufio.NewWriter(out)
	cwd := ""
	for requests.Scan() {
		var request Request
		if err := json.Unmarshal(requests.Bytes(), &request); err != nil {
			return fmt.Errorf("a request is not the JSON object expected: %w", err)
		}
		// Relative values files are read, and named in errors, as by helm started there.
		if request.Cwd != "" && request.Cwd != cwd {
			if err := os.Chdir(request.Cwd); err != nil {
				return fmt.Errorf("the working directory of request %d: %w", request.ID, err)
			}
			cwd = request.Cwd
		}
		logs.Reset()
		documents, err := renderDocuments(request, render)
		writeAnswer(answers, request.ID, documents, err, logs.String())
		if err := answers.Flush(); err != nil {
			return fmt.Errorf("writing the answer to request %d: %w", request.ID, err)
		}
	}
	return requests.Err()
}

func renderDocuments(request Request, render Render) ([]byte, error) {
	stream, err := render(request)
	if err != nil {
		return nil, err
	}
	documents, err := Documents(stream)
	if err != nil {
		return nil, fmt.Errorf("renderer: reading the rendered YAML: %w", err)
	}
	return documents, nil
}

// writeAnswer writes one answer line by hand: encoding/json would refuse the documents'
// Infinity and NaN, which Python's json module reads.
func writeAnswer(out *bufio.Writer, id int64, documents []byte, err error, log string) {
	out.WriteString(`{"id":`)
	out.WriteString(strconv.FormatInt(id, 10))
	if log != "" {
		out.WriteString(`,"log":`)
		out.Write(jsonString(log))
	}
	if err != nil {
		out.WriteString(`,"error":`)
		out.Write(jsonString(err.Error()))
	} else {
		out.WriteString(`,"documents":`)
		out.Write(documents)
	}
	out.WriteString("}\n")
}

func jsonString(s string) []byte {
	encoded, _ := json.Marshal(s) // a string always encodes
	return encoded
}

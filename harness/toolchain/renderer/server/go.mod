module local/renderer/server

go 1.26.0

require (
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	go.yaml.in/yaml/v2 v2.4.4
)

require golang.org/x/text v0.14.0 // indirect

package spec

import (
	"embed"
	"fmt"
	"io/fs"
)

// LightExperimentConfig names the JSON Schema of a Light matrix-row config
// (light-experiment-coding's configs/experiment.schema.json, $id
// https://light.local/schemas/experiment-config.v1.json).
const LightExperimentConfig = "light.experiment_config.v1"

//go:embed schemas/*.schema.json
var schemas embed.FS

// SchemaFS returns the JSON Schemas (draft 2020-12) of the formats spec
// defines, one file per format named "<schema name>.schema.json":
// rigor.code_snapshot.v1, rigor.environment.v1, rigor.config.v1,
// rigor.input.v1 and light.experiment_config.v1.
func SchemaFS() fs.FS {
	sub, err := fs.Sub(schemas, "schemas")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// Schema returns the JSON Schema of the named format, for example
// "rigor.input.v1" or [LightExperimentConfig]. It returns an error wrapping
// [ErrSchema] for a name it does not know.
func Schema(name string) ([]byte, error) {
	b, err := fs.ReadFile(SchemaFS(), name+".schema.json")
	if err != nil {
		return nil, fmt.Errorf("%w: no JSON Schema for %q", ErrSchema, name)
	}
	return b, nil
}

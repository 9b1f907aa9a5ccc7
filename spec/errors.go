package spec

import "errors"

// Error vocabulary of the spec package. Decoders wrap these with %w, the
// subject first, so callers can branch with errors.Is.
var (
	// ErrSyntax: the bytes are not well-formed JSON as spec accepts it
	// (see [ParseJSON]).
	ErrSyntax = errors.New("spec: malformed JSON")
	// ErrSchema: the "schema" member is missing or names another format.
	ErrSchema = errors.New("spec: wrong schema")
	// ErrUnknownField: a strict decoder met a member its format does not define.
	ErrUnknownField = errors.New("spec: unknown field")
	// ErrInvalid: the record is well-formed JSON of the right schema but breaks
	// one of its rules (a required member is empty, a digest is malformed...).
	ErrInvalid = errors.New("spec: invalid record")
)

//go:build !linux

package cas

// trimValueLog is a no-op where the value log mappings cannot be found.
func (s *Store) trimValueLog(trim bool) {}

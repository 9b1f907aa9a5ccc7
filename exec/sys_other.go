//go:build !linux

package exec

import "os"

func growPipe(*os.File) {}

func readOOMKills() (*int64, string) {
	return nil, "UNAVAILABLE: OOM kill counters are read from Linux cgroups only"
}

func memoryLimit() *int64 { return nil }

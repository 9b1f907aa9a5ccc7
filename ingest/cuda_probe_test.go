package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rigor-dev/rigor/spec"
)

// TestProbeEnvCUDAAndCUDNNPresent covers the toolkit versions when they are
// there: without nvidia-smi, CUDA comes from an nvcc on PATH (a stand-in
// printing the text of a real nvcc --version) and cuDNN from the header
// under CUDNN_HOME; without a header, from an nvidia-cudnn distribution.
func TestProbeEnvCUDAAndCUDNNPresent(t *testing.T) {
	bin := t.TempDir()
	nvcc := "#!/bin/sh\n/bin/cat <<'EOF'\nnvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2023 NVIDIA Corporation\n" +
		"Built on Tue_Aug_15_22:02:13_PDT_2023\nCuda compilation tools, release 12.2, V12.2.140\nBuild cuda_12.2.r12.2/compiler.33191640_0\nEOF\n"
	if err := os.WriteFile(filepath.Join(bin, "nvcc"), []byte(nvcc), 0o755); err != nil {
		t.Fatal(err)
	}
	cudnn := t.TempDir()
	writeFiles(t, cudnn, map[string]string{"include/cudnn_version.h": "#ifndef CUDNN_VERSION_H_\n#define CUDNN_VERSION_H_\n\n" +
		"#define CUDNN_MAJOR 8\n#define CUDNN_MINOR 9\n#define CUDNN_PATCHLEVEL 7\n\n" +
		"#define CUDNN_VERSION (CUDNN_MAJOR * 1000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)\n#endif\n"})

	g := probeEnv(t, EnvOptions{Env: []string{"PATH=" + bin, "CUDNN_HOME=" + cudnn}, Dir: t.TempDir()}).Record.GPU
	if g.Unavailable != "UNAVAILABLE: nvidia-smi not found on PATH" || len(g.Devices) != 0 {
		t.Errorf("gpu = %+v, want no devices: nvidia-smi is absent", g)
	}
	if g.CUDA != "12.2" {
		t.Errorf("cuda = %q, want 12.2 from nvcc", g.CUDA)
	}
	if g.CUDNN != "8.9.7" {
		t.Errorf("cudnn = %q, want 8.9.7 from the header", g.CUDNN)
	}

	// No header anywhere: the nvidia-cudnn wheel's version.
	for _, d := range []string{"/usr/include", "/usr/local/cuda/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu"} {
		for _, h := range []string{"cudnn_version.h", "cudnn.h"} {
			if _, err := os.Stat(filepath.Join(d, h)); err == nil {
				t.Skipf("%s has a cuDNN header; the wheel fallback cannot be seen here", d)
			}
		}
	}
	dists := []spec.Distribution{{Name: "numpy", Version: "1.26.4"}, {Name: "nvidia-cudnn-cu12", Version: "8.9.2.26"}}
	if got := probeCUDNN([]string{"PATH=" + bin}, dists); got != "8.9.2.26" {
		t.Errorf("cudnn from the wheel = %q, want 8.9.2.26", got)
	}
	if got := probeCUDNN(nil, dists[:1]); !spec.IsUnavailable(got) {
		t.Errorf("cudnn with neither = %q, want UNAVAILABLE", got)
	}
}

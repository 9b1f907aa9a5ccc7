package scaffold_test

import (
	"fmt"
	"strings"

	"github.com/rigor-dev/rigor/scaffold"
)

func ExampleRender() {
	files, err := scaffold.Render(scaffold.Options{Package: "study"})
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		if strings.HasPrefix(f.Path, "src/") {
			fmt.Println(f.Path)
		}
	}
	// Output:
	// src/study/__init__.py
	// src/study/experiment_contracts.py
	// src/study/model.py
	// src/study/reproducibility.py
	// src/study/train.py
}

func ExamplePackageName() {
	for _, dir := range []string{"Heart Study", "2024-cohort", "random"} {
		fmt.Println(scaffold.PackageName(dir))
	}
	// Output:
	// heart_study
	// exp_2024_cohort
	// random_experiment
}
